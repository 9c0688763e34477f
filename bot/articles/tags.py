"""Tag names: one normalization rule, used by the parser, the importer and every command."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.articles.plaintext import storable
from storage.records import Tag

MAX_TAG_LENGTH = 50

_WHITESPACE = re.compile(r"\s+")


def display_form(raw: str) -> str:
    """NFKC, unstorable characters dropped, trimmed, inner whitespace collapsed, a leading
    ``#`` dropped; case kept."""
    text = _WHITESPACE.sub(" ", storable(unicodedata.normalize("NFKC", raw))).strip()
    if text.startswith("#"):
        text = text[1:].strip()
    return text


def normalize_tag(raw: str) -> str:
    """The key two spellings of one tag share: "United Kingdom" == " united  kingdom "."""
    # casefold can expand characters (ß -> ss), so collapse whitespace once more after it.
    return _WHITESPACE.sub(" ", display_form(raw).casefold()).strip()


def make_tag(raw: str) -> Tag:
    return Tag(key=normalize_tag(raw), name=display_form(raw))


def split_tag_list(text: str) -> list[Tag]:
    """Split ``a, b, #c`` into tags, dropping empty items and repeats (first spelling wins)."""
    seen: dict[str, Tag] = {}
    for item in text.split(","):
        tag = make_tag(item)
        if tag.key and tag.key not in seen:
            seen[tag.key] = tag
    return list(seen.values())


@lru_cache(maxsize=4096)
def hashtag(name: str) -> str:
    """``United Kingdom`` -> ``#United_Kingdom``: Telegram hashtags stop at spaces and dashes."""
    body = re.sub(r"[^\w]+", "_", name).strip("_")
    return f"#{body}" if body else ""
