"""Telegram counts text in UTF-16 code units: lengths and entity offsets."""

from __future__ import annotations


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: a character outside the BMP (most emoji) is two."""
    return len(text.encode("utf-16-le")) // 2


def utf16_index(text: str) -> list[int]:
    """For each UTF-16 offset into ``text`` (and one past the end), the str index there."""
    mapping: list[int] = []
    for index, char in enumerate(text):
        mapping.extend([index] * (2 if ord(char) > 0xFFFF else 1))
    mapping.append(len(text))
    return mapping
