"""Buttons as hypothesis draws them: every field of bot.telegram.buttons, and which kinds
act for a chat."""

from __future__ import annotations

from dataclasses import fields

from hypothesis import strategies as st

from bot.i18n import languages
from bot.telegram import buttons
from bot.telegram.buttons import MAX_ID, MAX_PAGE

FIELDS: dict[buttons.Field, st.SearchStrategy[object]] = {
    buttons.Field.ID: st.integers(1, MAX_ID),
    buttons.Field.PAGE: st.integers(0, MAX_PAGE),
    buttons.Field.PAGE_OR_START: st.none() | st.integers(0, MAX_PAGE),
    buttons.Field.LANGUAGE: st.sampled_from(languages()),
    buttons.Field.ID_OR_OWN: st.integers(0, MAX_ID),
    buttons.Field.TIME: st.integers(0, buttons.MAX_TIME),
    buttons.Field.FLAG: st.booleans(),
}

# The kinds that act for the chat they carry (their last field, ``chat``).
FOR_A_CHAT: tuple[type[buttons.Button], ...] = tuple(
    kind for kind in buttons.KINDS if fields(kind)[-1].name == "chat"
)

# Every kind's prefix, from bot.telegram.buttons.
PREFIXES = [prefix for prefix, _ in buttons.KINDS.values()]

# Any callback data: any text, or any text after one of our prefixes (near misses of
# every kind, and now and then a valid button).
callback_data = st.text(min_size=1, max_size=64) | st.builds(
    lambda prefix, rest: f"{prefix}:{rest}"[:64], st.sampled_from(PREFIXES), st.text(max_size=62)
)
