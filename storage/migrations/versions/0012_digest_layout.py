"""each chat's digest layout: tags shown or not, full or compact

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``show_tags``: whether a digest entry names the tags (or followed words) it matched
this chat by; ``compact``: one line per story (its linked headline, source and time)
instead of headline, summary and source line. Chats that existed before get what every
chat gets: tags shown, the full layout.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscribers",
        sa.Column("show_tags", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "subscribers",
        sa.Column("compact", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("compact")
        batch.drop_column("show_tags")
