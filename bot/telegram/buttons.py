"""The callback data of every inline button: one encoder and one decoder for every kind.

Pure code. Callback data comes back from the client, so it is untrusted: anything that
does not decode exactly (a forged id, an old format, a number out of range) is None, and
the handlers answer it with "This button is no longer valid" instead of guessing.
Telegram allows 1–64 bytes of callback data, so buttons carry ids, never names.

A button that reads or changes a chat's digest carries that chat (``chat``: the
subscriber row's id) and acts for it, whichever chat its presser has selected since;
the handlers check on press that the presser may still act for it (bot.telegram.handlers.chats).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from enum import Enum
from typing import TypeVar, cast, dataclass_transform

from bot.i18n import languages

# Ids are INTEGER columns: anything outside 1..2**31-1 cannot name a row and must not
# reach a query (PostgreSQL refuses it with an int32 overflow).
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_TIME = 9_999_999_999  # Unix seconds, ten digits


class Field(Enum):
    """What one field of callback data may hold, and how it is written."""

    ID = "id"  # a row id, 1..MAX_ID
    PAGE = "page"  # 0..MAX_PAGE
    PAGE_OR_START = "page_or_start"  # a page, or None written "s" (the /start keyboard)
    LANGUAGE = "language"  # a catalog the bot has
    ID_OR_OWN = "id_or_own"  # a row id, or 0 for the person's own chat
    TIME = "time"  # Unix seconds, 0..MAX_TIME
    FLAG = "flag"  # on or off, written 1 or 0


# Field's members by their short names, for the kinds below.
ID, PAGE, PAGE_OR_START, LANGUAGE, ID_OR_OWN, TIME, FLAG = Field

# Every kind: its prefix and its fields, in the dataclass's order (filled by `kind`).
KINDS: dict[type[Button], tuple[str, tuple[Field, ...]]] = {}
_BY_PREFIX: dict[str, tuple[type[Button], tuple[Field, ...]]] = {}
K = TypeVar("K")


@dataclass_transform(frozen_default=True)
def kind(prefix: str, *spec: Field) -> Callable[[type[K]], type[K]]:
    """Make a class a kind of button, written ``prefix`` then ``spec``, one field each:
    a frozen dataclass with slots, registered in KINDS."""

    def register(cls: type[K]) -> type[K]:
        made = cast("type[Button]", dataclass(frozen=True, slots=True)(cls))
        if prefix in _BY_PREFIX or len(fields(made)) != len(spec):
            raise TypeError(f"{cls.__name__}: prefix {prefix!r} taken, or fields unlike {spec}")
        KINDS[made] = (prefix, spec)
        _BY_PREFIX[prefix] = (made, spec)
        return cast("type[K]", made)  # slots: a new class, not ``cls``

    return register


# The kinds. What several carry alike is in a base class, declared before the first
# kind that has it; each kind is its own class, so a handler's isinstance() matches
# one kind only.
@kind("t", ID, PAGE_OR_START, ID)
class ToggleTag:
    """A tag on the /tags or /start keyboard: follow or unfollow it, then redraw."""

    tag_id: int
    page: int | None  # None: the /start keyboard
    chat: int


@dataclass(frozen=True, slots=True)
class _ChatTag:
    """A tag suggested to a chat ("Did you mean negotiations?"), to follow, or to stop
    following."""

    tag_id: int
    chat: int


@kind("ss", ID, ID)
class SubscribeSuggested(_ChatTag):
    """After /subscribe: follow the suggested tag."""


@kind("us", ID, ID)
class UnsubscribeSuggested(_ChatTag):
    """After /unsubscribe: stop following the suggested tag."""


@dataclass(frozen=True, slots=True)
class _Listed:
    """An item of a list shown for a chat (a tag, a word), and the page it is on."""

    item: int
    page: int
    chat: int


@dataclass(frozen=True, slots=True)
class _ChatPage:
    """A page of a list shown for a chat."""

    page: int
    chat: int


@kind("p", PAGE, ID)
class TagsPage(_ChatPage):
    """A page of /tags."""


@kind("u", ID, PAGE, ID)
class Unsubscribe(_Listed):
    """✖ on the /subscriptions list (``item``: the tag), which stays on ``page``."""


@kind("w", ID, PAGE, ID)
class RemoveWord(_Listed):
    """✖ on the /subscriptions list of words (``item``: the word), which stays on ``page``."""


@kind("sp", PAGE, ID)
class SubscriptionsPage(_ChatPage):
    """A page of /subscriptions."""


@kind("wp", PAGE, ID)
class WordsPage(_ChatPage):
    """A page of the /subscriptions list of words."""


@kind("fp", PAGE)
class FeedsPage:
    """A page of /feeds (admins only)."""

    page: int


@dataclass(frozen=True, slots=True)
class _Article:
    """A question about an article (admins only)."""

    article_id: int


@kind("d", ID)
class ConfirmDelete(_Article):
    """Delete under /delete's question."""


