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
from dataclasses import astuple, dataclass
from enum import Enum

from bot.i18n import languages

# Ids are INTEGER columns: anything outside 1..2**31-1 cannot name a row and must not
# reach a query (PostgreSQL refuses it with an int32 overflow).
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_TIME = 9_999_999_999  # Unix seconds, ten digits


# What several kinds carry alike; each kind below is its own class, so a handler's
# isinstance() matches one kind only.
@dataclass(frozen=True, slots=True)
class _ChatPage:
    """A page of a list shown for a chat."""

    page: int
    chat: int


@dataclass(frozen=True, slots=True)
class _ChatTag:
    tag_id: int
    chat: int


@dataclass(frozen=True, slots=True)
class _Chat:
    chat: int


@dataclass(frozen=True, slots=True)
class _Article:
    article_id: int


@dataclass(frozen=True, slots=True)
class ToggleTag:
    """A tag on the /tags or /start keyboard: follow or unfollow it, then redraw."""

    tag_id: int
    page: int | None  # None: the /start keyboard
    chat: int


@dataclass(frozen=True, slots=True)
class TagsPage(_ChatPage):
    """A page of /tags."""


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """✖ on the /subscriptions list, which stays on ``page``."""

    tag_id: int
    page: int
    chat: int


@dataclass(frozen=True, slots=True)
class SubscriptionsPage(_ChatPage):
    """A page of /subscriptions."""


@dataclass(frozen=True, slots=True)
class SubscribeSuggested(_ChatTag):
    """ "Did you mean negotiations?" after /subscribe — follow the suggested tag."""


@dataclass(frozen=True, slots=True)
class UnsubscribeSuggested(_ChatTag):
    """ "Did you mean negotiations?" after /unsubscribe — stop following the suggested tag."""


@dataclass(frozen=True, slots=True)
class FeedsPage:
    """A page of /feeds (admins only)."""

    page: int


@dataclass(frozen=True, slots=True)
class ConfirmDelete(_Article):
    """Delete under /delete's question."""


@dataclass(frozen=True, slots=True)
class KeepArticle(_Article):
    """Keep under /delete's question."""


@dataclass(frozen=True, slots=True)
class Undelete(_Article):
    """Undo under "Deleted article 42": show the article again."""


@dataclass(frozen=True, slots=True)
class SearchPage(_ChatPage):
    """More (or Previous) under /search results; the query is the message's first line
    (the chat's timezone dates the results)."""


@dataclass(frozen=True, slots=True)
class RemoveWord:
    """✖ on the /subscriptions list of words, which stays on ``page``."""

    word_id: int
    page: int
    chat: int


@dataclass(frozen=True, slots=True)
class WordsPage(_ChatPage):
    """A page of the /subscriptions list of words."""


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """A language under /language: speak it from now on."""

    code: str
    chat: int


@dataclass(frozen=True, slots=True)
class SelectChat:
    """A chat under /channels: make commands act for it (0: the person's own chat)."""

    subscriber_id: int


@dataclass(frozen=True, slots=True)
class PostDigest(_Chat):
    """Under /digest for a linked channel: post its digest there now."""


@dataclass(frozen=True, slots=True)
class CancelDigest(_Chat):
    """Under /digest for a linked channel: do not post it."""


@dataclass(frozen=True, slots=True)
class ConfirmForget:
    """Under /forget: delete everything about the chat. ``issued``: when it was shown
    (Unix seconds); an older confirmation has expired."""

    issued: int
    chat: int


@dataclass(frozen=True, slots=True)
class CancelForget(_Chat):
    """Under /forget: delete nothing."""


@dataclass(frozen=True, slots=True)
class DigestTags:
    """Under /settings: digest entries name the tags they matched by (``on``), or not."""

    on: bool
    chat: int


@dataclass(frozen=True, slots=True)
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


class Field(Enum):
    """What one field of callback data may hold, and how it is written."""

    ID = "id"  # a row id, 1..MAX_ID
    PAGE = "page"  # 0..MAX_PAGE
    PAGE_OR_START = "page_or_start"  # a page, or None written "s" (the /start keyboard)
    LANGUAGE = "language"  # a catalog the bot has
    ID_OR_OWN = "id_or_own"  # a row id, or 0 for the person's own chat
    TIME = "time"  # Unix seconds, 0..MAX_TIME
    FLAG = "flag"  # on or off, written 1 or 0


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


# Every kind: its prefix and its fields, in the dataclass's order.
KINDS: dict[type[Button], tuple[str, tuple[Field, ...]]] = {
    ToggleTag: ("t", (Field.ID, Field.PAGE_OR_START, Field.ID)),
    TagsPage: ("p", (Field.PAGE, Field.ID)),
    Unsubscribe: ("u", (Field.ID, Field.PAGE, Field.ID)),
    SubscriptionsPage: ("sp", (Field.PAGE, Field.ID)),
    SubscribeSuggested: ("ss", (Field.ID, Field.ID)),
    UnsubscribeSuggested: ("us", (Field.ID, Field.ID)),
    FeedsPage: ("fp", (Field.PAGE,)),
    ConfirmDelete: ("d", (Field.ID,)),
    KeepArticle: ("k", (Field.ID,)),
    Undelete: ("ud", (Field.ID,)),
    SearchPage: ("sr", (Field.PAGE, Field.ID)),
    RemoveWord: ("w", (Field.ID, Field.PAGE, Field.ID)),
    WordsPage: ("wp", (Field.PAGE, Field.ID)),
    SetLanguage: ("l", (Field.LANGUAGE, Field.ID)),
    SelectChat: ("c", (Field.ID_OR_OWN,)),
    PostDigest: ("dg", (Field.ID,)),
    CancelDigest: ("dx", (Field.ID,)),
    ConfirmForget: ("fg", (Field.TIME, Field.ID)),
    CancelForget: ("fx", (Field.ID,)),
    DigestTags: ("dt", (Field.FLAG, Field.ID)),
    DigestLayout: ("dl", (Field.FLAG, Field.ID)),
}
_BY_PREFIX = {prefix: (kind, spec) for kind, (prefix, spec) in KINDS.items()}


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
