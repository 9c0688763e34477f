"""Telegram counts text in UTF-16 code units: lengths, entity offsets and slices."""

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


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity with this UTF-16 ``offset`` and ``length`` covers."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le")
