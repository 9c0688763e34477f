"""Telegram's HTML parse mode, strictly: text plus entities, or the error Telegram gives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any

from emulator.utf16 import utf16_len

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+))")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")

_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
}


class EntityParseError(ValueError):
    """Telegram's "Bad Request: can't parse entities: …"."""


@dataclass
class _Open:
    name: str
    start: int
    url: str | None


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities (UTF-16 offsets) of ``source``, as Telegram would parse it."""
    out: list[str] = []
    length = 0  # UTF-16 length of the text so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(source)

    def offset() -> int:
        return len(source[:i].encode("utf-8"))

    while i < n:
        ch = source[i]
        if ch == "<":
            match = _TAG.match(source, i)
            if match is None:
                raise EntityParseError(
                    f"Unsupported start tag at byte offset {offset()}: an unescaped '<'"
                )
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in _TYPES:
                raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset()}')
            if closing:
                if not stack or stack[-1].name != name:
                    expected = f'"</{stack[-1].name}>"' if stack else "no end tag"
                    raise EntityParseError(
                        f"Unmatched end tag at byte offset {offset()}, expected {expected}, "
                        f'found "</{name}>"'
                    )
                opened = stack.pop()
                if length > opened.start:
                    entity: dict[str, Any] = {
                        "type": _TYPES[name],
                        "offset": opened.start,
                        "length": length - opened.start,
                    }
                    if opened.url is not None:
                        entity["url"] = opened.url
                    entities.append(entity)
            else:
                values = {
                    m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "")
                    for m in _ATTR.finditer(attrs)
                }
                url = None
                if name == "a":
                    url = values.get("href", "")
                    if not re.match(r"(https?|tg)://\S+$", url):
                        raise EntityParseError(
                            f"Wrong URL {url!r} in an <a> tag at byte offset {offset()}"
                        )
                if name == "span" and values.get("class") != "tg-spoiler":
                    raise EntityParseError(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {offset()}'
                    )
                stack.append(_Open(name, length, url))
            i = match.end()
            continue
        if ch == "&":
            match = _ENTITY.match(source, i)
            if match is None:
                raise EntityParseError(
                    f"Character entity expected at byte offset {offset()}: an unescaped '&'"
                )
            char = unescape(match.group(0))
            out.append(char)
            length += utf16_len(char)
            i = match.end()
            continue
        out.append(ch)  # a bare '>' is fine in text, as in HTML
        length += utf16_len(ch)
        i += 1
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
