from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.articles.summary import cut_at_word, split_sentences, summary_line


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("One sentence. Two sentences.", "One sentence."),
        ("The U.S. economy grew. Then it shrank.", "The U.S. economy grew."),
        (
            "Mr. Smith arrived on Jan. 5 at the office. He left.",
            "Mr. Smith arrived on Jan. 5 at the office.",
        ),
        ("Growth was 2.5 percent this year. Next year less.", "Growth was 2.5 percent this year."),
        ('He said "Stop. Now." and left. Later more.', 'He said "Stop. Now." and left.'),
        ("“Is it over? No,” said the report. More.", "“Is it over? No,” said the report."),
        ("Dr. J. R. Doe spoke at St. Mary's. Then lunch.", "Dr. J. R. Doe spoke at St. Mary's."),
        ("Is it true? Yes. Really!", "Is it true?"),
        ("no capital after. this continues. Until here.", "no capital after. this continues."),
        ("Ends without a period", "Ends without a period"),
        ("First paragraph only.\n\nSecond paragraph.", "First paragraph only."),
    ],
)
def test_lead_sentence(body: str, expected: str) -> None:
    assert summary_line(body) == expected


def test_long_sentence_is_cut_at_a_word_with_an_ellipsis() -> None:
    sentence = "word " * 60 + "end."
    summary = summary_line(sentence)
    assert len(summary) <= 200
    assert summary.endswith("…")
    assert summary[:-1] == summary[:-1].rstrip()
    assert sentence.startswith(summary[:-1])
    assert summary[-2] == "d"  # ends on a whole word


def test_one_enormous_word_is_cut_inside() -> None:
    assert len(cut_at_word("x" * 500)) == 200


def test_split_sentences_keeps_text() -> None:
    assert split_sentences("Al be. Ce de! Ef ge? Ha") == ["Al be.", "Ce de!", "Ef ge?", "Ha"]


@given(st.text())
def test_summary_never_exceeds_the_limit(body: str) -> None:
    assert len(summary_line(body)) <= 200
