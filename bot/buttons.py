"""The callback data of every inline button: one encoder and one decoder per kind.

Pure code. Callback data comes back from the client, so it is untrusted: anything that
does not decode exactly (a forged id, an old format, a number out of range) is None, and
the handlers answer it with "This button is no longer valid" instead of guessing.
Telegram allows 1–64 bytes of callback data, so buttons carry ids, never names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import astuple, dataclass

from bot.i18n import languages

# Ids are INTEGER columns: anything outside 1..2**31-1 cannot name a row and must not
# reach a query (PostgreSQL refuses it with an int32 overflow).
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000


@dataclass(frozen=True, slots=True)
class ToggleTag:
    """A tag on the /tags or /start keyboard: follow or unfollow it, then redraw."""

    tag_id: int
    page: int | None  # None: the /start keyboard


@dataclass(frozen=True, slots=True)
class TagsPage:
    page: int


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """✖ on the /subscriptions list, which stays on ``page``."""

    tag_id: int
    page: int


@dataclass(frozen=True, slots=True)
class SubscriptionsPage:
    page: int


@dataclass(frozen=True, slots=True)
class SubscribeSuggested:
    """ "Did you mean negotiations?" — follow the suggested tag."""

    tag_id: int


@dataclass(frozen=True, slots=True)
class UnsubscribeSuggested:
    tag_id: int


@dataclass(frozen=True, slots=True)
class FeedsPage:
    """A page of /feeds (admins only)."""

    page: int


@dataclass(frozen=True, slots=True)
class ConfirmDelete:
    article_id: int


@dataclass(frozen=True, slots=True)
class KeepArticle:
    article_id: int


@dataclass(frozen=True, slots=True)
class Undelete:
    """Undo under "Deleted article 42": show the article again."""

    article_id: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    """More (or Previous) under /search results; the query is the message's first line."""

    page: int


@dataclass(frozen=True, slots=True)
class RemoveWord:
    """✖ on the /subscriptions list of words, which stays on ``page``."""

    word_id: int
    page: int


@dataclass(frozen=True, slots=True)
class WordsPage:
    page: int


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """A language under /language: speak it from now on."""

    code: str


@dataclass(frozen=True, slots=True)
class SelectChat:
    """A chat under /channels: make commands act for it (0: the person's own chat)."""

    subscriber_id: int


Button = (
    ToggleTag
    | TagsPage
    | Unsubscribe
    | SubscriptionsPage
    | SubscribeSuggested
    | UnsubscribeSuggested
    | FeedsPage
    | ConfirmDelete
    | KeepArticle
    | Undelete
    | SearchPage
    | RemoveWord
    | WordsPage
    | SetLanguage
    | SelectChat
)

_NUMBER = r"(0|[1-9][0-9]{0,9})"
_FORMS: dict[type[Button], re.Pattern[str]] = {
    ToggleTag: re.compile(rf"t:{_NUMBER}:(?:s|{_NUMBER})"),
    TagsPage: re.compile(rf"p:{_NUMBER}"),
    Unsubscribe: re.compile(rf"u:{_NUMBER}:{_NUMBER}"),
    SubscriptionsPage: re.compile(rf"sp:{_NUMBER}"),
    SubscribeSuggested: re.compile(rf"ss:{_NUMBER}"),
    UnsubscribeSuggested: re.compile(rf"us:{_NUMBER}"),
    FeedsPage: re.compile(rf"fp:{_NUMBER}"),
    ConfirmDelete: re.compile(rf"d:{_NUMBER}"),
    KeepArticle: re.compile(rf"k:{_NUMBER}"),
    Undelete: re.compile(rf"ud:{_NUMBER}"),
    SearchPage: re.compile(rf"sr:{_NUMBER}"),
    RemoveWord: re.compile(rf"w:{_NUMBER}:{_NUMBER}"),
    WordsPage: re.compile(rf"wp:{_NUMBER}"),
    SetLanguage: re.compile(r"l:([a-z]{2,3}(?:_[A-Z]{2})?)"),
    SelectChat: re.compile(rf"c:{_NUMBER}"),
}


_PREFIXES: dict[type[Button], str] = {
    ToggleTag: "t",
    TagsPage: "p",
    Unsubscribe: "u",
    SubscriptionsPage: "sp",
    SubscribeSuggested: "ss",
    UnsubscribeSuggested: "us",
    FeedsPage: "fp",
    ConfirmDelete: "d",
    KeepArticle: "k",
    Undelete: "ud",
    SearchPage: "sr",
    RemoveWord: "w",
    WordsPage: "wp",
    SetLanguage: "l",
    SelectChat: "c",
}


def encode(button: Button) -> str:
    """``t:12:3``: the kind's prefix, then its fields; None (the /start page) is ``s``."""
    fields = ("s" if value is None else str(value) for value in astuple(button))
    return ":".join([_PREFIXES[type(button)], *fields])


def _id(text: str) -> int | None:
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def _page(text: str | None) -> int | None:
    value = int(text) if text is not None else 0
    return value if value <= MAX_PAGE else None


def _build(kind: type[Button], groups: tuple[str | None, ...]) -> Button | None:
    """The button of ``kind`` from its matched numbers, or None when one is out of range."""
    first = groups[0]
    assert first is not None
    if kind in (TagsPage, SubscriptionsPage, FeedsPage, SearchPage, WordsPage):
        page = _page(first)
        return None if page is None else kind(page)
    ident = _id(first)
    if ident is None:
        return None
    if kind is ToggleTag:
        # The second group is empty for the /start keyboard ("t:<id>:s").
        page = None if groups[1] is None else _page(groups[1])
        if groups[1] is not None and page is None:
            return None
        return ToggleTag(ident, page)
    if kind in (Unsubscribe, RemoveWord):
        page = _page(groups[1])
        return None if page is None else kind(ident, page)
    return kind(ident)  # type: ignore[call-arg, arg-type]


def decode(data: object) -> Button | None:
    """The button ``data`` encodes, or None for anything else."""
    if not isinstance(data, str):
        return None
    for kind, form in _FORMS.items():
        if match := form.fullmatch(data):
            if kind is SetLanguage:  # a language the bot no longer speaks is stale too
                return SetLanguage(data[2:]) if data[2:] in languages() else None
            if kind is SelectChat:  # 0 is the person's own chat
                number = int(data[2:])
                return SelectChat(number) if number <= MAX_ID else None
            return _build(kind, match.groups())
    return None


def of_kind(kind: type[Button]) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern: does the data decode to a ``kind`` button?"""

    def matches(data: object) -> bool:
        return isinstance(decode(data), kind)

    return matches
