"""Stories: whether two articles report the same event. Pure code, no database.

Two articles are the same story when their titles and lead sentences say the same
distinctive things:

1. **Words.** Title and lead become word stems: NFKC, case-folded, stop words of English
   and Ukrainian dropped, each word cut to its first `STEM` letters (a crude stemmer that
   is enough for inflection in both languages: "Зеленський" and "Зеленського" share
   "зелен"), numbers kept whole. Each stem weighs by how rare its word is in the language
   (wordfreq's Zipf frequency): "Malatya" counts for much, "Monday" for little.
2. **Candidates.** Each distinctive (rare) stem is a key, an inverted index kept in
   the database so that every process finds the same candidates: articles sharing a key
   are compared, unless more than `MAX_KEY_ARTICLES` hold it (a word of every day's
   news says nothing about which story).
3. **Check.** `same_story`, the one function that decides a pair (the seam where a
   better model can plug in): no veto of bot.stories.events (different dates, days, places,
   names or key figures: two events told with one template), not two articles of one
   source unless the later is an explicit update, and the weighted share of words in
   common, measured both ways (a long article listing many events does not contain the
   short report of one), reaching thresholds measured on the labelled sets.
4. **Stories as a whole.** `Grouper`: a new article joins a story only when it is the
   same story as the story's first report, or as most of its members: a story cannot
   drift from one event to another through a chain of near neighbours.

See README, "Stories".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from operator import attrgetter

from bot.stories.events import Event, calendar_dates, veto
from storage.folding import APOSTROPHES

WINDOW = timedelta(hours=72)  # a story's articles are at most this far apart
STEM = 5
# `same_story`'s thresholds, measured on the labelled sets pairs.json and templates.json
# (bench/data/stories; tests/test_stories.py): the whole text alike, or the titles alike
# and the whole text somewhat; and either way each title mostly found in the other article.
MIN_SIMILARITY = 0.7
MIN_TITLE_SIMILARITY = 0.38
MIN_SIMILARITY_WITH_TITLE = 0.28
MIN_TITLE_COVERAGE = 0.3
# A word this rare (weight: 7 minus its Zipf frequency, 0.5 to 7) is distinctive: only
# distinctive stems are candidate keys, so that common words make no candidates.
DISTINCTIVE = 3.0
MIN_DISTINCTIVE = 3  # fewer distinctive stems than this: every stem is a key
# Candidates share at least this many keys.
MIN_SHARED_KEYS = 1
# A story this big takes no more articles: a new one like them starts its own (a feed
# of templated entries must not make one story every digest drags along).
MAX_STORY_ARTICLES = 50
# A key more stored articles than this hold says nothing about which story an article
# reports (a word of every day's news): it makes no candidates.
MAX_KEY_ARTICLES = 30

_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")
_CYRILLIC = re.compile("[а-яіїєґ]")
# Any apostrophe of the family (storage.folding's, which search and words share) is
# dropped: "обʼєкт", "об'єкт" and "об’єкт" are one stem, and so are "Britain's"/"Britains".
_APOSTROPHES = str.maketrans(dict.fromkeys(APOSTROPHES, ""))
_STOP = frozenset(
    """
    a about above after again against all also an and any are as at be been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our out over own same
    she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom
    why will with would you your says said say new amid year years day days week
    і й та а але або що як це цей ця ці той те ті на в у з із зі до від по за під над
    про для при без через між біля після перед коли де чи не ні же б би бо так також
    вже ще його її їх він вона вони воно ми ви я ти свій своя своє свої який яка яке які
    котрий було був була були буде будуть є бути може можуть має мають сказав заявив
    заявила каже кажуть щодо понад близько року році роках рік день дні тиждень
    """.split()
)


def language_of(text: str) -> str:
    """ "uk" for Cyrillic text, else "en": the two languages the weights know."""
    return "uk" if _CYRILLIC.search(text) else "en"


@lru_cache(maxsize=65_536)
def weight(word: str, language: str) -> float:
    """How much sharing ``word`` says: 7 minus its Zipf frequency (a word used once per
    billion words has 0), kept within 0.5 and 7."""
    # Imported on first use: wordfreq and what it loads cost every process 0.15 s of
    # start-up, and most processes (a worker, `newsbot db upgrade`) never group.
    from wordfreq import zipf_frequency

    return min(7.0, max(0.5, 7.0 - zipf_frequency(word, language, wordlist="small")))


def weighted_stems(text: str, language: str) -> dict[str, float]:
    """The stems of ``text`` that say something, each with its rarest word's weight."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    stems: dict[str, float] = {}
    for word in _WORD.findall(folded):
        if word in _STOP or len(word) < 2:
            continue
        stem = word if word[0].isdigit() else word[:STEM]
        stems[stem] = max(stems.get(stem, 0.0), weight(word, language))
    return stems


