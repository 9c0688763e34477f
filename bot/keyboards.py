"""Inline keyboards and their callback data (at most 64 bytes, so ids, never names)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.service import TagButton

TOGGLE = "tog"  # tog:<tag id>:<page or "s" for the /start keyboard>
UNSUBSCRIBE = "uns"  # uns:<tag id>
PAGE = "tags"  # tags:<page>
START_PAGE = "s"


def _label(button: TagButton) -> str:
    mark = "✅ " if button.subscribed else ""
    return f"{mark}{button.name} ({button.count})"


def tag_keyboard(
    buttons: Sequence[TagButton], *, page: int | str, pages: int = 1
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(_label(b), callback_data=f"{TOGGLE}:{b.tag_id}:{page}")
            for b in buttons[i : i + 2]
        ]
        for i in range(0, len(buttons), 2)
    ]
    if isinstance(page, int) and pages > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton("◀ Previous", callback_data=f"{PAGE}:{page - 1}"))
        if page < pages - 1:
            nav.append(InlineKeyboardButton("Next ▶", callback_data=f"{PAGE}:{page + 1}"))
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def unsubscribe_keyboard(tags: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"✖ {name}", callback_data=f"{UNSUBSCRIBE}:{i}")]
            for i, name in tags
        ]
    )
