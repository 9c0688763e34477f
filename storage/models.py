"""The database schema. Migrations in storage/migrations/versions create exactly this."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    TypeDecorator,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

from storage.records import WordKind


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend: stored as UTC, read back as aware UTC.

    SQLite has no timestamp type and drops the offset; PostgreSQL keeps it (timestamptz).
    Naive datetimes are refused so that a local time can never slip in unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ArticleIds(TypeDecorator[tuple[int, ...]]):
    """Article ids packed four bytes each (little-endian): a digest's ledger in 4 bytes an
    article, where a row per article took about 90 with its indexes (README, "Storage")."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: tuple[int, ...] | None, dialect: Dialect) -> bytes | None:
        return None if value is None else struct.pack(f"<{len(value)}I", *value)

    def process_result_value(
        self, value: bytes | None, dialect: Dialect
    ) -> tuple[int, ...] | None:
        return None if value is None else struct.unpack(f"<{len(value) // 4}I", value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _cascading_key(target: str) -> MappedColumn[Any]:
    """Part of a composite primary key: a reference to ``target``, deleted with it."""
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), primary_key=True)


def _partial_index(name: str, column: str, where: str, *, postgresql: str | None = None) -> Index:
    """An index of the rows ``where`` holds for (in PostgreSQL's words, when they differ)."""
    return Index(
        name,
        column,
        sqlite_where=text(where),
        postgresql_where=text(where if postgresql is None else postgresql),
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        # "Articles this feed added in the last 24 h", for /feeds.
        Index("ix_articles_feed_id_added_at", "feed_id", "added_at"),
        # Only the deleted articles: what an import checks new links against, and what
        # /deleted lists. A handful of rows, whatever the size of the table.
        _partial_index("ix_articles_deleted_at", "deleted_at", "deleted_at IS NOT NULL"),
        # Ids travel in digest links: SQLite must never hand out a deleted one again.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The insert sentinel: SQLite has no implicit one, so without it the ORM stored a
    # batch of new articles one INSERT each (their ids must come back in order); with
    # it, one INSERT ... RETURNING per batch. No schema change: it is always given.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True, insert_sentinel=True)
    # The feed the article came from; None for typed and imported articles, and for the
    # articles of a feed whose row was deleted (a removed feed keeps its row).
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime]
    added_at: Mapped[datetime] = mapped_column(index=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    summary: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    # The story the article reports: the id of the story's first article. None: a story
    # of its own (bot.stories.similarity decides; /split and /merge correct it).
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # When an admin deleted it; None while it is shown. A deleted article keeps its row:
    # its ledger rows stay, so that /undelete sends it to nobody who had it, and its
    # identity (fingerprint, link) keeps every import route from storing it again.
    deleted_at: Mapped[datetime | None]


class StoryKey(Base):
    """A recent article's candidate keys (its rare words, hashed): articles sharing a key
    are candidates for being the same story (bot.stories.similarity)."""

    __tablename__ = "story_keys"
    __table_args__ = (Index("ix_story_keys_article_id", "article_id"),)

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = _cascading_key("articles.id")


class Feed(Base):
    """A news feed polled for articles. Removing a feed sets ``removed_at`` and keeps the
    row, so that adding the same address again continues where it stopped: article
    identity is (feed id, entry id), and a new id would repeat every entry."""

    __tablename__ = "feeds"
    __table_args__ = (_partial_index("ix_feeds_due", "next_poll_at", "removed_at IS NULL"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(100))  # the source name an admin chose
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))  # of the last body parsed
    entries: Mapped[int] = mapped_column(Integer, default=0)  # found by the last parse
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # entries it could not read
    # Older entries beyond the newest 500 the last parse did not read (bot.feeds.parse).
    dropped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Where a permanent redirect points when another feed already has that address, so
    # this one stays at its own; NULL when it does not redirect so.
    moved_to: Mapped[str | None] = mapped_column(String(2048))
    next_poll_at: Mapped[datetime]
    polled_at: Mapped[datetime | None]
    ok_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)  # polls in a row that failed
    failing_since: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class ArticleTag(Base):
    __tablename__ = "article_tags"
    # (tag_id, article_id) is the primary key, so "articles with tag T" is an index range;
    # the second index serves deletes and "tags of article A".
    __table_args__ = (Index("ix_article_tags_article_id", "article_id"),)

    tag_id: Mapped[int] = _cascading_key("tags.id")
    article_id: Mapped[int] = _cascading_key("articles.id")


def _enum_text(enum: type[StrEnum]) -> Enum:
    """A StrEnum stored as its value in a short string column: no database enum type and
    no CHECK constraint, so a new member needs no migration."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        # The delivery tick asks "who is due" every 30 s: an index range, not a scan.
        _partial_index(
            "ix_subscribers_due",
            "next_due_at",
            "paused = 0 AND blocked = 0",
            postgresql="NOT paused AND NOT blocked",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    digest_time: Mapped[time] = mapped_column(Time)
    frequency: Mapped[str] = mapped_column(String(16), default="daily")
    weekday: Mapped[int] = mapped_column(SmallInteger, default=0)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Since when the chat cannot receive messages (it blocked the bot, was deleted, or
    # removed it); set with ``blocked``. A chat blocked longer than FORGET_BLOCKED_DAYS
    # is forgotten (bot.privacy). Left as it was when the chat comes back.
    blocked_at: Mapped[datetime | None]
    # The language the bot speaks in this chat (a catalog code of bot.i18n).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # What kind of chat: a person's private chat, a group or supergroup, or a channel.
    chat_type: Mapped[ChatType] = mapped_column(
        _enum_text(ChatType), default=ChatType.PRIVATE, server_default="private"
    )
    title: Mapped[str | None] = mapped_column(String(255))  # groups and channels
    # A forum supergroup's topic that digests go to (None: the chat itself, or General).
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    # The digest's layout (/settings): entries name the tags or words they matched by;
    # one line per story instead of headline, summary and source line.
    show_tags: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    compact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    next_due_at: Mapped[datetime]
    created_at: Mapped[datetime]


class ChatManager(Base):
    """A person who administers a channel (or group) and linked it from their private chat;
    ``selected`` marks the one their commands act for (at most one per person)."""

    __tablename__ = "chat_managers"
    __table_args__ = (Index("ix_chat_managers_subscriber_id", "subscriber_id"),)

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subscriber_id: Mapped[int] = _cascading_key("subscribers.id")
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Subscription(Base):
    """A chat follows a tag (/subscribe): its digests bring the tag's articles. The tag's
    row goes with its last subscription when no article has it."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_tag_id", "tag_id"),)

    subscriber_id: Mapped[int] = _cascading_key("subscribers.id")
    tag_id: Mapped[int] = _cascading_key("tags.id")
    created_at: Mapped[datetime]


