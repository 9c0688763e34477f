"""The button codec: every kind round-trips, fits Telegram's 64 bytes, and nothing else
decodes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.constants import InlineKeyboardButtonLimit

from bot import buttons
from bot.buttons import MAX_ID, MAX_PAGE

ids = st.integers(1, MAX_ID)
pages = st.integers(0, MAX_PAGE)
any_button = st.one_of(
    st.builds(buttons.ToggleTag, ids, st.none() | pages),
    st.builds(buttons.TagsPage, pages),
    st.builds(buttons.Unsubscribe, ids, pages),
    st.builds(buttons.SubscriptionsPage, pages),
    st.builds(buttons.FeedsPage, pages),
    st.builds(buttons.SubscribeSuggested, ids),
    st.builds(buttons.UnsubscribeSuggested, ids),
    st.builds(buttons.ConfirmDelete, ids),
    st.builds(buttons.KeepArticle, ids),
    st.builds(buttons.Undelete, ids),
    st.builds(buttons.SearchPage, pages),
    st.builds(buttons.RemoveWord, ids, pages),
    st.builds(buttons.WordsPage, pages),
)


@settings(max_examples=300)
@given(any_button)
def test_every_button_round_trips_within_telegrams_limit(button: buttons.Button) -> None:
    data = buttons.encode(button)
    assert 1 <= len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert buttons.decode(data) == button
    assert buttons.of_kind(type(button))(data)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "t:1",
        "t:0:1",
        "t:2147483648:1",
        "t:1:100001",
        "t:01:1",
        "t:1:1:1",
        "p:-1",
        "u:1",
        "d:²",
        "d:٣",
        "ud:0",
        "ud:2147483648",
        "ss:1 ",
        "tog:1:0",
        "uns:1",
        "x" * 64,
    ],
)
def test_anything_else_decodes_to_nothing(data: str) -> None:
    assert buttons.decode(data) is None
    assert not any(
        buttons.of_kind(kind)(data) for kind in (buttons.ToggleTag, buttons.Unsubscribe)
    )


def test_data_of_another_type_decodes_to_nothing() -> None:
    assert buttons.decode(b"t:1:1") is None
    assert buttons.decode(None) is None
