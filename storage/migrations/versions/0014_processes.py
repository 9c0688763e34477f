"""processes: each running process's heartbeat, and which one holds a digest

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

A process that sends digests keeps a row in ``processes`` and refreshes its ``seen_at``
every few seconds; a digest it composed or resumed names it in ``owner_id``. When a
process has not been seen for PROCESS_TIMEOUT_SECONDS, another one resumes its pending
digests at once instead of waiting out their 5-minute lease (bot.delivery.presence).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        # Never a dead process's id again: its digests still name it.
        sqlite_autoincrement=True,
    )
    op.add_column("digests", sa.Column("owner_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35), as in 0008.
    op.execute("ALTER TABLE digests DROP COLUMN owner_id")
    op.drop_table("processes")
