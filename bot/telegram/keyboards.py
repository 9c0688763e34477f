"""Inline keyboards. Labels come from `bot.texts`, callback data from `bot.buttons`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardMarkupLimit

from bot import texts
from bot.i18n import Msg, Translator, languages
from bot.subscriptions.model import Suggestion, TagButton
from bot.telegram import buttons
from bot.telegram.buttons import Button

# Telegram shows at most this many buttons under one message; more than that and a
# "Did you mean" reply offers the first ones.
MAX_BUTTONS = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER


def _button(label: str, button: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=buttons.encode(button))


def _pager(
    t: Translator,
    page: int,
    make: Callable[[int], Button],
    *,
    more: bool,
    next_label: Msg = texts.NEXT,
) -> list[InlineKeyboardButton]:
    """◀ Previous and Next ▶ (where there is a page before and ``more`` after)."""
    nav = []
    if page > 0:
        nav.append(_button(t._(texts.PREVIOUS), make(page - 1)))
    if more:
        nav.append(_button(t._(next_label), make(page + 1)))
    return nav


def _paged(
    t: Translator,
    rows: list[list[InlineKeyboardButton]],
    page: int,
    pages: int,
    make: Callable[[int], Button],
) -> InlineKeyboardMarkup:
    """``rows``, and the pager under them when there is more than one page."""
    if pages > 1:
        rows.append(_pager(t, page, make, more=page < pages - 1))
    return InlineKeyboardMarkup(rows)


def tag_keyboard(
    t: Translator, tags: Sequence[TagButton], *, chat: int, page: int | None, pages: int = 1
) -> InlineKeyboardMarkup:
    """Popular tags, two a row; ``page`` None is the /start keyboard, which has no pager.
    ``chat``: the subscriber the buttons act for (so do the other keyboards' ``chat``)."""
    rows = [
        [
            _button(
                texts.tag_button(b.name, b.count, b.subscribed),
                buttons.ToggleTag(b.tag_id, page, chat),
            )
            for b in tags[i : i + 2]
        ]
        for i in range(0, len(tags), 2)
    ]
    if page is None:
        return InlineKeyboardMarkup(rows)
    return _paged(t, rows, page, pages, lambda p: buttons.TagsPage(p, chat))


def subscriptions_keyboard(
    t: Translator, tags: Sequence[Suggestion], *, chat: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                texts.unsubscribe_tag_button(tag.name), buttons.Unsubscribe(tag.tag_id, page, chat)
            )
        ]
        for tag in tags
    ]
    return _paged(t, rows, page, pages, lambda p: buttons.SubscriptionsPage(p, chat))


def suggestions_keyboard(
    t: Translator, options: Sequence[Suggestion], *, chat: int, follow: bool
) -> InlineKeyboardMarkup | None:
    """One button per suggested tag: follow it (after /subscribe) or stop (/unsubscribe)."""
    unique = list({o.tag_id: o for o in options}.values())[:MAX_BUTTONS]
    if not unique:
        return None
    label = texts.subscribe_button if follow else texts.unsubscribe_button
    kind = buttons.SubscribeSuggested if follow else buttons.UnsubscribeSuggested
    return InlineKeyboardMarkup(
        [[_button(label(t, o.name), kind(o.tag_id, chat))] for o in unique]
    )


def delete_keyboard(t: Translator, article_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(t._(texts.DELETE_BUTTON), buttons.ConfirmDelete(article_id)),
                _button(t._(texts.KEEP_BUTTON), buttons.KeepArticle(article_id)),
            ]
        ]
    )


def undelete_keyboard(t: Translator, article_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(t._(texts.UNDELETE_BUTTON), buttons.Undelete(article_id))]]
    )


def feeds_keyboard(t: Translator, page: int, pages: int) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    return _paged(t, [], page, pages, buttons.FeedsPage)


# ---- keywords and search


def words_keyboard(
    t: Translator, words: Sequence[tuple[int, str, bool]], *, chat: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    """A ✖ per word (id, shown form, muted) of one /subscriptions page of words."""
    rows = [
        [_button(texts.word_button(shown, muted), buttons.RemoveWord(word_id, page, chat))]
        for word_id, shown, muted in words
    ]
    return _paged(t, rows, page, pages, lambda p: buttons.WordsPage(p, chat))


def search_keyboard(
    t: Translator, *, chat: int, page: int, more: bool
) -> InlineKeyboardMarkup | None:
    nav = _pager(
        t, page, lambda p: buttons.SearchPage(p, chat), more=more, next_label=texts.SEARCH_MORE
    )
    return InlineKeyboardMarkup([nav]) if nav else None


def chats_keyboard(t: Translator, chats: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """A button per linked chat (subscriber id, name), and one for the person's own."""
    rows = [[_button(name, buttons.SelectChat(ident))] for ident, name in chats[: MAX_BUTTONS - 1]]
    rows.append([_button(t._(texts.OWN_CHAT_BUTTON), buttons.SelectChat(0))])
    return InlineKeyboardMarkup(rows)


def language_keyboard(current: str, *, chat: int) -> InlineKeyboardMarkup:
    """One button per language the bot speaks, each in its own language."""
    return InlineKeyboardMarkup(
        [
            [
                _button(
                    texts.language_button(code, code == current), buttons.SetLanguage(code, chat)
                )
            ]
            for code in languages()
        ]
    )


def post_digest_keyboard(t: Translator, chat: int) -> InlineKeyboardMarkup:
    """Post a linked channel's digest now, or not."""
    return InlineKeyboardMarkup(
        [
            [
                _button(t._(texts.POST_DIGEST_BUTTON), buttons.PostDigest(chat)),
                _button(t._(texts.CANCEL_BUTTON), buttons.CancelDigest(chat)),
            ]
        ]
    )


def layout_keyboard(
    t: Translator, *, show_tags: bool, compact: bool, chat: int
) -> InlineKeyboardMarkup:
    """Under /settings: switch the digest's tags and its layout."""
    return InlineKeyboardMarkup(
        [
            [_button(texts.tags_button(t, show_tags), buttons.DigestTags(not show_tags, chat))],
            [_button(texts.layout_button(t, compact), buttons.DigestLayout(not compact, chat))],
        ]
    )