# A stored article is a candidate in batch after batch of an import (some twelve times in
# the benchmark's): 8,192 texts of about 2.4 kB each hold an import's window, where 4,096
# made a stored article's stems be worked out again more often than a new one's.
@lru_cache(maxsize=8_192)
def story_text(title: str, lead: str, source: str = "", link: str | None = None) -> StoryText:
    """The `StoryText` of an article, its stems worked out once."""
    return StoryText(title, lead, source, link)


_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class StoryText:
    """What grouping compares of an article: its title and lead sentence, and its source
    and link (two articles of one source are one story only as an explicit update)."""

    title: str
    lead: str
    source: str = ""
    link: str | None = None

    @cached_property
    def event(self) -> Event:
        """What identifies the event the article reports (bot.stories.events)."""
        return Event(self.title, self.lead)

    @cached_property
    def source_key(self) -> str:
        """The source as a reader tells sources apart: "Reuters" and " REUTERS" are one."""
        return _SPACES.sub(" ", self.source).strip().casefold()

    @cached_property
    def language(self) -> str:
        return language_of(f"{self.title} {self.lead}")

    @cached_property
    def stems(self) -> dict[str, float]:
        return weighted_stems(f"{self.title}\n{self.lead}", self.language)

    @cached_property
    def total_weight(self) -> float:
        return sum(self.stems.values())

    @cached_property
    def title_stems(self) -> dict[str, float]:
        return weighted_stems(self.title, self.language)

    @cached_property
    def dates(self) -> frozenset[tuple[int, int]]:
        return calendar_dates(f"{self.title} {self.lead}")

    @cached_property
    def distinctive(self) -> list[str]:
        rare = [s for s, w in self.stems.items() if w >= DISTINCTIVE]
        return sorted(rare if len(rare) >= MIN_DISTINCTIVE else self.stems)


def similarity(a: StoryText, b: StoryText) -> float:
    """The weight of the stems both share over the mean of the two articles' weights
    (Dice): symmetric, so a short report contained in a long article that lists five
    events scores about a third, not 1.0 as it did over the lighter article's weight."""
    total = a.total_weight + b.total_weight
    if not total:
        return 0.0
    # A loop, not sum() over a generator: the hottest line of an import (each new
    # article meets some forty candidates), a third faster, and the same float as
    # Python 3.11's sum() (``a``'s order, one addition at a time).
    theirs = b.stems
    shared = 0.0
    for stem, mine in a.stems.items():
        if stem in theirs:
            other = theirs[stem]
            shared += mine if mine < other else other
    return 2 * shared / total


def title_coverage(a: StoryText, b: StoryText) -> float:
    """How much of ``a``'s title weight ``b`` carries: what ``a`` is about, found in
    ``b``. A magnet's title of five events is a fifth found in the report of one."""
    total = sum(a.title_stems.values())
    found = sum(min(w, b.stems[s]) for s, w in a.title_stems.items() if s in b.stems)
    return found / total if total else 0.0


def title_similarity(a: StoryText, b: StoryText) -> float:
    """How much of each title's weight the other article carries, both ways."""
    found = sum(min(w, b.stems[s]) for s, w in a.title_stems.items() if s in b.stems)
    found += sum(min(w, a.stems[s]) for s, w in b.title_stems.items() if s in a.stems)
    total = sum(a.title_stems.values()) + sum(b.title_stems.values())
    return found / total if total else 0.0


def one_source(a: StoryText, b: StoryText) -> bool:
    """Two articles of one source that are not one story: a newsroom does not report
    its own event twice, unless the later article is an explicit update of the earlier
    (the same link, or a title marked "UPDATE", "Updated", "Оновлено", "Доповнено")."""
    if not a.source_key or a.source_key != b.source_key:
        return False
    same_link = a.link is not None and a.link == b.link
    return not (same_link or a.event.update or b.event.update)


