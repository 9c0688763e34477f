"""a digest's texts only until sent; the ledger packed into its digest row

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

A digest row kept the full text of its messages for DIGEST_RETENTION_DAYS, and the
update marking it sent rewrote the whole row; the ledger took a row per article (about
90 bytes with its two indexes). Now the messages wait in ``digest_messages``, one row
each, deleted as they are recorded sent; the ledger is ``digests.ledger``, the article
ids packed 4 bytes each (storage.models.ArticleIds), NULL once retention drops it.

Upgrade: pending digests keep the text of their unsent messages; sent and failed ones
keep none. Each digest's ledger rows become its packed ledger. Downgrade: the ledgers
become rows again (when sent: the digest's creation, as they were written); a pending
digest gets its unsent messages back at their positions, behind placeholders for the
ones sent (never sent again: a send resumes after them); other digests get none.
"""

import struct
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1_000

_digests = sa.table(
    "digests",
    sa.column("id", sa.Integer()),
    sa.column("subscriber_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("chunks", sa.JSON()),
    sa.column("sent_chunks", sa.Integer()),
    sa.column("ledger", sa.LargeBinary()),
)
_messages = sa.table(
    "digest_messages",
    sa.column("digest_id", sa.Integer()),
    sa.column("position", sa.Integer()),
    sa.column("body", sa.JSON()),
)
_ledger = sa.table(
    "delivered_articles",
    sa.column("subscriber_id", sa.Integer()),
    sa.column("article_id", sa.Integer()),
    sa.column("digest_id", sa.Integer()),
    sa.column("delivered_at", sa.DateTime(timezone=True)),
)
_articles = sa.table("articles", sa.column("id", sa.Integer()))


def _pack(ids: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(ids)}I", *ids)


def _unpack(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", bytes(data))


def _pages(
    connection: sa.Connection, query: sa.Select[Any], key: sa.ColumnElement[Any]
) -> Iterator[list[Any]]:
    """The query's rows, BATCH at a time, by ascending ``key`` (an id)."""
    after = -1
    while True:
        rows = connection.execute(query.where(key > after).order_by(key).limit(BATCH)).all()
        if not rows:
            return
        yield list(rows)
        after = rows[-1][0]


def upgrade() -> None:
    op.create_table(
        "digest_messages",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_digest_messages_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest_id", "position", name=op.f("pk_digest_messages")),
    )
    op.add_column("digests", sa.Column("ledger", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    pending = sa.select(_digests.c.id, _digests.c.chunks, _digests.c.sent_chunks).where(
        _digests.c.status == "pending"
    )
    for rows in _pages(connection, pending, _digests.c.id):
        messages = [
            {"digest_id": digest_id, "position": position, "body": body}
            for digest_id, chunks, sent in rows
            for position, body in enumerate(chunks or [])
            if position >= sent
        ]
        if messages:
            connection.execute(sa.insert(_messages), messages)
    ledgers = sa.select(_ledger.c.digest_id, _ledger.c.article_id).order_by(
        _ledger.c.digest_id, _ledger.c.article_id
    )
    packed: dict[int, list[int]] = {}
    for digest_id, article_id in connection.execute(ledgers):
        if digest_id not in packed and len(packed) >= BATCH:
            _write_ledgers(connection, packed)
            packed = {}
        packed.setdefault(digest_id, []).append(article_id)
    _write_ledgers(connection, packed)
    # Digests that wrote no ledger rows (nothing but messages) have an empty ledger.
    connection.execute(sa.update(_digests).where(_digests.c.ledger.is_(None)).values(ledger=b""))
    op.drop_table("delivered_articles")
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("chunks")


def _write_ledgers(connection: sa.Connection, packed: dict[int, list[int]]) -> None:
    if not packed:
        return
    update = (
        sa.update(_digests)
        .where(_digests.c.id == sa.bindparam("b_id"))
        .values(ledger=sa.bindparam("b_ledger", type_=sa.LargeBinary()))
    )
    connection.execute(update, [{"b_id": d, "b_ledger": _pack(ids)} for d, ids in packed.items()])


def downgrade() -> None:
    op.create_table(
        "delivered_articles",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_delivered_articles_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_delivered_articles_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_delivered_articles_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "article_id", name=op.f("pk_delivered_articles")),
    )
    with op.batch_alter_table("delivered_articles") as batch:
        batch.create_index("ix_delivered_articles_digest_id", ["digest_id"], unique=False)
    op.add_column("digests", sa.Column("chunks", sa.JSON(), nullable=True))
    connection = op.get_bind()
    query = sa.select(
        _digests.c.id,
        _digests.c.subscriber_id,
        _digests.c.created_at,
        _digests.c.ledger,
        _digests.c.status,
        _digests.c.sent_chunks,
    )
    existing = {a for (a,) in connection.execute(sa.select(_articles.c.id))}
    for rows in _pages(connection, query, _digests.c.id):
        ledger = [
            {"subscriber_id": s, "article_id": a, "digest_id": d, "delivered_at": created}
            for d, s, created, packed, _, _ in rows
            for a in _unpack(packed or b"")
            if a in existing
        ]
        if ledger:
            connection.execute(sa.insert(_ledger), ledger)
        ids = [row[0] for row in rows]
        bodies: dict[int, list[Any]] = {d: [] for d in ids}
        messages = (
            sa.select(_messages.c.digest_id, _messages.c.body)
            .where(_messages.c.digest_id.in_(ids))
            .order_by(_messages.c.digest_id, _messages.c.position)
        )
        for digest_id, body in connection.execute(messages):
            bodies[digest_id].append(body)
        sent_placeholder = {"text": "(sent)", "article_ids": []}
        connection.execute(
            sa.update(_digests)
            .where(_digests.c.id == sa.bindparam("b_id"))
            .values(chunks=sa.bindparam("b_chunks", type_=sa.JSON())),
            [
                {
                    "b_id": d,
                    "b_chunks": [sent_placeholder] * sent + bodies[d]
                    if status == "pending"
                    else [],
                }
                for d, _, _, _, status, sent in rows
            ],
        )
    with op.batch_alter_table("digests") as batch:
        batch.alter_column("chunks", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("ledger")
    op.drop_table("digest_messages")
