"""Lengths as Telegram counts them. Pure: bot.texts and bot.delivery.digest measure with it."""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape

_MARKUP = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (most emoji are two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@lru_cache(maxsize=16_384)
def tg_len(html: str) -> int:
    """The length Telegram checks against its limit: of the text after entity parsing, so
    tags, hrefs and escapes do not count. Valid for the bot's own HTML, where every ``<``
    of outside text is escaped."""
    return utf16_len(unescape(_MARKUP.sub("", html)))
