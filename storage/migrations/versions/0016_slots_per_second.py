"""the shared budget counts its slots per second, for what paid broadcasts cost

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

``send_budget`` keeps the whole second (the database's clock) in which the last lease
began, and how many bulk slots every process was handed in it and in the next, so that
each lease learns which of its slots are beyond Telegram's free 30 a second.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "send_budget", sa.Column("slots_second", sa.Double(), nullable=False, server_default="0")
    )
    op.add_column(
        "send_budget",
        sa.Column("slots_in_second", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "send_budget", sa.Column("slots_in_next", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35), as in 0008.
    op.execute("ALTER TABLE send_budget DROP COLUMN slots_in_next")
    op.execute("ALTER TABLE send_budget DROP COLUMN slots_in_second")
    op.execute("ALTER TABLE send_budget DROP COLUMN slots_second")
