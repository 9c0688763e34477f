"""each chat's language

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Chats that existed before get English, the only language the bot spoke until now.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscribers",
        sa.Column("language", sa.String(length=16), nullable=False, server_default="en"),
    )


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("language")
