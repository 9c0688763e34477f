"""processes: whether each process is in a delivery pass

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

A process in a delivery pass says so in its row, so that each sending process knows how
many share the Telegram budget and sizes its HTTP connections and digests in flight for
its own share of the rate (bot.delivery.broadcast.Sizing).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "processes",
        sa.Column("in_pass", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35), as in 0008.
    op.execute("ALTER TABLE processes DROP COLUMN in_pass")
