"""news feeds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Feeds polled for articles, and the feed each article came from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    op.create_index(
        "ix_feeds_due",
        "feeds",
        ["next_poll_at"],
        unique=False,
        sqlite_where=sa.text("removed_at IS NULL"),
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    # On SQLite the table is rebuilt to add the foreign key; it must stay AUTOINCREMENT
    # (migration 0002), and storage.db migrates with foreign keys off so the rows that
    # point at articles survive the rebuild.
    with op.batch_alter_table(
        "articles", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("feed_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_feed_id_feeds"),
            "feeds",
            ["feed_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_articles_feed_id_added_at", ["feed_id", "added_at"])


def downgrade() -> None:
    with op.batch_alter_table(
        "articles", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_index("ix_articles_feed_id_added_at")
        batch_op.drop_constraint(batch_op.f("fk_articles_feed_id_feeds"), type_="foreignkey")
        batch_op.drop_column("feed_id")
    op.drop_index("ix_feeds_due", table_name="feeds")
    op.drop_table("feeds")