def why_not(a: StoryText, b: StoryText) -> str | None:
    """Why ``a`` and ``b`` are not one story, or None when they are: "words" (too little
    said alike), "same source", or a veto of bot.stories.events ("dates", "countries",
    "percent"...). `same_story` is this being None. The words are weighed first: most
    candidates share a rare word and little else, and weighing them is cheaper than
    reading names, places and figures."""
    alike = similarity(a, b)
    if alike < MIN_SIMILARITY_WITH_TITLE:
        return "words"
    if min(title_coverage(a, b), title_coverage(b, a)) < MIN_TITLE_COVERAGE:
        return "words"
    if alike < MIN_SIMILARITY and title_similarity(a, b) < MIN_TITLE_SIMILARITY:
        return "words"
    if one_source(a, b):
        return "same source"
    return veto(a.event, b.event)


def same_story(a: StoryText, b: StoryText) -> bool:
    """Whether ``a`` and ``b`` report the same event: the one function that decides a
    pair (see the module's documentation). A better model plugs in here, given both
    texts and their sources and links; the vetoes stay in front of it."""
    return why_not(a, b) is None


def candidate_keys(text: StoryText) -> list[int]:
    """The article's candidate keys: a signed 64-bit hash of each distinctive stem.
    Articles sharing `MIN_SHARED_KEYS` of them are compared with `same_story`."""
    return [
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big", signed=True)
        for s in text.distinctive
    ]


@dataclass(frozen=True)
class Known:
    """A stored article grouping may join: its story, what is compared of it, and its
    candidate keys (those it shares with the new articles are enough)."""

    article_id: int
    story_id: int
    text: StoryText
    published_at: datetime
    keys: tuple[int, ...] = ()

    @property
    def order(self) -> tuple[datetime, int]:
        """A story's first report is its earliest article."""
        return (self.published_at, self.article_id)


_ORDER = attrgetter("published_at", "article_id")  # `Known.order`, in C
Decide = Callable[[StoryText, StoryText], bool]


def story_window(at: datetime) -> tuple[datetime, datetime]:
    """The earliest and the latest time of an article one story with one of ``at``:
    within `WINDOW` of it (the limits of the calendar where it reaches them)."""
    try:
        earliest = at - WINDOW
    except OverflowError:
        earliest = datetime.min.replace(tzinfo=at.tzinfo)
    try:
        latest = at + WINDOW
    except OverflowError:
        latest = datetime.max.replace(tzinfo=at.tzinfo)
    return earliest, latest


