"""article ids are never reused

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Digest links carry article ids (?start=a43). SQLite reuses the highest id after a
delete unless the table is AUTOINCREMENT; PostgreSQL's sequence never reuses one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Recreates the table (storage.db runs migrations with foreign keys off, so the
    # rows that point at articles survive the DROP of the old table).
    with op.batch_alter_table(
        "articles", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("articles", recreate="always"):
        pass
