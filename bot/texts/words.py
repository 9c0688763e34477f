"""Followed and muted words: /follow, /unfollow, /mute, /unmute, /words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from bot.articles.plaintext import shorten
from bot.i18n import N_, Msg, Translator
from bot.texts.common import MAX_ECHO, bold, echo, page_suffix, quoted, short_name, usage
from bot.words.keywords import Problem, TermError
from bot.words.model import RemoveResult, WordsResult
from storage.records import WordKind

# ---- keywords and search


Show = Callable[[str], str]  # how a word is shown: bold, or quoted back as typed

FOLLOW_EXAMPLE = 'ukraine "peace talks" negotiat*'
WORD_EXAMPLES = {
    "follow": FOLLOW_EXAMPLE,
    "unfollow": "ukraine",
    "mute": "football",
    "unmute": "football",
    "search": "peace talks",
}
_TERM_PROBLEMS = {
    Problem.UNBALANCED_QUOTES: N_('A quote is not closed: put a phrase between two " marks.'),
    Problem.NO_WORDS: N_("“{item}” has no letters or digits to look for."),
    Problem.SHORT_PREFIX: N_(
        "“{item}” is too short for a prefix: put * after at least {limit} letters."
    ),
}


def term_problem(t: Translator, command: str, error: TermError) -> str:
    """The answer to a /follow, /unfollow, /mute, /unmute or /search that cannot be read."""
    example = WORD_EXAMPLES[command]
    search = command == "search"
    if error.problem is Problem.EMPTY:
        what = t._("What should I search for?") if search else t._("Which words?")
        return usage(t, command, example, what)
    if error.problem is Problem.TOO_MANY:
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
    if error.problem is Problem.TOO_LONG:
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
    item = shorten(error.item, MAX_ECHO, fold=True)
    return "⚠️ " + escape(t._(template, item=item, limit=error.limit))


def _each(t: Translator, said: Sequence[tuple[Msg, Sequence[str]]], show: Show) -> list[str]:
    """A line per word: each template said of each of its words."""
    return [t._(template, word=show(word)) for template, words in said for word in words]


def words_lines(t: Translator, result: WordsResult) -> list[str]:
    mute = result.kind is WordKind.MUTE
    added = N_("🔇 Muted {word}") if mute else N_("✅ Following {word}")
    switched = (
        N_("🔇 Muted {word} (it was followed until now)")
        if mute
        else N_("✅ Following {word} (it was muted until now)")
    )
    already = N_("☑️ Already muted {word}") if mute else N_("☑️ Already following {word}")
    lines = _each(
        t, [(added, result.added), (switched, result.switched), (already, result.already)], bold
    )
    if result.over_limit:
        lines.append(_over_limit(t, mute, quoted(result.over_limit), result.limit))
    if result.added or result.switched:
        lines.append(
            t._("Articles containing them are left out of your digests.")
            if mute
            else t._("Your digests now also include articles containing them.")
        )
    return lines


def _over_limit(t: Translator, mute: bool, words: str, limit: int) -> str:
    if mute:
        return t.ngettext(
            "⚠️ Not muted {words}: you may have at most {n} muted word. /unmute some first.",
            "⚠️ Not muted {words}: you may have at most {n} muted words. /unmute some first.",
            limit,
            words=words,
        )
    return t.ngettext(
        "⚠️ Not following {words}: you may have at most {n} followed word. /unfollow some first.",
        "⚠️ Not following {words}: you may have at most {n} followed words. /unfollow some first.",
        limit,
        words=words,
    )


def remove_lines(t: Translator, result: RemoveResult) -> list[str]:
    mute = result.kind is WordKind.MUTE
    removed = N_("🔈 Unmuted {word}") if mute else N_("🗑 Stopped following {word}")
    missing = N_("You weren't muting “{word}”") if mute else N_("You weren't following “{word}”")
    return _each(t, [(removed, result.removed)], bold) + _each(
        t, [(missing, result.missing)], echo
    )


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
