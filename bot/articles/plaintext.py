"""Text that every column can hold: one rule for what is dropped from outside input."""

from __future__ import annotations

import re

# What no database column should hold: C0 controls (but tab and newline), DEL and lone
# surrogates. JSON and Telegram can carry them; PostgreSQL refuses NUL, UTF-8 surrogates.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

MAX_TITLE_LENGTH = 255
ELLIPSIS = "…"


def storable(text: str) -> str:
    """``text`` without the characters no column can hold."""
    return UNSTORABLE.sub("", text)


def chat_title(title: str | None) -> str | None:
    """A chat's title as stored: storable, at most 255 characters, None when nothing is left."""
    if not title:
        return None
    return storable(title)[:MAX_TITLE_LENGTH] or None


def shorten(text: str, limit: int, *, fold: bool = False) -> str:
    """``text`` within ``limit`` characters, ending in "…" when cut. ``fold``: every run of
    white space (newlines too) becomes one space first, as when typed text is quoted back."""
    if fold:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS
