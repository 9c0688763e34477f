"""One reader's entries: which report shows each selected story, whether a story they had
is news again, why each entry came, and its source line in their language and timezone.

Pure code: no Telegram, no database. Made once per delivery batch (`Entries`) and asked
per reader; what readers share (the same story, language, tags and layout) is made once.

The rules (README, "How delivery works"):
- An entry shows the report selection chose for the reader: the newest one that matches
  their tags or followed words and that they have not had. Never a report that matches
  nothing they follow, whatever else the story holds.
- A story they had none of shows that report with, when it is not the story's first,
  "first reported by X, N h ago" in its source line.
- A story they had comes back as "Update:" only when that report tells something their
  reports of it did not (bot.novelty). Otherwise nothing is shown: the story's new
  reports are taken into their ledger silently, and their sources join the entry's
  "Also:" line the next time the story comes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from bot.delivery.digest import Selection
from bot.delivery.entry import MAX_WHY, DigestItem, Labels, cut
from bot.i18n import translator
from bot.stories.novelty import adds_news
from bot.subscriptions.schedule import tzinfo_for
from bot.texts import digest as digest_texts

# An entry names this many of its story's other sources; the rest are "+N".
MAX_NAMED_SOURCES = 2
BUTTON_TITLE = 32  # characters of the headline in a "Show all N reports" button


class Report(Protocol):
    """An article of a story, as an entry shows it (storage.stories.Member is one)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Reader:
    """What an entry needs to know of the chat it goes to."""

    language: str
    timezone: str
    tags: AbstractSet[int] = frozenset()  # the tags it follows
    words: AbstractSet[int] = frozenset()  # the words it follows
    show_tags: bool = True


@dataclass(slots=True)
class Plan:
    """A reader's entries, and the articles to take into their ledger without an entry."""

    items: list[DigestItem] = field(default_factory=list)
    silent: list[int] = field(default_factory=list)

    @property
    def updates(self) -> int:
        return sum(item.update for item in self.items)


@lru_cache(maxsize=65_536)
def _ago(language: str, zone: str, when: datetime, now: datetime) -> str:
    return digest_texts.ago(translator(language), when, now, tzinfo_for(zone))


# One object per distinct entry, across batches too: the renderers' caches go by identity
# (bot.delivery.entry), so an entry a pass's batches share is rendered once a pass.
_entry = lru_cache(maxsize=16_384)(DigestItem)


@lru_cache(maxsize=64)
def labels(language: str) -> Labels:
    t = translator(language)
    return Labels(update=t._(digest_texts.UPDATE), also=t._(digest_texts.ALSO))


@dataclass
class Entries:
    """The entries of one batch's readers. ``members`` are the selected stories' reports,
    earliest first; ``tags`` and ``words`` the (id, name) of the tags and followed words
    each shown report has; ``link(report)`` its link; ``story_link(story id)`` the deep
    link that lists the story's reports."""

    members: dict[int, Sequence[Report]]
    _: KW_ONLY
    tags: dict[int, list[tuple[int, str]]]
    words: dict[int, list[tuple[int, str]]]
    link: Callable[[Report], str]
    story_link: Callable[[int], str]
    now: datetime
    _news: dict[tuple[int, frozenset[int]], bool] = field(init=False, default_factory=dict)
    _items: dict[tuple[object, ...], DigestItem] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        members = self.members
        self._by_id = {r.id: r for reports in members.values() for r in reports}
        self._story_of = {r.id: s for s, reports in members.items() for r in reports}
        # Whether an entry shown by the report says a date (it or the story's first report
        # is a day old or more), which depends on the reader's timezone; a time does not.
        day_ago = self.now - timedelta(days=1)
        self._dated = {
            r.id: min(r.published_at, reports[0].published_at) <= day_ago
            for reports in members.values()
            for r in reports
        }

    def plan(self, selection: Selection, reader: Reader, had: AbstractSet[int]) -> Plan:
        """The reader's entries for ``selection``; ``had``: which of the stories'
        reports their ledger holds."""
        plan = Plan()
        for article_id, story_id in zip(selection.article_ids, selection.story_ids, strict=True):
            if self._story_of.get(article_id) != story_id:
                continue  # deleted since the pass's index was read: it comes next time
            shown, reports = self._by_id[article_id], self.members[story_id]
            mine = frozenset(r.id for r in reports if r.id in had) if had else frozenset()
            update = bool(mine) or story_id in selection.updates
            if mine and not self._is_news(shown, mine):
                plan.silent.extend(r.id for r in reports if r.id not in had)
                continue
            tags, words = self._why(article_id, reader) if reader.show_tags else ((), ())
            zone = reader.timezone if self._dated[article_id] else None
            key = (article_id, update, reader.language, tags, words, zone)
            item = self._items.get(key)
            if item is None:
                item = self._make(shown, story_id, update, reader, tags, words)
                self._items[key] = item
            plan.items.append(item)
        return plan

    def _is_news(self, shown: Report, mine: frozenset[int]) -> bool:
        key = (shown.id, mine)
        if key not in self._news:
            had = [(self._by_id[a].title, self._by_id[a].summary) for a in sorted(mine)]
            self._news[key] = adds_news((shown.title, shown.summary), had)
        return self._news[key]

    def _why(self, article_id: int, reader: Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The reader's tags and followed words the article has, two at most."""
        mine = reader.tags
        tags = tuple([n for t, n in self.tags.get(article_id, ()) if t in mine][:MAX_WHY])
        if len(tags) == MAX_WHY or not reader.words:
            return tags, ()
        followed = reader.words
        words = [k for w, k in self.words.get(article_id, ()) if w in followed]
        return tags, tuple(words[: MAX_WHY - len(tags)])

    def _make(
        self,
        shown: Report,
        story_id: int,
        update: bool,
        reader: Reader,
        tags: tuple[str, ...],
        words: tuple[str, ...],
    ) -> DigestItem:
        t = translator(reader.language)
        reports = self.members[story_id]
        when = _ago(reader.language, reader.timezone, shown.published_at, self.now)
        first = ""
        if not update and reports[0] is not shown:
            earliest = reports[0]
            said = _ago(reader.language, reader.timezone, earliest.published_at, self.now)
            first = digest_texts.first_reported(t, earliest.source, said)
        # Sources are told apart as a reader would: "Reuters" and "REUTERS" are one.
        others: dict[str, tuple[str, str]] = {}
        mine = shown.source.casefold()
        for report in reports:
            key = report.source.casefold()
            if key != mine and key not in others:
                others[key] = (report.source, self.link(report))
        also = tuple(others.values())
        button = None
        if also:
            title = cut(" ".join(shown.title.split()), BUTTON_TITLE)
            text = digest_texts.show_all(t, len(reports), title)
            button = (text, self.story_link(story_id))
        return _entry(
            article_id=shown.id,
            title=shown.title,
            summary=shown.summary,
            link=self.link(shown),
            meta=digest_texts.source_line(shown.source, when),
            first=first,
            tags=tags,
            words=words,
            also=also[:MAX_NAMED_SOURCES],
            more=max(0, len(also) - MAX_NAMED_SOURCES),
            update=update,
            ledger_ids=tuple(r.id for r in reports),
            button=button,
        )
