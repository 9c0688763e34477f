"""The button codec: every kind round-trips, fits Telegram's 64 bytes, and nothing else
decodes."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.constants import InlineKeyboardButtonLimit

from bot.telegram import buttons
from tests.auxil.buttons import FIELDS, FOR_A_CHAT


def of(kind: type[buttons.Button]) -> st.SearchStrategy[buttons.Button]:
    """Any valid button of ``kind``, its fields drawn from what bot.telegram.buttons says."""
    _, spec = buttons.KINDS[kind]
    return st.builds(kind, *(FIELDS[field] for field in spec))


# Every kind bot.telegram.buttons defines: a new kind is covered without editing this list.
any_button = st.one_of(*(of(kind) for kind in buttons.KINDS))


def test_every_kind_of_the_union_has_a_form_and_the_chat_kinds_carry_one_last() -> None:
    assert set(buttons.KINDS) == set(get_args(buttons.Button))
    for kind in FOR_A_CHAT:
        assert buttons.KINDS[kind][1][-1] is buttons.Field.ID


@settings(max_examples=300)
@given(any_button)
def test_every_button_round_trips_within_telegrams_limit(button: buttons.Button) -> None:
    data = buttons.encode(button)
    assert 1 <= len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert buttons.decode(data) == button


@pytest.mark.parametrize(
    "data",
    [
        "",
        "t:1",
        "t:1:1",  # a button from before buttons carried their chat
        "t:0:1:1",
        "t:2147483648:1:1",
        "t:1:100001:1",
        "t:01:1:1",
        "t:1:1:0",
        "t:1:1:1:1",
        "t:1:s:",
        "p:-1",
        "u:1",
        "d:²",
        "d:٣",
        "ud:0",
        "ud:2147483648",
        "ss:1 ",
        "tog:1:0",
        "uns:1",
        "dt:2:1",  # a flag is 1 or 0
        "dt:True:1",
        "dl:1",
        "x" * 64,
    ],
)
def test_anything_else_decodes_to_nothing(data: str) -> None:
    assert buttons.decode(data) is None


def test_data_of_another_type_decodes_to_nothing() -> None:
    assert buttons.decode(b"t:1:1") is None
    assert buttons.decode(None) is None
