"""feeds: the entries a parse dropped beyond the newest 500, and a move that clashed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

``dropped`` counts the older entries beyond the newest 500 that the last parse did not
read (they were counted as one "skipped" entry before). ``moved_to`` holds where a
permanent redirect points when another feed already has that address, so that /feeds
can say why the feed stayed at its own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("dropped", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("feeds", sa.Column("moved_to", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35), as in 0007: a batch
    # operation would copy the table, and on SQLite dropping the old one cascades.
    op.execute("ALTER TABLE feeds DROP COLUMN moved_to")
    op.execute("ALTER TABLE feeds DROP COLUMN dropped")
