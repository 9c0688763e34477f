"""full-text search over articles; followed and muted words

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

SQLite: an FTS5 table over title, summary and body (unicode61, diacritics removed) that
reads its text from ``articles`` (external content) and is kept in step by triggers, so
every way of storing or deleting an article (the importer, /add, feeds, retention) keeps
the index right. A migration that later recreates ``articles`` with batch_alter_table
drops these triggers and must create them again.

PostgreSQL: a stored generated ``search_vector`` column (config ``simple``: no stemming,
so every language is searched alike; title weighted A, summary B, body C) and a GIN index.
The ORM model does not map it: only the search query reads it.

Both are filled for the articles already stored.

Words: ``words`` (a followed or muted term), ``subscriber_words`` (who follows or mutes
it) and ``article_words`` (which articles contain it), shaped like tags.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "title, summary, body"
_NEW = "new.id, new.title, new.summary, new.body"
_OLD = "'delete', old.id, old.title, old.summary, old.body"

SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE articles_fts USING fts5(
        {_COLUMNS}, content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, {_COLUMNS}) VALUES ({_NEW});
    END""",
    f"""CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, {_COLUMNS}) VALUES ({_OLD});
    END""",
    f"""CREATE TRIGGER articles_fts_update AFTER UPDATE OF {_COLUMNS} ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, {_COLUMNS}) VALUES ({_OLD});
        INSERT INTO articles_fts(rowid, {_COLUMNS}) VALUES ({_NEW});
    END""",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS articles_fts_update",
    "DROP TRIGGER IF EXISTS articles_fts_delete",
    "DROP TRIGGER IF EXISTS articles_fts_insert",
    "DROP TABLE IF EXISTS articles_fts",
]

POSTGRES_UP = [
    """ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', summary), 'B')
        || setweight(to_tsvector('simple', body), 'C')
    ) STORED""",
    "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_articles_search_vector",
    "ALTER TABLE articles DROP COLUMN IF EXISTS search_vector",
]


def _cascading(column: str, table: str, owner: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=f"fk_{owner}_{column}_{table}", ondelete="CASCADE"
    )


def _create_word_tables() -> None:
    op.create_table(
        "words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_words"),
        sa.UniqueConstraint("key", name="uq_words_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "subscriber_words",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("word_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _cascading("subscriber_id", "subscribers", "subscriber_words"),
        _cascading("word_id", "words", "subscriber_words"),
        sa.PrimaryKeyConstraint("subscriber_id", "word_id", name="pk_subscriber_words"),
    )
    op.create_index("ix_subscriber_words_word_id", "subscriber_words", ["word_id"])
    op.create_table(
        "article_words",
        sa.Column("word_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        _cascading("word_id", "words", "article_words"),
        _cascading("article_id", "articles", "article_words"),
        sa.PrimaryKeyConstraint("word_id", "article_id", name="pk_article_words"),
    )
    op.create_index("ix_article_words_article_id", "article_words", ["article_id"])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)
    _create_word_tables()


def downgrade() -> None:
    op.drop_table("article_words")
    op.drop_table("subscriber_words")
    op.drop_table("words")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWN if sqlite else POSTGRES_DOWN:
        op.execute(statement)