@kind("k", ID)
class KeepArticle(_Article):
    """Keep under /delete's question."""


@kind("ud", ID)
class Undelete(_Article):
    """Undo under "Deleted article 42": show the article again."""


@kind("sr", PAGE, ID)
class SearchPage(_ChatPage):
    """More (or Previous) under /search results; the query is the message's first line
    (the chat's timezone dates the results)."""


@kind("l", LANGUAGE, ID)
class SetLanguage:
    """A language under /language: speak it from now on."""

    code: str
    chat: int


@kind("c", ID_OR_OWN)
class SelectChat:
    """A chat under /channels: make commands act for it (0: the person's own chat)."""

    subscriber_id: int


@dataclass(frozen=True, slots=True)
class _Chat:
    """A question about a chat."""

    chat: int


@kind("dg", ID)
class PostDigest(_Chat):
    """Under /digest for a linked channel: post its digest there now."""


@kind("dx", ID)
class CancelDigest(_Chat):
    """Under /digest for a linked channel: do not post it."""


@kind("fg", TIME, ID)
class ConfirmForget:
    """Under /forget: delete everything about the chat. ``issued``: when it was shown
    (Unix seconds); an older confirmation has expired."""

    issued: int
    chat: int


@kind("fx", ID)
class CancelForget(_Chat):
    """Under /forget: delete nothing."""


@kind("dt", FLAG, ID)
class DigestTags:
    """Under /settings: digest entries name the tags they matched by (``on``), or not."""

    on: bool
    chat: int


@kind("dl", FLAG, ID)
class DigestLayout:
    """Under /settings: one line per story (``compact``), or the full layout."""

    compact: bool
    chat: int


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
    | PostDigest
    | CancelDigest
    | ConfirmForget
    | CancelForget
    | DigestTags
    | DigestLayout
)


_NUMBER = re.compile(r"0|[1-9][0-9]{0,9}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_INVALID = object()


def _parse(field: Field, text: str) -> object:
    """The value ``text`` holds for ``field``, or _INVALID."""
    if field is Field.LANGUAGE:
        return text if _LANGUAGE.fullmatch(text) and text in languages() else _INVALID
    if field is Field.PAGE_OR_START and text == "s":
        return None
    if not _NUMBER.fullmatch(text):
        return _INVALID
    value = int(text)
    low, high = _RANGES[field]
    if not low <= value <= high:
        return _INVALID
    return bool(value) if field is Field.FLAG else value


# The numbers each numeric field may hold, inclusive.
_RANGES = {
    Field.ID: (1, MAX_ID),
    Field.ID_OR_OWN: (0, MAX_ID),
    Field.PAGE: (0, MAX_PAGE),
    Field.PAGE_OR_START: (0, MAX_PAGE),
    Field.TIME: (0, MAX_TIME),
    Field.FLAG: (0, 1),
}


def encode(button: Button) -> str:
    """``t:12:3:7``: the kind's prefix, then its fields; None (the /start page) is ``s``,
    a flag 1 or 0."""
    values = (
        "s" if value is None else str(int(value)) if isinstance(value, bool) else str(value)
        for value in astuple(button)
    )
    return ":".join([KINDS[type(button)][0], *values])


def decode(data: object) -> Button | None:
    """The button ``data`` encodes, or None for anything else."""
    if not isinstance(data, str):
        return None
    prefix, *parts = data.split(":")
    found = _BY_PREFIX.get(prefix)
    if found is None:
        return None
    kind, spec = found
    if len(parts) != len(spec):
        return None
    values = [_parse(field, part) for field, part in zip(spec, parts, strict=True)]
    if any(value is _INVALID for value in values):
        return None
    return kind(*values)  # type: ignore[arg-type]


def is_ours(data: object) -> bool:
    """Whether ``data`` has the shape of this bot's buttons (a known prefix), decodable or
    not: an old or forged button of ours, rather than another bot's data."""
    return isinstance(data, str) and data.split(":", 1)[0] in _BY_PREFIX


def chat_of(button: Button) -> int | None:
    """The chat (subscriber id) a button acts for, if it is of a kind that carries one."""
    chat = getattr(button, "chat", None)
    return chat if isinstance(chat, int) else None
