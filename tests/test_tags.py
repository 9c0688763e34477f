from __future__ import annotations

import pytest

from bot.articles.plaintext import chat_title
from bot.articles.tags import hashtag, make_tag, normalize_tag, split_tag_list
from bot.subscriptions.service import suggest


@pytest.mark.parametrize(
    "spelling",
    [
        "United Kingdom",
        " united  kingdom ",
        "#United Kingdom",
        "UNITED\tKINGDOM",
        "# united kingdom",
    ],
)
def test_spellings_of_one_tag_share_a_key(spelling: str) -> None:
    assert normalize_tag(spelling) == "united kingdom"


def test_nfkc_and_casefold() -> None:
    assert normalize_tag("ＡＩ") == "ai"  # full-width letters
    assert normalize_tag("Straße") == normalize_tag("STRASSE")


def test_display_form_keeps_case_but_drops_hash_and_spaces() -> None:
    assert make_tag("  #United   Kingdom ").name == "United Kingdom"


def test_split_tag_list_drops_empties_and_repeats_first_spelling_wins() -> None:
    tags = split_tag_list("Economy, , economy ,#Europe,EUROPE")
    assert [(t.key, t.name) for t in tags] == [("economy", "Economy"), ("europe", "Europe")]


def test_hashtag() -> None:
    assert hashtag("United Kingdom") == "#United_Kingdom"
    assert hashtag("Open-Source AI") == "#Open_Source_AI"
    assert hashtag("!!!") == ""


def test_suggest_close_tags() -> None:
    vocabulary = {"negotiations": "negotiations", "economy": "Economy"}
    assert suggest("negotiatons", vocabulary) == ["negotiations"]
    assert suggest("zebra", vocabulary) == []


def test_unstorable_characters_are_dropped_from_tags_and_chat_titles() -> None:
    assert make_tag("\x00Sci\x00ence\x7f ").name == "Science"
    assert make_tag("\x00\x01").key == ""
    assert chat_title("Team\x00 chat") == "Team chat"
    assert chat_title("\x00") is None
    assert chat_title("Я" * 300) == "Я" * 255
