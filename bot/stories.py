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
3. **Check.** `same_story`: the weighted share of words in common, over the whole text
   or the titles, must reach thresholds measured on tests/fixtures/stories/pairs.json;
   and two articles that give different calendar dates ("Nov. 4", "19 листопада") for
   what they report are different stories (two rounds of talks). See README, "Stories".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache

from storage.folding import APOSTROPHES

WINDOW = timedelta(hours=72)  # a story's articles are at most this far apart
STEM = 5
# `same_story`'s thresholds, measured on the labelled pairs (tests/test_stories.py):
# the whole text alike, or the titles alike and the whole text somewhat.
MIN_SIMILARITY = 0.6
MIN_TITLE_SIMILARITY = 0.52
MIN_SIMILARITY_WITH_TITLE = 0.32
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
_MONTHS = {
    **dict.fromkeys(("jan", "january"), 1), **dict.fromkeys(("feb", "february"), 2),
    **dict.fromkeys(("mar", "march"), 3), **dict.fromkeys(("apr", "april"), 4),
    "may": 5, **dict.fromkeys(("jun", "june"), 6), **dict.fromkeys(("jul", "july"), 7),
    **dict.fromkeys(("aug", "august"), 8), **dict.fromkeys(("sep", "sept", "september"), 9),
    **dict.fromkeys(("oct", "october"), 10), **dict.fromkeys(("nov", "november"), 11),
    **dict.fromkeys(("dec", "december"), 12),
    "січня": 1, "лютого": 2, "березня": 3, "квітня": 4, "травня": 5, "червня": 6,
    "липня": 7, "серпня": 8, "вересня": 9, "жовтня": 10, "листопада": 11, "грудня": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})\b")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\b")

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


def calendar_dates(text: str) -> frozenset[tuple[int, int]]:
    """The (month, day) dates ``text`` names: "Nov. 4", "4 November", "4 листопада"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    found = {(_MONTHS[m], int(d)) for m, d in _MONTH_DAY.findall(folded)}
    found |= {(_MONTHS[m], int(d)) for d, m in _DAY_MONTH.findall(folded)}
    return frozenset((m, d) for m, d in found if 1 <= d <= 31)


@lru_cache(maxsize=4_096)  # a stored article is a candidate in batch after batch
def story_text(title: str, lead: str) -> StoryText:
    """The `StoryText` of a title and lead, its stems worked out once."""
    return StoryText(title, lead)


@dataclass(frozen=True)
class StoryText:
    """What grouping compares of an article: its title and lead sentence."""

    title: str
    lead: str

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
    """The weight of the stems both share over the lighter article's total: 1.0 when
    one article's words are all in the other's (a short wire item and a long report)."""
    total = min(a.total_weight, b.total_weight)
    if not total:
        return 0.0
    mine, theirs = a.stems, b.stems
    shared = sum(min(w, theirs[s]) for s, w in mine.items() if s in theirs)
    return shared / total


def title_similarity(a: StoryText, b: StoryText) -> float:
    """How much of each title's weight the other article carries, both ways."""
    found = sum(min(w, b.stems[s]) for s, w in a.title_stems.items() if s in b.stems)
    found += sum(min(w, a.stems[s]) for s, w in b.title_stems.items() if s in a.stems)
    total = sum(a.title_stems.values()) + sum(b.title_stems.values())
    return found / total if total else 0.0


def other_dates(a: StoryText, b: StoryText) -> bool:
    """Both name calendar dates, and none in common: two events, not one."""
    return bool(a.dates and b.dates and not a.dates & b.dates)


def same_story(a: StoryText, b: StoryText) -> bool:
    """Whether ``a`` and ``b`` report the same event (see the module's documentation)."""
    if other_dates(a, b):
        return False
    alike = similarity(a, b)
    if alike >= MIN_SIMILARITY:
        return True
    return alike >= MIN_SIMILARITY_WITH_TITLE and title_similarity(a, b) >= MIN_TITLE_SIMILARITY


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


@dataclass
class Grouper:
    """Assigns stories to new articles, one at a time, against the stored candidates and
    the new articles before them."""

    known: Iterable[Known] = ()
    sizes: dict[int, int] = field(default_factory=dict)  # articles per known story
    _by_key: dict[int, list[Known]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.known:
            for key in item.keys or candidate_keys(item.text):
                self._by_key.setdefault(key, []).append(item)

    def assign(
        self,
        article_id: int,
        text: StoryText,
        published_at: datetime,
        keys: list[int] | None = None,
    ) -> int:
        """The story of the new article ``article_id``: the story of the most similar
        candidate within `WINDOW` that `same_story` accepts, or a story of its own."""
        keys = candidate_keys(text) if keys is None else keys
        shared: dict[int, int] = {}
        candidates: dict[int, Known] = {}
        for key in keys:
            holders = self._by_key.get(key, ())
            if len(holders) > MAX_KEY_ARTICLES:
                continue
            for item in holders:
                shared[item.article_id] = shared.get(item.article_id, 0) + 1
                candidates[item.article_id] = item
        best: tuple[float, int] | None = None
        for other, count in shared.items():
            item = candidates[other]
            if (
                count < min(MIN_SHARED_KEYS, len(keys))
                or other == article_id
                or abs(item.published_at - published_at) > WINDOW
                or self.sizes.get(item.story_id, 1) >= MAX_STORY_ARTICLES
                or not same_story(text, item.text)
            ):
                continue
            score = similarity(text, item.text)
            if best is None or (score, -item.story_id) > (best[0], -best[1]):
                best = (score, item.story_id)
        story_id = best[1] if best else article_id
        self.sizes[story_id] = self.sizes.get(story_id, 0) + 1
        mine = Known(article_id, story_id, text, published_at, tuple(keys))
        for key in keys:
            self._by_key.setdefault(key, []).append(mine)
        return story_id


@dataclass(frozen=True, slots=True)
class Quality:
    """How `same_story` does on labelled pairs."""

    pairs: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def candidates(a: StoryText, b: StoryText) -> bool:
    """Whether grouping would compare ``a`` and ``b`` at all: enough keys in common."""
    keys = candidate_keys(a)
    return len(set(keys) & set(candidate_keys(b))) >= min(MIN_SHARED_KEYS, len(keys))


def quality(pairs: Iterable[tuple[StoryText, StoryText, bool]]) -> Quality:
    """Grouping (keys in common, then `same_story`) against the labels of ``pairs``
    (a, b, whether the same story)."""
    count = tp = fp = fn = 0
    for a, b, same in pairs:
        count += 1
        found = candidates(a, b) and same_story(a, b)
        tp += found and same
        fp += found and not same
        fn += same and not found
    return Quality(count, tp, fp, fn)


def labelled_pairs(data: object) -> list[tuple[StoryText, StoryText, bool]]:
    """The pairs of a labelled set's JSON: a list of {"same": bool, "a": {"title",
    "lead"}, "b": {...}} (tests/fixtures/stories/pairs.json)."""
    if not isinstance(data, list):
        raise ValueError("expected a list of pairs")
    pairs = []
    for item in data:
        a, b = item["a"], item["b"]
        first, second = StoryText(a["title"], a["lead"]), StoryText(b["title"], b["lead"])
        pairs.append((first, second, bool(item["same"])))
    return pairs
