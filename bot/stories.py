"""Stories: whether two articles report the same event. Pure code, no database.

Two articles are the same story when their titles and lead sentences are near-duplicates:

1. **Words.** Title and lead become a set of word stems: NFKC, case-folded, stop words of
   English and Ukrainian dropped, each word cut to its first `STEM` letters (a crude
   stemmer that is enough for inflection in both languages: "Зеленський" and
   "Зеленського" share "зелен"), numbers kept whole.
2. **Candidates.** A MinHash of the stems (datasketch), cut into `BANDS` bands of `ROWS`
   values: articles sharing a band key are candidates (LSH). The keys are stored, so every
   process finds the same candidates in the database.
3. **Check.** A candidate is the same story when the stems overlap enough (`same_story`:
   the overlap coefficient and the titles' rapidfuzz token-set ratio, thresholds measured
   on tests/fixtures/stories/pairs.json; see README, "Stories").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from datasketch import MinHash
from rapidfuzz import fuzz

WINDOW = timedelta(hours=72)  # a story's articles are at most this far apart
STEM = 5
BANDS = 20
ROWS = 2
# Thresholds: see `same_story`; measured on the labelled pairs (tests/test_stories.py).
MIN_OVERLAP = 0.34
MIN_TITLE_RATIO = 40.0
STRONG_OVERLAP = 0.5

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'"})

_STOP = frozenset(
    """
    a about above after again against all also an and any are as at be been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our out over own same
    she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom
    why will with would you your says said say new after amid over says will year years
    day days week mon tue wed thu fri sat sun
    і й та а але або що як це цей ця ці той та те ті на в у з із зі до від по за під над
    про для при без через між біля після перед коли де чи не ні же б би бо так також
    вже ще його її їх він вона вони воно ми ви я ти свій своя своє свої який яка яке які
    котрий було був була були буде будуть є бути може можуть має мають сказав заявив
    заявила каже кажуть щодо понад близько року році роках рік день дні тиждень
    """.split()
)


def stems(text: str) -> list[str]:
    """The words of ``text`` that say something, each cut to its stem."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    words = _WORD.findall(text.replace("'", ""))
    return [w if w.isdigit() else w[:STEM] for w in words if w not in _STOP and len(w) > 1]


@dataclass(frozen=True)
class StoryText:
    """What grouping compares of an article: its title and lead sentence."""

    title: str
    lead: str

    @cached_property
    def stems(self) -> frozenset[str]:
        return frozenset(stems(f"{self.title}\n{self.lead}"))

    @cached_property
    def title_words(self) -> str:
        return " ".join(stems(self.title))


def overlap(a: StoryText, b: StoryText) -> float:
    """Shared stems over the smaller set's: 1.0 when one article's words are all in the
    other's (a short wire item and a long report of it)."""
    if not a.stems or not b.stems:
        return 0.0
    return len(a.stems & b.stems) / min(len(a.stems), len(b.stems))


def title_ratio(a: StoryText, b: StoryText) -> float:
    """rapidfuzz's token-set ratio of the two titles' stems, 0–100."""
    return float(fuzz.token_set_ratio(a.title_words, b.title_words))


def same_story(a: StoryText, b: StoryText) -> bool:
    """Whether ``a`` and ``b`` report the same event: their stems overlap by at least
    `MIN_OVERLAP` and their titles are alike (`MIN_TITLE_RATIO`), or the stems overlap by
    `STRONG_OVERLAP` whatever the titles say."""
    shared = overlap(a, b)
    if shared >= STRONG_OVERLAP:
        return True
    return shared >= MIN_OVERLAP and title_ratio(a, b) >= MIN_TITLE_RATIO


_TEMPLATE = MinHash(num_perm=BANDS * ROWS, seed=1)


def band_keys(text: StoryText) -> list[int]:
    """The article's LSH keys: one signed 64-bit key per band of its MinHash. Articles
    with any key in common are compared with `same_story`; none: no key."""
    if not text.stems:
        return []
    minhash = MinHash(num_perm=BANDS * ROWS, seed=1, permutations=_TEMPLATE.permutations)
    minhash.update_batch(sorted(s.encode() for s in text.stems))
    values = minhash.hashvalues
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True)
class Known:
    """A stored article grouping may join: its story and what is compared of it."""

    article_id: int
    story_id: int
    text: StoryText
    published_at: datetime


@dataclass
class Grouper:
    """Assigns stories to new articles, one at a time, against the stored candidates and
    the new articles before them. ``known`` are the stored articles sharing a key with any
    of the new ones."""

    known: Iterable[Known] = ()
    _by_key: dict[int, list[Known]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.known:
            for key in band_keys(item.text):
                self._by_key.setdefault(key, []).append(item)

    def assign(self, article_id: int, text: StoryText, published_at: datetime) -> int:
        """The story of the new article ``article_id``: the story of the most similar
        candidate within `WINDOW` that `same_story` accepts, or a story of its own."""
        keys = band_keys(text)
        best: tuple[float, int] | None = None
        seen: set[int] = set()
        for key in keys:
            for item in self._by_key.get(key, ()):
                if item.article_id in seen or item.article_id == article_id:
                    continue
                seen.add(item.article_id)
                if abs(item.published_at - published_at) > WINDOW:
                    continue
                if same_story(text, item.text):
                    score = overlap(text, item.text)
                    if best is None or (score, -item.story_id) > (best[0], -best[1]):
                        best = (score, item.story_id)
        story_id = best[1] if best else article_id
        mine = Known(article_id, story_id, text, published_at)
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


def quality(pairs: Iterable[tuple[StoryText, StoryText, bool]]) -> Quality:
    """`same_story` against the labels of ``pairs`` (a, b, whether the same story)."""
    count = tp = fp = fn = 0
    for a, b, same in pairs:
        count += 1
        found = same_story(a, b)
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
        pairs.append(
            (StoryText(a["title"], a["lead"]), StoryText(b["title"], b["lead"]), bool(item["same"]))
        )
    return pairs