@dataclass
class Grouper:
    """Assigns stories to new articles, one at a time, against the stored candidates and
    the new articles before them. ``known`` are the stored articles that share keys with
    the new ones, ``members`` the other stored members of their stories (a story is
    judged as a whole, by its first report and its members, whatever keys they hold;
    `promising` tells which stories' members are worth reading), ``sizes`` the stored
    stories' sizes, ``decide`` the pair decision."""

    known: Iterable[Known] = ()
    sizes: dict[int, int] = field(default_factory=dict)
    members: Iterable[Known] = ()
    decide: Decide = field(default=same_story)
    _by_key: dict[int, list[Known]] = field(default_factory=dict)  # stored, by key
    _new_by_key: dict[int, list[Known]] = field(default_factory=dict)  # assigned here
    _stories: dict[int, list[Known]] = field(default_factory=dict)
    _seen: set[int] = field(default_factory=set)
    _decided: dict[tuple[int, int], bool] = field(default_factory=dict)
    _promised: dict[int, set[int]] = field(default_factory=dict)  # article: stories

    def __post_init__(self) -> None:
        for item in self.known:
            for key in item.keys or candidate_keys(item.text):
                self._by_key.setdefault(key, []).append(item)
        self.add_members([*self.known, *self.members], self.sizes)

    def add_members(self, members: Iterable[Known], sizes: dict[int, int]) -> None:
        """Stored members of the candidates' stories, and those stories' sizes."""
        touched = set()
        for item in members:
            if item.article_id not in self._seen:
                self._seen.add(item.article_id)
                self._stories.setdefault(item.story_id, []).append(item)
                touched.add(item.story_id)
        self.sizes.update(sizes)
        for story_id in touched:
            story = self._stories[story_id]
            story.sort(key=_ORDER)
            self.sizes[story_id] = max(self.sizes.get(story_id, 0), len(story))

    def story(self, story_id: int) -> list[Known]:
        """The members of a story known to the grouper, first report first."""
        return list(self._stories.get(story_id, ()))

    def _alike(self, article_id: int, text: StoryText, at: datetime, member: Known) -> bool:
        """The pair decision, within `WINDOW`, made once per pair."""
        pair = (article_id, member.article_id)
        found = self._decided.get(pair)
        if found is None:
            near = abs(member.published_at - at) <= WINDOW
            found = self._decided[pair] = near and self.decide(text, member.text)
        return found

    def _candidates(
        self, index: dict[int, list[Known]], article_id: int, keys: list[int], at: datetime
    ) -> list[Known]:
        """The articles of ``index`` sharing keys with the new one, within `WINDOW`."""
        needed = min(MIN_SHARED_KEYS, len(keys))
        earliest, latest = story_window(at)
        shared: dict[int, int] = {}
        found: list[Known] = []
        for key in keys:
            holders = index.get(key)
            if not holders or len(holders) > MAX_KEY_ARTICLES:
                continue
            for item in holders:
                other = item.article_id
                count = shared[other] = shared.get(other, 0) + 1
                if (
                    count == needed
                    and other != article_id
                    and earliest <= item.published_at <= latest
                ):
                    found.append(item)
        return found

    def promising(
        self, articles: Iterable[tuple[int, StoryText, datetime, list[int]]]
    ) -> set[int]:
        """The stories of the known articles that are the same story as one of the new
        ``articles`` (id, text, published, keys): only these can take one, so only their
        members need reading. Their decisions are kept for `assign`."""
        stories: set[int] = set()
        decided, decide = self._decided, self.decide
        for article_id, text, at, keys in articles:
            mine = self._promised[article_id] = set()
            # `_alike` without its look-up and window: each candidate is new to this
            # article and within `WINDOW` of it.
            for item in self._candidates(self._by_key, article_id, keys, at):
                if item.story_id not in mine:
                    alike = decided[article_id, item.article_id] = decide(text, item.text)
                    if alike:
                        mine.add(item.story_id)
            stories |= mine
        return stories

    def _matches(
        self, article_id: int, text: StoryText, at: datetime, story_id: int
    ) -> float | None:
        """How alike the new article is to the story (its most alike member), when it is
        the same story as the story's first report or as most of its members; None when
        it is not."""
        members = self._stories.get(story_id, [])
        if not members:
            return None
        first, rest = members[0], members[1:]
        if self._alike(article_id, text, at, first):
            matched = [first, *(m for m in rest if self._alike(article_id, text, at, m))]
        else:
            needed = len(members) // 2 + 1  # more than half, the first not among them
            matched = []
            for left, member in enumerate(rest):
                if len(matched) + len(rest) - left < needed:
                    return None
                if self._alike(article_id, text, at, member):
                    matched.append(member)
            if len(matched) < needed:
                return None
        return max(similarity(text, m.text) for m in matched)

    def assign(
        self,
        article_id: int,
        text: StoryText,
        published_at: datetime,
        keys: list[int] | None = None,
    ) -> int:
        """The story of the new article ``article_id``: of the stories it shares keys
        with and matches as a whole (`_matches`), the one with the most alike member;
        or a story of its own."""
        keys = candidate_keys(text) if keys is None else keys
        # The stored stories `promising` found for it, or all it shares keys with; and
        # those of the new articles before it.
        stories = self._promised.pop(article_id, None)
        if stories is None:
            stored = self._candidates(self._by_key, article_id, keys, published_at)
            stories = {item.story_id for item in stored}
        fresh = self._candidates(self._new_by_key, article_id, keys, published_at)
        stories |= {item.story_id for item in fresh}
        best: tuple[float, int] | None = None
        for story_id in sorted(stories):
            if self.sizes.get(story_id, 1) >= MAX_STORY_ARTICLES:
                continue
            score = self._matches(article_id, text, published_at, story_id)
            if score is not None and (best is None or score > best[0]):
                best = (score, story_id)
        story_id = best[1] if best else article_id
        self.sizes[story_id] = self.sizes.get(story_id, 0) + 1
        mine = Known(article_id, story_id, text, published_at, tuple(keys))
        for key in keys:
            self._new_by_key.setdefault(key, []).append(mine)
        self._seen.add(article_id)
        members = self._stories.setdefault(story_id, [])
        insort(members, mine, key=_ORDER)
        return story_id
