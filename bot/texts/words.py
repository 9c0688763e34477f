"""Followed and muted words: /follow, /unfollow, /mute, /unmute, /words."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Protocol

from bot.i18n import N_, Translator
from bot.texts.common import MAX_ECHO, bold, echo, page_suffix, quoted, short_name, usage

# ---- keywords and search


class TermProblemLike(Protocol):
    """What is wrong with typed terms (bot.words.keywords.TermError is one)."""

    @property
    def problem(self) -> str: ...
    @property
    def item(self) -> str: ...
    @property
    def limit(self) -> int: ...


FOLLOW_EXAMPLE = 'ukraine "peace talks" negotiat*'
WORD_EXAMPLES = {
    "follow": FOLLOW_EXAMPLE,
    "unfollow": "ukraine",
    "mute": "football",
    "unmute": "football",
    "search": "peace talks",
}
_TERM_PROBLEMS = {
    "unbalanced_quotes": N_('A quote is not closed: put a phrase between two " marks.'),
    "no_words": N_("“{item}” has no letters or digits to look for."),
    "short_prefix": N_(
        "“{item}” is too short for a prefix: put * after at least {limit} letters."
    ),
}


def term_problem(t: Translator, command: str, error: TermProblemLike) -> str:
    """The answer to a /follow, /unfollow, /mute, /unmute or /search that cannot be read."""
    example = WORD_EXAMPLES[command]
    search = command == "search"
    if error.problem == "empty":
        what = t._("What should I search for?") if search else t._("Which words?")
        return usage(t, command, example, what)
    if error.problem == "too_many":
        count = int(error.item)
        if search:
            problem = t.ngettext(
                "That is {n} search term; at most {limit}.",
                "That is {n} search terms; at most {limit}.",
                count,
                limit=error.limit,
            )
        else:
            problem = t.ngettext(
                "That is {n} word or phrase; at most {limit}.",
                "That is {n} words or phrases; at most {limit}.",
                count,
                limit=error.limit,
            )
        return usage(t, command, example, problem)
    if error.problem == "too_long":
        if not error.item:
            return usage(
                t,
                command,
                example,
                t._("That is too long: at most {limit} characters.", limit=error.limit),
            )
        return t._(
            "⚠️ “{item}” is too long: a word or phrase has at most {limit} characters.",
            item=echo(error.item),
            limit=error.limit,
        )
    template = _TERM_PROBLEMS[error.problem]
    item = " ".join(error.item.split())[:MAX_ECHO]
    return "⚠️ " + escape(t._(template, item=item, limit=error.limit))


class WordsOutcome(Protocol):
    """What /follow or /mute did (bot.words.search.WordsResult is one)."""

    @property
    def kind(self) -> str: ...
    @property
    def added(self) -> Sequence[str]: ...
    @property
    def already(self) -> Sequence[str]: ...
    @property
    def switched(self) -> Sequence[str]: ...
    @property
    def over_limit(self) -> Sequence[str]: ...
    @property
    def limit(self) -> int: ...


class RemoveOutcome(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def removed(self) -> Sequence[str]: ...
    @property
    def missing(self) -> Sequence[str]: ...


def words_lines(t: Translator, result: WordsOutcome) -> list[str]:
    mute = result.kind == "mute"
    lines: list[str] = []
    for shown in result.added:
        word = bold(shown)
        lines.append(
            t._("🔇 Muted {word}", word=word) if mute else t._("✅ Following {word}", word=word)
        )
    for shown in result.switched:
        word = bold(shown)
        lines.append(
            t._("🔇 Muted {word} (it was followed until now)", word=word)
            if mute
            else t._("✅ Following {word} (it was muted until now)", word=word)
        )
    for shown in result.already:
        word = bold(shown)
        lines.append(
            t._("☑️ Already muted {word}", word=word)
            if mute
            else t._("☑️ Already following {word}", word=word)
        )
    if result.over_limit:
        words = quoted(result.over_limit)
        if mute:
            lines.append(
                t.ngettext(
                    "⚠️ Not muted {words}: you may have at most {n} muted word. "
                    "/unmute some first.",
                    "⚠️ Not muted {words}: you may have at most {n} muted words. "
                    "/unmute some first.",
                    result.limit,
                    words=words,
                )
            )
        else:
            lines.append(
                t.ngettext(
                    "⚠️ Not following {words}: you may have at most {n} followed word. "
                    "/unfollow some first.",
                    "⚠️ Not following {words}: you may have at most {n} followed words. "
                    "/unfollow some first.",
                    result.limit,
                    words=words,
                )
            )
    if result.added or result.switched:
        lines.append(
            t._("Articles containing them are left out of your digests.")
            if mute
            else t._("Your digests now also include articles containing them.")
        )
    return lines


def remove_lines(t: Translator, result: RemoveOutcome) -> list[str]:
    mute = result.kind == "mute"
    lines: list[str] = []
    for shown in result.removed:
        word = bold(shown)
        lines.append(
            t._("🔈 Unmuted {word}", word=word)
            if mute
            else t._("🗑 Stopped following {word}", word=word)
        )
    for shown in result.missing:
        word = echo(shown)
        lines.append(
            t._("You weren't muting “{word}”", word=word)
            if mute
            else t._("You weren't following “{word}”", word=word)
        )
    return lines


def words_text(
    t: Translator, rows: Sequence[tuple[str, bool]], page: int = 0, pages: int = 1
) -> str:
    """/subscriptions' list of words: (shown form, muted)."""
    followed = [f"• {escape(shown)}" for shown, muted in rows if not muted]
    muted = [f"• {escape(shown)}" for shown, is_muted in rows if is_muted]
    parts = [t._("<b>Your words</b>{suffix}", suffix=page_suffix(t, page, pages))]
    if followed:
        parts += [t._("Following:"), *followed]
    if muted:
        parts += [t._("Muted:"), *muted]
    parts += ["", t._("Tap a word to stop following or muting it.")]
    return "\n".join(parts)


NO_WORDS = N_("You follow and mute no words.")


def word_button(shown: str, muted: bool) -> str:
    return f"✖ {'🔇 ' if muted else ''}{shown}"


def word_removed_notice(t: Translator, shown: str, muted: bool) -> str:
    word = short_name(shown)
    return (
        t._("Unmuted {word}", word=word) if muted else t._("Stopped following {word}", word=word)
    )
