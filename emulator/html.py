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
_PLAIN = re.compile(r"[^<&]+")  # a bare '>' is fine in text, as in HTML

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
    return _Parser(source).parse()


class _Parser:
    """One pass over the source: one method per kind of token."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.length = 0  # UTF-16 length of the text so far
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []
        self.i = 0

    def offset(self) -> int:
        return len(self.source[: self.i].encode("utf-8"))

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.i < len(self.source):
            ch = self.source[self.i]
            if ch == "<":
                self.tag()
            elif ch == "&":
                self.entity()
            else:
                run = _PLAIN.match(self.source, self.i)
                assert run is not None  # the character here is neither '<' nor '&'
                self.text(run.group(0))
                self.i = run.end()
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def text(self, chars: str) -> None:
        self.out.append(chars)
        self.length += utf16_len(chars)

    def entity(self) -> None:
        match = _ENTITY.match(self.source, self.i)
        if match is None:
            raise EntityParseError(
                f"Character entity expected at byte offset {self.offset()}: an unescaped '&'"
            )
        self.text(unescape(match.group(0)))
        self.i = match.end()

    def tag(self) -> None:
        match = _TAG.match(self.source, self.i)
        if match is None:
            raise EntityParseError(
                f"Unsupported start tag at byte offset {self.offset()}: an unescaped '<'"
            )
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if name not in _TYPES:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {self.offset()}'
            )
        if closing:
            self.close_tag(name)
        else:
            self.open_tag(name, attrs)
        self.i = match.end()

    def open_tag(self, name: str, attrs: str) -> None:
        values = {
            m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in _ATTR.finditer(attrs)
        }
        url = None
        if name == "a":
            url = values.get("href", "")
            if not re.match(r"(https?|tg)://\S+$", url):
                raise EntityParseError(
                    f"Wrong URL {url!r} in an <a> tag at byte offset {self.offset()}"
                )
        if name == "span" and values.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.offset()}'
            )
        self.stack.append(_Open(name, self.length, url))

    def close_tag(self, name: str) -> None:
        if not self.stack or self.stack[-1].name != name:
            expected = f'"</{self.stack[-1].name}>"' if self.stack else "no end tag"
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.offset()}, expected {expected}, "
                f'found "</{name}>"'
            )
        opened = self.stack.pop()
        if self.length > opened.start:
            entity: dict[str, Any] = {
                "type": _TYPES[name],
                "offset": opened.start,
                "length": self.length - opened.start,
            }
            if opened.url is not None:
                entity["url"] = opened.url
            self.entities.append(entity)
