"""The digest's own lines."""

from __future__ import annotations

from bot.i18n import N_, Translator

# ---- digests


def digest_header(t: Translator, count: int) -> str:
    """The first line of a digest (plain text: the renderer escapes and bolds it)."""
    return t.ngettext("📰 Your digest: {n} new article", "📰 Your digest: {n} new articles", count)


def more_waiting(t: Translator, remaining: int, *, manual: bool) -> str:
    """The last line of a digest that had more articles than fit (plain text)."""
    if manual:
        return t.ngettext(
            "+{n} more article waiting; send /digest for more now",
            "+{n} more articles waiting; send /digest for more now",
            remaining,
        )
    return t.ngettext(
        "+{n} more article waiting; it comes in your next digest",
        "+{n} more articles waiting; they come in your next digest",
        remaining,
    )


FULL_TEXT = N_("Full text")
# A digest entry: a story the reader had, with a newer article; the story's other sources.
UPDATE = N_("Update:")
ALSO = N_("Also:")
ORIGINAL_ARTICLE = N_("Original article")
