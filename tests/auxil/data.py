"""Test data every module shares: paths, identities, the seed, a minimal article."""

from __future__ import annotations

from pathlib import Path

from bot.articles.format import parse_article
from storage.records import ParsedArticle

ROOT = Path(__file__).resolve().parent.parent.parent
SEEDS = ROOT / "seeds"
SEED_COUNT = len(list(SEEDS.glob("*.txt")))
ADMIN_ID = 9001
USER_ID = 1001
SEED_TITLE = "Britain holds secret talks with russia on Ukraine"
SEED_SUMMARY = (
    "British and russian officials held a number of diplomatic talks amid the war in Ukraine."
)
# The user property under which test_stories hands story grouping's figures (a list of
# lines) to conftest, which prints them under the run's summary.
STORY_FIGURES = "story figures"


def article(title: str, tags: str, published: str = "2026-11-01T10:00:00+00:00") -> ParsedArticle:
    """A parsed article with these title and tags, from the Science Desk."""
    return parse_article(
        f"Science {published}\nScience Desk\n{title}\n\n{tags}\n\nBody of {title}. More.\n"
    )
