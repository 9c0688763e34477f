"""words folded alike in the search indexes, the queries and the matcher

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

The full-text indexes now see text folded by `storage.folding.fold` (lower case, ``ß`` as
``ss``, NFKC, Latin accents and stray combining marks dropped, the three Ukrainian
apostrophes one letter between Cyrillic letters and a separator elsewhere), exactly as
the queries and the followed-word matcher fold it.

SQLite: the FTS5 table reads its text from the view ``articles_fts_source``, which folds
``articles`` with ``newsbot_fold`` (the Python function itself, which storage.db
registers on every connection), and the triggers fold what they index the same way. The
tokenizer no longer removes diacritics: the fold decides which. A migration that later
recreates ``articles`` with batch_alter_table drops these triggers (and the view reads
the new table only if it keeps its name) and must create them again.

PostgreSQL: ``newsbot_fold(text)``, the same steps in PL/pgSQL (an IMMUTABLE function,
so that the generated column may call it; tests/test_folding.py checks that it agrees
with the Python function), and ``search_vector`` generated from the folded text. The column is
dropped and added again (PostgreSQL 15 cannot change a generated expression in place),
which computes it for every stored article (about 1 ms more than before for an article of
3,000 characters) and holds the table's lock meanwhile.

Both: each followed or muted word's key is folded anew (rows that become the same word
are merged, a subscriber keeping one of them) and its article links found again through
the new index among the articles of the last 365 days, the longest DIGEST_MAX_AGE_DAYS
allows. A word followed before as ``об'єкт`` was stored as the phrase ``об єкт``: a
phrase cannot be told from it, so it stays a phrase (following the word again makes the
one-word term).

The downgrade restores migration 0004's index and leaves the words as they are now (each
key is also a key the old code can make).
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from storage.folding import fold

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "title, summary, body"
_FOLDED_NEW = "new.id, newsbot_fold(new.title), newsbot_fold(new.summary), newsbot_fold(new.body)"
_FOLDED_OLD = (
    "'delete', old.id, newsbot_fold(old.title), newsbot_fold(old.summary), newsbot_fold(old.body)"
)
_TRIGGERS = ["articles_fts_update", "articles_fts_delete", "articles_fts_insert"]


def _sqlite_index(content: str, tokenize: str, new: str, old: str) -> list[str]:
    return [
        f"""CREATE VIRTUAL TABLE articles_fts USING fts5(
            {_COLUMNS}, content='{content}', content_rowid='id', tokenize='{tokenize}')""",
        f"""CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, {_COLUMNS}) VALUES ({new});
        END""",
        f"""CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, {_COLUMNS}) VALUES ({old});
        END""",
        f"""CREATE TRIGGER articles_fts_update AFTER UPDATE OF {_COLUMNS} ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, {_COLUMNS}) VALUES ({old});
            INSERT INTO articles_fts(rowid, {_COLUMNS}) VALUES ({new});
        END""",
        "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
    ]


SQLITE_DROP = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS),
    "DROP TABLE IF EXISTS articles_fts",
]
SQLITE_UP = [
    *SQLITE_DROP,
    """CREATE VIEW articles_fts_source AS SELECT id, newsbot_fold(title) AS title,
        newsbot_fold(summary) AS summary, newsbot_fold(body) AS body FROM articles""",
    *_sqlite_index(
        "articles_fts_source", "unicode61 remove_diacritics 0", _FOLDED_NEW, _FOLDED_OLD
    ),
]
SQLITE_DOWN = [  # migration 0004's index
    *SQLITE_DROP,
    "DROP VIEW IF EXISTS articles_fts_source",
    *_sqlite_index(
        "articles",
        "unicode61 remove_diacritics 2",
        "new.id, new.title, new.summary, new.body",
        "'delete', old.id, old.title, old.summary, old.body",
    ),
]


def _pattern(characters: str) -> str:
    """Characters and ranges for a PostgreSQL regular expression, as \\uXXXX escapes."""
    return "".join("-" if c == "-" else f"\\u{ord(c):04x}" for c in characters)


# storage.folding's definition at this revision, step by step (see its documentation).
_APOSTROPHES = "'\u2019\u02bc\u2018`\u02b9\u2032"
_APOSTROPHE = "\u02bc"
_CYRILLIC = _pattern("\u0400-\u0481\u048a-\u052f")
_COMBINING = _pattern("\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f")
_LATIN = _pattern("a-z\u00df-\u00f6\u00f8-\u024f\u1e00-\u1eff")
_ANY_APOSTROPHE = _pattern(_APOSTROPHES)
_MARKED = _COMBINING + _pattern("\u00c0-\u024f\u1e00-\u1eff")
_APOSTROPHES_SQL = _APOSTROPHES.replace("'", "''")
# PL/pgSQL, not SQL: its plans are kept for the session, while a SQL function called from
# the generated column was planned again for every row (an insert of a 3,300-character
# article took 5.7-7.4 ms against 2.0-2.5 ms, and 1.2-1.5 ms without the fold). The
# shortcuts are storage.folding's: each skips a step that would change nothing.
FOLD_FUNCTION = f"""CREATE FUNCTION newsbot_fold(t text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
BEGIN
    IF t !~ '[^\\u0001-\\u007f]' THEN
        RETURN translate(lower(t), '''`', '  ');
    END IF;
    IF t IS NOT NFKC NORMALIZED THEN
        t := normalize(t, NFKC);
    END IF;
    t := replace(replace(lower(t), 'ß', 'ss'), 'ς', 'σ');
    IF t ~ '[{_MARKED}]' THEN
        t := regexp_replace(t, '[{_COMBINING}]+', '', 'g');
        t := regexp_replace(normalize(t, NFD), '(?<=[{_LATIN}])[{_COMBINING}]+', '', 'g');
        t := normalize(t, NFC);
    END IF;
    IF t ~ '[{_ANY_APOSTROPHE}]' THEN
        t := regexp_replace(
            t, '(?<![{_CYRILLIC}])[{_ANY_APOSTROPHE}]|[{_ANY_APOSTROPHE}](?![{_CYRILLIC}])',
            ' ', 'g');
        t := translate(t, '{_APOSTROPHES_SQL}', '{_APOSTROPHE * len(_APOSTROPHES)}');
    END IF;
    RETURN t;
END
$$"""


def _search_vector(fold_with: str) -> str:
    weighted = " || ".join(
        f"setweight(to_tsvector('simple', {fold_with}({column})), '{weight}')"
        for column, weight in (("title", "A"), ("summary", "B"), ("body", "C"))
    )
    return f"""ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        {weighted}) STORED"""


POSTGRES_DROP = [
    "DROP INDEX IF EXISTS ix_articles_search_vector",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_vector",
]
POSTGRES_INDEX = "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)"
POSTGRES_UP = [*POSTGRES_DROP, FOLD_FUNCTION, _search_vector("newsbot_fold"), POSTGRES_INDEX]
POSTGRES_DOWN = [
    *POSTGRES_DROP,
    "DROP FUNCTION IF EXISTS newsbot_fold(text)",
    _search_vector(""),
    POSTGRES_INDEX,
]

# ---------------------------------------------------------------- the words

_WORD = re.compile(r"[^\W_]+")  # bot.words.keywords' words: runs of letters and digits
RELINK_DAYS = 365


def _folded_key(key: str) -> str:
    """A stored term key (words joined by spaces, a trailing ``*`` for a prefix) folded
    and cut into words again; "" when no word is left."""
    found = _WORD.findall(fold(key.rstrip("*")))
    if not found:
        return ""
    return " ".join(found) + ("*" if key.endswith("*") else "")


def _rekey(connection: sa.Connection) -> list[tuple[int, str]]:
    """Fold every word's key, merging words that become one; the words left, with keys."""
    rows = connection.execute(sa.text("SELECT id, key FROM words ORDER BY id")).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    gone: list[int] = []
    for word_id, key in rows:
        new = _folded_key(key)
        if new:
            groups.setdefault(new, []).append((word_id, key))
        else:
            gone.append(word_id)
    kept: list[tuple[int, str]] = []
    renamed: list[tuple[int, str]] = []
    for new, members in groups.items():
        # The row that already has the key stays, else the oldest.
        members.sort(key=lambda member: (member[1] != new, member[0]))
        survivor = members[0][0]
        for merged, _ in members[1:]:
            _merge(connection, merged, survivor)
            gone.append(merged)
        kept.append((survivor, new))
        if members[0][1] != new:
            renamed.append((survivor, new))
    for word_id in gone:
        connection.execute(
            sa.text("DELETE FROM subscriber_words WHERE word_id = :w"), {"w": word_id}
        )
        connection.execute(sa.text("DELETE FROM article_words WHERE word_id = :w"), {"w": word_id})
        connection.execute(sa.text("DELETE FROM words WHERE id = :w"), {"w": word_id})
    # Through keys no word can have ("#" is not a letter), so that no rename meets a key
    # another rename is about to free.
    for word_id, _ in renamed:
        connection.execute(
            sa.text("UPDATE words SET key = :k WHERE id = :w"), {"k": f"#{word_id}", "w": word_id}
        )
    for word_id, new in renamed:
        connection.execute(
            sa.text("UPDATE words SET key = :k WHERE id = :w"), {"k": new, "w": word_id}
        )
    return kept


def _merge(connection: sa.Connection, merged: int, survivor: int) -> None:
    """Who followed or muted ``merged`` follows or mutes ``survivor`` (unless they
    already had it)."""
    connection.execute(
        sa.text(
            "INSERT INTO subscriber_words (subscriber_id, word_id, kind, created_at) "
            "SELECT subscriber_id, :survivor, kind, created_at FROM subscriber_words AS s "
            "WHERE word_id = :merged AND NOT EXISTS (SELECT 1 FROM subscriber_words AS t "
            "WHERE t.subscriber_id = s.subscriber_id AND t.word_id = :survivor)"
        ),
        {"merged": merged, "survivor": survivor},
    )


def _relink(connection: sa.Connection, words: list[tuple[int, str]], sqlite: bool) -> None:
    since = datetime.now(UTC) - timedelta(days=RELINK_DAYS)
    if sqlite:
        since = since.replace(tzinfo=None)  # as storage.models.UTCDateTime stores it
        find = (
            "SELECT :w, a.id FROM articles_fts JOIN articles AS a ON a.id = articles_fts.rowid "
            "WHERE articles_fts MATCH :q AND a.added_at >= :since"
        )
    else:
        find = (
            "SELECT :w, id FROM articles "
            "WHERE search_vector @@ to_tsquery('simple', :q) AND added_at >= :since"
        )
    for word_id, key in words:
        prefix = key.endswith("*")
        parts = key.rstrip("*").split(" ")
        if sqlite:
            query = '"' + " ".join(parts) + '"' + (" *" if prefix else "")
        else:
            query = " <-> ".join(f"'{p}'" for p in parts) + (":*" if prefix else "")
        connection.execute(sa.text("DELETE FROM article_words WHERE word_id = :w"), {"w": word_id})
        connection.execute(
            sa.text(f"INSERT INTO article_words (word_id, article_id) {find}").bindparams(
                sa.bindparam("since", type_=sa.DateTime(timezone=True))
            ),
            {"w": word_id, "q": query, "since": since},
        )


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)
    _relink(connection, _rekey(connection), sqlite)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWN if sqlite else POSTGRES_DOWN:
        op.execute(statement)
