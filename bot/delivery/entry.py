"""One digest entry as HTML: a story, shown by one of its reports.

Pure code: no Telegram, no database. Full layout::

    <b>[Update: ]<a href="link">Headline</a></b>
    Summary line
    <i>Reuters · 2h ago · first reported by BBC, 5h ago</i> · 🏷 negotiations, Europe
    Also: <a>Kyiv Wire</a> · <a>BBC</a> · +2

Compact layout, one line: ``[Update: ]<a href="link">Headline</a> · <i>Reuters · 2h ago</i>``.
Every piece of article text is escaped here; an entry never exceeds the limit it is
given, whatever the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape

from bot.telegram.lengths import tg_len, utf16_len
from bot.texts.digest import ALSO, TAG_MARK, UPDATE, WORD_MARK

ELLIPSIS = "…"
MAX_SOURCE_NAME = 40
MAX_WHY = 2  # tags (or followed words) an entry names at most


def prefix(text: str, units: int) -> str:
    """The longest start of ``text`` within ``units`` UTF-16 units; never splits a
    surrogate pair."""
    kept = 0
    for index, char in enumerate(text):
        kept += 2 if ord(char) > 0xFFFF else 1
        if kept > units:
            return text[:index]
    return text


def cut(text: str, units: int) -> str:
    """``text`` within ``units`` UTF-16 units, ending in "…" when shortened."""
    if utf16_len(text) <= units:
        return text
    if units <= 0:
        return ""
    return prefix(text, units - 1).rstrip() + ELLIPSIS


# Compared and hashed by identity (eq=False): the renderers' caches are asked a million
# times a pass, and bot.delivery.entries hands out one object per distinct entry.
@dataclass(frozen=True, slots=True, eq=False)
class DigestItem:
    """One entry of a digest: a story, shown by one of its articles.

    ``meta`` is the source line in the reader's words ("Reuters · 2h ago") and ``first``
    who reported the story first, when that is another report ("first reported by BBC,
    5h ago"). ``tags`` and ``words`` are why the reader gets it: the tags and followed
    words of theirs the shown article has (at most two in all). ``also`` names the
    story's other sources (name, link), ``more`` how many others are not named;
    ``ledger_ids`` are every article the entry stands for (the shown one when empty);
    ``button`` is the "Show all N reports" button (text, URL) of a story of several."""

    article_id: int
    title: str
    summary: str
    link: str
    meta: str = ""
    first: str = ""
    tags: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    also: tuple[tuple[str, str], ...] = ()
    more: int = 0
    update: bool = False
    ledger_ids: tuple[int, ...] = ()
    button: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Labels:
    """The words of a digest entry, in the reader's language."""

    update: str = UPDATE
    also: str = ALSO


ENGLISH = Labels()


def _also_line(item: DigestItem, label: str, budget: int) -> str:
    """ "Also: <a>Name</a> · <a>Name</a> · +2" within ``budget`` visible units; sources that
    do not fit join the "+N"."""
    if not item.also and not item.more:
        return ""
    shown: list[str] = []
    used = utf16_len(label)
    for index, (source, link) in enumerate(item.also):
        name = cut(" ".join(source.split()), MAX_SOURCE_NAME)
        left = len(item.also) - index - 1 + item.more
        tail = utf16_len(f" · +{left}") if left else 0
        size = utf16_len(f" {name}") + (3 if shown else 0)
        if not name or used + size + tail > budget:
            break
        shown.append(f'<a href="{escape(link)}">{escape(name)}</a>')
        used += size
    more = len(item.also) - len(shown) + item.more
    if more:
        if used + utf16_len(f" · +{more}") > budget:
            return ""
        shown.append(f"+{more}")
    return f"{escape(label)} " + " · ".join(shown) if shown else ""


def why(item: DigestItem) -> str:
    """ "🏷 negotiations, Europe · 🔎 grain": the tags and followed words it matched by."""
    tags = [cut(" ".join(t.split()), MAX_SOURCE_NAME) for t in item.tags[:MAX_WHY]]
    words = [cut(w, MAX_SOURCE_NAME) for w in item.words[: MAX_WHY - len(tags)]]
    parts = []
    if tags:
        parts.append(f"{TAG_MARK} " + ", ".join(tags))
    if words:
        parts.append(f"{WORD_MARK} " + ", ".join(words))
    return " · ".join(parts)


def _headline(item: DigestItem, labels: Labels, room: int) -> str:
    """The linked headline within ``room`` visible units (the "Update:" label unlinked)."""
    label = f"{labels.update} " if item.update else ""
    title = cut(item.title.strip(), room - utf16_len(label)) or cut(item.link, room)
    return f'{escape(label)}<a href="{escape(item.link)}">{escape(title)}</a>'


@lru_cache(maxsize=16_384)  # one article appears in thousands of digests of a pass
def render_item(item: DigestItem, limit: int, labels: Labels = ENGLISH) -> str:
    """One entry's block, at most ``limit`` visible units. Too long (a legacy row with a
    huge title, a source name of a thousand characters) it is shortened: the why goes
    first, then the "first reported" part, the summary is cut with "…", then the title.
    The source line takes at most a quarter, the "Also:" line a quarter."""
    also = _also_line(item, labels.also, limit // 4)
    meta = cut(item.meta.strip(), limit // 4)
    first = item.first.strip()
    if first and utf16_len(meta) + 3 + utf16_len(first) <= limit // 4:
        meta = f"{meta} · {first}"
    summary = item.summary.strip()
    # Visible: title "\n" summary "\n" meta [" · " why] ["\n" also]
    room = limit - utf16_len(meta) - 2 - (tg_len(also) + 1 if also else 0)
    headline = _headline(item, labels, min(room, limit // 2))
    room -= tg_len(headline)
    summary = cut(summary, room)
    reason = why(item)
    if reason and utf16_len(reason) + 3 > room - utf16_len(summary):
        reason = ""
    source = f"<i>{escape(meta)}</i>" if meta else ""
    if reason:
        source = f"{source} · {escape(reason)}" if source else escape(reason)
    lines = [f"<b>{headline}</b>", escape(summary), source, also]
    return "\n".join(line for line in lines if line)


@lru_cache(maxsize=16_384)
def render_line(item: DigestItem, limit: int, labels: Labels = ENGLISH) -> str:
    """The compact layout's entry: one line, the linked headline and the source line,
    within ``limit`` visible units (a line of a message that holds many)."""
    meta = cut(item.meta.strip(), limit // 4)
    headline = _headline(item, labels, limit - utf16_len(meta) - 3)
    return f"{headline} · <i>{escape(meta)}</i>" if meta else headline
