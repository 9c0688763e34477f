"""Grouping articles into stories: the pure decision, and its quality on labelled pairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bench.stories import (
    LABELLED,
    candidates,
    combined,
    labelled_pairs,
    labelled_sets,
    quality,
    read_set,
)
from bot.stories.events import calendar_dates
from bot.stories.similarity import (
    MAX_STORY_ARTICLES,
    WINDOW,
    Grouper,
    Known,
    StoryText,
    candidate_keys,
    same_story,
    similarity,
    story_window,
    weighted_stems,
)
from tests.auxil.data import STORY_FIGURES

PAIRS = LABELLED / "pairs.json"
# Written blind (by a writer who saw neither the code nor the other sets), half of it
# "same template, different event": the thresholds were set on it and on pairs.json.
TEMPLATES = LABELLED / "templates.json"
# Written after the first thresholds were set, by a writer who saw neither the pairs nor
# the code: never tune on it.
HELDOUT = LABELLED / "heldout.json"
# Written blind as TEMPLATES was, by another writer, and kept from the grouping's authors
# until the vetoes and thresholds were done: never tune on it.
BLIND_HELDOUT = LABELLED / "blind_heldout.json"
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)

QUAKE = StoryText(
    "Magnitude 6.1 earthquake hits eastern Turkey, at least 12 dead",
    "A magnitude 6.1 earthquake struck Turkey's eastern Malatya province early on Monday, "
    "killing at least 12 people, the disaster agency AFAD said.",
)
QUAKE_REWORDED = StoryText(
    "At least 12 killed as 6.1 quake strikes Malatya in eastern Turkey",
    "An earthquake of magnitude 6.1 hit Malatya province in eastern Turkey on Monday "
    "morning, killing at least 12, according to AFAD.",
)
OTHER_QUAKE = StoryText(
    "Magnitude 5.4 earthquake shakes northern Greece, no casualties reported",
    "A magnitude 5.4 earthquake struck near Thessaloniki in northern Greece on Monday "
    "evening, damaging old buildings but causing no casualties, officials said.",
)


def test_the_labelled_set_is_what_the_issue_asks_for() -> None:
    data = json.loads(PAIRS.read_text(encoding="utf-8"))
    assert len(data) >= 60
    assert sum(1 for d in data if d["same"]) == len(data) // 2
    kinds = {d["kind"] for d in data}
    assert {"rewording", "other-source", "paraphrase", "update"} <= kinds
    assert {"same-topic", "rounds"} <= kinds


def test_the_blind_set_is_what_the_issue_asks_for() -> None:
    data = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    assert len(data) >= 60
    templates = [d for d in data if d["kind"] == "template"]
    assert len(templates) >= len(data) // 2 and not any(d["same"] for d in templates)
    assert {d["lang"] for d in templates} == {"en", "uk"}
    assert {"rewording", "other-source", "update", "spelling"} <= {d["kind"] for d in data}


def test_precision_and_recall_on_the_labelled_pairs() -> None:
    """The README's figures. Precision is what matters most: a wrong merge hides a story
    from a reader, a missed one only repeats it. Recall stays at least what it was
    before the vetoes (0.500 here), which they made room to raise."""
    found = quality(read_set(PAIRS))
    print(f"stories: precision {found.precision:.3f}, recall {found.recall:.3f}")
    assert found.false_positives == 0, found
    assert found.recall >= 0.6, found


def test_precision_and_recall_on_the_held_out_pairs() -> None:
    found = quality(read_set(HELDOUT))
    print(f"stories, held out: precision {found.precision:.3f}, recall {found.recall:.3f}")
    assert found.pairs == 64
    assert found.precision >= 0.99, found
    assert found.recall >= 0.469, found  # what it was before the vetoes


@pytest.mark.parametrize(("path", "least_recall"), [(TEMPLATES, 0.3), (BLIND_HELDOUT, 0.44)])
def test_no_two_events_told_with_one_template_are_one_story(
    path: Path, least_recall: float
) -> None:
    """The blind sets' "same template, different event" pairs (earthquakes in two
    countries, strikes on two cities, results of two companies, decisions of two central
    banks, matches of two teams, meetings with two leaders): not one wrong merge."""
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs = labelled_pairs(data)
    merged = [
        item["id"]
        for item, (a, b, _) in zip(data, pairs, strict=True)
        if item["kind"] == "template" and candidates(a, b) and same_story(a, b)
    ]
    assert merged == []
    found = quality(pairs)
    assert found.false_positives == 0, found
    assert found.recall >= least_recall, found


def test_precision_on_all_labelled_sets_together(
    record_property: Callable[[str, object], None],
) -> None:
    """The issue's target: precision at least 0.99 on every labelled set together (the
    lead's last blind set, added to bench/data/stories, counts too). Each set's figures
    and all together go under the run's summary (conftest's STORY_FIGURES)."""
    sets = labelled_sets()
    assert {PAIRS, TEMPLATES, HELDOUT, BLIND_HELDOUT} <= set(sets)
    each = {path.name: quality(read_set(path)) for path in sets}
    found = combined(each.values())
    lines = [
        f"stories ({name}, {one.pairs} labelled pairs): "
        f"precision {one.precision:.3f}, recall {one.recall:.3f}"
        for name, one in each.items()
    ]
    lines.append(
        f"stories (all {len(each)} sets, {found.pairs} labelled pairs): "
        f"precision {found.precision:.3f}, recall {found.recall:.3f}"
    )
    record_property(STORY_FIGURES, lines)
    assert found.precision >= 0.99, found


def test_rewordings_are_one_story_and_another_event_is_not() -> None:
    assert same_story(QUAKE, QUAKE_REWORDED)
    assert not same_story(QUAKE, OTHER_QUAKE)
    assert set(candidate_keys(QUAKE)) & set(candidate_keys(QUAKE_REWORDED))


def test_stems_weigh_rare_words_and_follow_ukrainian_inflection() -> None:
    stems = weighted_stems("Зеленський зустрівся із Зеленського радниками у Києві", "uk")
    assert "зелен" in stems and "радни" in stems
    english = weighted_stems("Malatya on Monday: the 6.1 quake", "en")
    assert english["malat"] > english["monda"]
    assert "6.1" in english and "the" not in english


def test_different_calendar_dates_are_different_events() -> None:
    assert calendar_dates("talks on Nov. 4 and on 19 November") == {(11, 4), (11, 19)}
    assert calendar_dates("зустрілися 2 листопада") == {(11, 2)}
    assert calendar_dates("on May 40, the 300 December") == frozenset()
    first = StoryText("Talks in Abu Dhabi on a ceasefire", "Delegations met on Nov. 4.")
    second = StoryText("Talks in Abu Dhabi on a ceasefire", "Delegations met on Nov. 19.")
    assert similarity(first, second) > 0.9
    assert not same_story(first, second)
    assert same_story(first, StoryText(first.title, "Delegations met on 4 November."))


def test_grouper_joins_within_the_window_and_prefers_the_closest_story() -> None:
    known = [
        Known(1, 1, QUAKE, T0),
        Known(5, 5, OTHER_QUAKE, T0),
    ]
    grouper = Grouper(known)
    assert grouper.assign(7, QUAKE_REWORDED, T0 + timedelta(hours=3)) == 1
    # A new article joins the stories of the new articles before it, too.
    follow_up = StoryText(QUAKE_REWORDED.title, QUAKE.lead)
    assert grouper.assign(8, follow_up, T0 + timedelta(hours=5)) == 1
    late = Grouper(known)
    assert late.assign(9, QUAKE_REWORDED, T0 + WINDOW + timedelta(minutes=1)) == 9


@hypothesis_settings(max_examples=80, deadline=None)
@given(st.text(max_size=2000), st.text(max_size=2000))
def test_any_text_groups_without_raising(title: str, lead: str) -> None:
    text = StoryText(title, lead)
    keys = candidate_keys(text)
    assert all(-(2**63) <= key < 2**63 for key in keys)
    # An article is its own story, unless its title says nothing to compare.
    assert same_story(text, text) or not text.title_stems
    Grouper([Known(1, 1, text, T0)]).assign(2, text, T0)


def test_empty_html_and_right_to_left_text_make_no_candidates_by_accident() -> None:
    empty = StoryText("", "")
    assert candidate_keys(empty) == []
    assert not same_story(empty, empty)
    html = StoryText("<b>&amp;</b>", "<script>alert(1)</script>")
    rtl = StoryText("\u202eגשם כבד בתל אביב", "\u202eמזג האוויר")
    assert not same_story(html, rtl)


def test_a_story_takes_at_most_fifty_articles() -> None:
    """A feed of templated entries must not make one story every digest drags along."""
    grouper = Grouper([Known(1, 1, QUAKE, T0)], {1: MAX_STORY_ARTICLES - 1})
    assert grouper.assign(2, QUAKE_REWORDED, T0) == 1  # the fiftieth
    assert grouper.assign(3, QUAKE_REWORDED, T0) == 3  # a story of its own
    assert grouper.assign(4, QUAKE_REWORDED, T0) == 3


def test_the_story_window_stops_at_the_calendar_s_ends() -> None:
    """An article dated at the very first or last day Python can hold (a feed may say so)
    has a window that stops there instead of overflowing."""
    first = datetime.min.replace(tzinfo=UTC)
    last = datetime.max.replace(tzinfo=UTC)
    assert story_window(first) == (first, first + WINDOW)
    assert story_window(last) == (last - WINDOW, last)
    middle = datetime(2026, 12, 5, tzinfo=UTC)
    assert story_window(middle) == (middle - WINDOW, middle + WINDOW)
