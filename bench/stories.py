"""Grouping quality: how `bot.stories.similarity.same_story` does on the labelled sets.

The labelled sets are bench/data/stories/*.json (README, "Stories", says who wrote each
and what was tuned on which). `make bench` prints their figures as `story_quality`
lines; tests/test_stories.py asserts them, and every test run's summary prints them
(tests/conftest.py). Nothing here is grouping: `bot.stories` groups, this measures it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import emit
from bot.stories.similarity import MIN_SHARED_KEYS, StoryText, candidate_keys, same_story

LABELLED = Path(__file__).resolve().parent / "data" / "stories"


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


def combined(qualities: Iterable[Quality]) -> Quality:
    """Several labelled sets' figures as one."""
    parts = list(qualities)
    return Quality(
        sum(q.pairs for q in parts),
        sum(q.true_positives for q in parts),
        sum(q.false_positives for q in parts),
        sum(q.false_negatives for q in parts),
    )


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
    "lead", "source"}, "b": {...}} (bench/data/stories/*.json; the source may be left
    out)."""
    if not isinstance(data, list):
        raise ValueError("expected a list of pairs")
    pairs = []
    for item in data:
        a, b = item["a"], item["b"]
        first = StoryText(a["title"], a["lead"], a.get("source", ""))
        second = StoryText(b["title"], b["lead"], b.get("source", ""))
        pairs.append((first, second, bool(item["same"])))
    return pairs


def labelled_sets() -> list[Path]:
    """Every labelled set, by name: each file of `LABELLED` counts."""
    return sorted(LABELLED.glob("*.json"))


def read_set(path: Path) -> list[tuple[StoryText, StoryText, bool]]:
    """The pairs of the labelled set at ``path``."""
    return labelled_pairs(json.loads(path.read_text(encoding="utf-8")))


def run_story_quality() -> None:
    """Issues 14 and 23: precision and recall of grouping on every labelled set
    (bench/data/stories: the pairs the first thresholds were set on, the blind set of
    same-template pairs, the held-out ones), and on all of them together."""
    found = []
    for path in labelled_sets():
        one = quality(read_set(path))
        found.append(one)
        _emit_quality(path.name, one)
    _emit_quality("all", combined(found))


def _emit_quality(name: str, found: Quality) -> None:
    emit(
        "story_quality",
        f"{name}: {found.pairs} labelled pairs, precision {found.precision:.3f}, "
        f"recall {found.recall:.3f}",
        labelled_set=name,
        pairs=found.pairs,
        precision=round(found.precision, 3),
        recall=round(found.recall, 3),
        false_positives=found.false_positives,
        false_negatives=found.false_negatives,
    )
