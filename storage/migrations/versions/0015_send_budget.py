"""one Telegram budget shared by every sending process

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

``send_budget``: a row per bot (its numeric id, never the token) from which every
process that sends on PostgreSQL leases its slots under RATE_LIMIT_PER_SECOND, and
where a 429 pauses all of them. ``send_chats``: when a chat may next get a message, for
chats a reply went to lately. SQLite deployments (one process) leave both empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", sa.Double(), nullable=False),
        sa.Column("reply_next_at", sa.Double(), nullable=False),
        sa.Column("borrowed", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.Double(), nullable=False),
        sa.Column("pauses", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_send_budget")),
    )
    op.create_table(
        "send_chats",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "chat_id", name=op.f("pk_send_chats")),
    )
    op.create_index("ix_send_chats_bot_id_next_at", "send_chats", ["bot_id", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_send_chats_bot_id_next_at", table_name="send_chats")
    op.drop_table("send_chats")
    op.drop_table("send_budget")
