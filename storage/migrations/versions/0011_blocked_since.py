"""subscribers: since when a chat cannot receive messages

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

``blocked_at`` is set with ``blocked`` (the chat blocked the bot, was deleted, or
removed it): a chat blocked for longer than FORGET_BLOCKED_DAYS is forgotten by the
delivery tick (bot.privacy). Chats blocked before this migration count from the upgrade.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscribers", sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True)
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":  # stored as naive UTC there (UTCDateTime)
        now = now.replace(tzinfo=None)
    subscribers = sa.table(
        "subscribers",
        sa.column("blocked", sa.Boolean()),
        sa.column("blocked_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        subscribers.update().where(subscribers.c.blocked == sa.true()).values(blocked_at=now)
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35), as in 0008.
    op.execute("ALTER TABLE subscribers DROP COLUMN blocked_at")