class DigestKind(StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"  # /digest


class DigestStatus(StrEnum):
    PENDING = "pending"  # composed; being sent, or waiting for its lease to run out
    SENT = "sent"
    FAILED = "failed"


class Digest(Base):
    """One digest: an outbox row, narrow, so that recording its progress rewrites little.
    Its messages wait in `DigestMessage` until sent. ``ledger`` is the per-subscriber
    ledger: the articles this digest delivered (every article of each story it showed);
    retention sets it to NULL once none of them can be selected again."""

    __tablename__ = "digests"
    __table_args__ = (
        Index("ix_digests_subscriber_id", "subscriber_id"),
        Index("ix_digests_status_lease", "status", "lease_until"),
        Index("ix_digests_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[DigestKind] = mapped_column(_enum_text(DigestKind))
    status: Mapped[DigestStatus] = mapped_column(_enum_text(DigestStatus))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    sent_chunks: Mapped[int] = mapped_column(Integer, default=0)
    message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    ledger: Mapped[tuple[int, ...] | None] = mapped_column(ArticleIds)
    # The process (`Process`) sending it now; none once it was postponed, or for /digest.
    # No foreign key: a dead process's row goes, and its digests must stay claimable.
    owner_id: Mapped[int | None] = mapped_column(Integer)


class Process(Base):
    """A running process that may send digests, seen every few seconds
    (bot.delivery.presence): one not seen for PROCESS_TIMEOUT_SECONDS is taken for dead,
    and another resumes the digests it held."""

    __tablename__ = "processes"
    # A new process must never get a dead one's id, which its digests still name.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    # In a delivery pass: the processes that share the Telegram budget now.
    in_pass: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DigestMessage(Base):
    """A message of a digest not sent yet, as JSON that only bot.delivery.digest.Chunk
    reads and writes. Deleted when it is recorded as sent, and when its digest fails:
    the text of a digest is kept only until it is sent."""

    __tablename__ = "digest_messages"

    digest_id: Mapped[int] = _cascading_key("digests.id")
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


# ---------------------------------------------------------------- keywords and search
# Full-text search has no model: SQLite's articles_fts table (with the view it reads)
# and PostgreSQL's articles.search_vector column are made by migrations 0004 and 0008
# and read only by storage.keywords' searches.


class Word(Base):
    """A followed or muted term (bot.words.keywords.Term.key: ``word``, ``a phrase``, ``pre*``),
    shared by every subscriber who typed it; deleted when the last one lets go."""

    __tablename__ = "words"
    # Ids never reused: storage.keywords.words_version relies on it.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class SubscriberWord(Base):
    """A chat follows (/follow) or mutes (/mute) a word: ``kind`` says which."""

    __tablename__ = "subscriber_words"
    __table_args__ = (Index("ix_subscriber_words_word_id", "word_id"),)

    subscriber_id: Mapped[int] = _cascading_key("subscribers.id")
    word_id: Mapped[int] = _cascading_key("words.id")
    kind: Mapped[WordKind] = mapped_column(_enum_text(WordKind))
    created_at: Mapped[datetime]


class ArticleWord(Base):
    """An article contains a word: filled when the article is stored (and for recent
    articles when the word is first followed), like article_tags."""

    __tablename__ = "article_words"
    __table_args__ = (Index("ix_article_words_article_id", "article_id"),)

    word_id: Mapped[int] = _cascading_key("words.id")
    article_id: Mapped[int] = _cascading_key("articles.id")


class SendBudget(Base):
    """One bot's Telegram budget, shared by every process that sends on PostgreSQL
    (storage.budget): times are the database's clock, in seconds since the epoch."""

    __tablename__ = "send_budget"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[float] = mapped_column(Double, default=0.0)  # the bulk lanes' next slot
    reply_next_at: Mapped[float] = mapped_column(Double, default=0.0)
    borrowed: Mapped[int] = mapped_column(Integer, default=0)  # replies sent in bulk slots
    paused_until: Mapped[float] = mapped_column(Double, default=0.0)
    pauses: Mapped[int] = mapped_column(BigInteger, default=0)  # 429s with retry_after
    # Bulk slots handed out per second, for what paid broadcasts cost: the whole second
    # the last lease began in, the slots in it and in the next (bot.delivery.broadcast).
    slots_second: Mapped[float] = mapped_column(Double, default=0.0, server_default="0")
    slots_in_second: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    slots_in_next: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SendChat(Base):
    """When a chat may next get a message, for the chats a reply went to lately (the
    reply lane and the bulk lane of another process may both write to one chat)."""

    __tablename__ = "send_chats"
    __table_args__ = (Index("ix_send_chats_bot_id_next_at", "bot_id", "next_at"),)

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[float] = mapped_column(Double)
