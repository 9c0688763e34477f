"""groups and channels

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Every chat so far was a person's private chat. A chat now has a type, a title (groups
and channels), a forum topic digests go to, and the people who linked it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscribers",
        sa.Column("chat_type", sa.String(length=16), nullable=False, server_default="private"),
    )
    op.add_column("subscribers", sa.Column("title", sa.String(length=255), nullable=True))
    op.add_column("subscribers", sa.Column("thread_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "chat_managers",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_chat_managers_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "subscriber_id", name=op.f("pk_chat_managers")),
    )
    op.create_index(
        "ix_chat_managers_subscriber_id", "chat_managers", ["subscriber_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_chat_managers_subscriber_id", table_name="chat_managers")
    op.drop_table("chat_managers")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("thread_id")
        batch.drop_column("title")
        batch.drop_column("chat_type")
