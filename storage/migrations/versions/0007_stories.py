"""stories: articles that report the same event

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

An article's story_id is the id of its story (the id of the story's first article);
NULL means the article is a story of its own, as every article stored before was.
story_keys holds each recent article's candidate keys (its rare words), the index
grouping searches for near-duplicates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("story_id", sa.Integer(), nullable=True))
    op.create_index("ix_articles_story_id", "articles", ["story_id"])
    op.create_table(
        "story_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", "article_id"),
    )
    op.create_index("ix_story_keys_article_id", "story_keys", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_story_keys_article_id", table_name="story_keys")
    op.drop_table("story_keys")
    op.drop_index("ix_articles_story_id", table_name="articles")
    # ALTER TABLE … DROP COLUMN on both backends (SQLite ≥ 3.35): a batch operation would
    # copy articles and drop the old table, and on SQLite that drop cascades to the tag
    # links and the ledger, takes 0004's search triggers and loses AUTOINCREMENT.
    op.execute("ALTER TABLE articles DROP COLUMN story_id")
