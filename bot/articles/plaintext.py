"""Text that every column can hold: one rule for what is dropped from outside input."""

from __future__ import annotations

import re

# What no database column should hold: C0 controls (but tab and newline), DEL and lone
# surrogates. JSON and Telegram can carry them; PostgreSQL refuses NUL, UTF-8 surrogates.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# Unicode's embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
# PDI): each changes the direction of everything after it on its line, until its
# terminator. In a one-line field (a title, a source, a chat's name) an unterminated one
# turns around what the bot writes after it on that line (a digest's "· source · time").
# Right-to-left text needs none of them; the marks LRM and RLM, which change nothing
# after them, stay.
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

MAX_TITLE_LENGTH = 255
ELLIPSIS = "…"


def storable(text: str) -> str:
    """``text`` without the characters no column can hold."""
    return UNSTORABLE.sub("", text)


def one_line(text: str) -> str:
    """A one-line field from outside as stored: storable, without direction controls."""
    return DIRECTION_CONTROLS.sub("", storable(text))


def chat_title(title: str | None) -> str | None:
    """A chat's title as stored: `one_line`, at most 255 characters, None when nothing is
    left."""
    if not title:
        return None
    return one_line(title)[:MAX_TITLE_LENGTH] or None


def shorten(text: str, limit: int, *, fold: bool = False) -> str:
    """``text`` within ``limit`` characters, ending in "…" when cut. ``fold``: every run of
    white space (newlines too) becomes one space first, as when typed text is quoted back."""
    if fold:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS
