"""deleted articles: a mark, not a removal

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

`/delete` used to remove an article's row, and with it its tag links and its ledger rows
(ON DELETE CASCADE): the next import of the same file stored it again as a new article,
and every subscriber who had it got it a second time. An article is now deleted by
setting deleted_at; its row, its identity (fingerprint, link) and its ledger stay, so no
import route stores it again and /undelete sends it to nobody who already had it. The
partial index holds only deleted articles: what an import checks new links against, and
what /deleted lists.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DELETED = "deleted_at IS NOT NULL"


def upgrade() -> None:
    op.add_column("articles", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_articles_deleted_at",
        "articles",
        ["deleted_at"],
        sqlite_where=sa.text(_DELETED),
        postgresql_where=sa.text(_DELETED),
    )


def downgrade() -> None:
    # The schema before this one has no way to keep a deleted article: remove it as
    # /delete did then, with its links and ledger rows (named here: SQLite migrates with
    # foreign keys off, so nothing cascades).
    deleted = f"SELECT id FROM articles WHERE {_DELETED}"
    for table in ("article_tags", "article_words", "story_keys", "delivered_articles"):
        op.execute(f"DELETE FROM {table} WHERE article_id IN ({deleted})")
    op.execute(f"DELETE FROM articles WHERE {_DELETED}")
    op.drop_index("ix_articles_deleted_at", table_name="articles")
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35), as in 0007: a batch
    # operation would copy articles and drop the old table, cascading to its links.
    op.execute("ALTER TABLE articles DROP COLUMN deleted_at")
