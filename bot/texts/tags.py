"""Tags: /subscribe, /unsubscribe, /subscriptions, /tags."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.i18n import N_, Translator
from bot.subscriptions.model import SubscribeResult, Suggestion, UnsubscribeResult
from bot.texts.common import NO_SUBSCRIPTIONS, bold, echo, page_suffix, quoted, short_name, usage

TAG_GONE = N_("That tag no longer exists.")


def _did_you_mean(t: Translator, options: Sequence[Suggestion]) -> str:
    return t._(" or ").join(bold(o.name) for o in options)


def subscribe_lines(t: Translator, result: SubscribeResult) -> list[str]:
    lines: list[str] = []
    for name in result.subscribed:
        tag = bold(name)
        if name in result.without_articles:
            lines.append(
                t._(
                    "✅ Subscribed to {tag} — no articles with this tag yet; "
                    "they'll come when added",
                    tag=tag,
                )
            )
        else:
            lines.append(t._("✅ Subscribed to {tag}", tag=tag))
    lines += [t._("☑️ Already subscribed to {tag}", tag=bold(name)) for name in result.already]
    for typed, options in result.suggestions.items():
        lines.append(
            t._(
                "❓ I don't know the tag “{typed}”. Did you mean {options}?",
                typed=echo(typed),
                options=_did_you_mean(t, options),
            )
        )
    lines += [t._("⚠️ “{name}” is too long for a tag", name=echo(n)) for n in result.too_long]
    if result.over_pending_limit:
        lines.append(
            t.ngettext(
                "⏳ Not subscribed to {names}: you already wait for {n} tag "
                "that has no articles yet. /unsubscribe from it first.",
                "⏳ Not subscribed to {names}: you already wait for {n} tags "
                "that have no articles yet. /unsubscribe from one of them first.",
                result.pending_limit,
                names=quoted(result.over_pending_limit),
            )
        )
    return lines


def unsubscribe_lines(t: Translator, result: UnsubscribeResult) -> list[str]:
    lines = [t._("🗑 Unsubscribed from {tag}", tag=bold(name)) for name in result.removed]
    for name in result.missing:
        options = result.suggestions.get(name)
        if options:
            lines.append(
                t._(
                    "You weren't subscribed to “{name}”. Did you mean {options}?",
                    name=echo(name),
                    options=_did_you_mean(t, options),
                )
            )
        else:
            lines.append(t._("You weren't subscribed to “{name}”", name=echo(name)))
    return lines


def subscribe_usage(t: Translator) -> str:
    return usage(t, "subscribe", "negotiations, United Kingdom", t._("Which tags?"))


def too_many_tags(t: Translator, count: int, *, limit: int) -> str:
    return t.ngettext(
        "That is {n} tag; send at most {limit} at a time.",
        "That is {n} tags; send at most {limit} at a time.",
        count,
        limit=limit,
    )


def unsubscribe_usage(t: Translator) -> str:
    return usage(t, "unsubscribe", "negotiations", t._("Which tags? /subscriptions lists yours."))


def subscribe_button(t: Translator, name: str) -> str:
    return t._("✅ Subscribe to {name}", name=name)


def unsubscribe_button(t: Translator, name: str) -> str:
    return t._("✖ Unsubscribe from {name}", name=name)


def tag_button(name: str, count: int, subscribed: bool) -> str:
    mark = "✅ " if subscribed else ""
    return f"{mark}{name} ({count})"


def unsubscribe_tag_button(name: str) -> str:
    return f"✖ {name}"


def subscribed_line(t: Translator, name: str) -> str:
    return t._("✅ Subscribed to {tag}", tag=bold(name))


def unsubscribed_line(t: Translator, name: str) -> str:
    return t._("🗑 Unsubscribed from {tag}", tag=bold(name))


def subscribed_notice(t: Translator, name: str) -> str:
    return t._("Subscribed to {name}", name=short_name(name))


def unsubscribed_notice(t: Translator, name: str) -> str:
    return t._("Unsubscribed from {name}", name=short_name(name))


def subscriptions_text(t: Translator, names: Sequence[str], page: int = 0, pages: int = 1) -> str:
    if not names:
        return t._(NO_SUBSCRIPTIONS)
    listed = "\n".join(f"• {escape(name)}" for name in names)
    return (
        t._("<b>Your tags</b>{suffix}", suffix=page_suffix(t, page, pages))
        + f"\n{listed}\n\n"
        + t._("Tap a tag to unsubscribe.")
    )


def tags_text(t: Translator, page: int, pages: int) -> str:
    return t._(
        "<b>Popular tags</b>{suffix}\nTap a tag to follow it; ✅ marks the ones you follow; "
        "tap again to unfollow.",
        suffix=page_suffix(t, page, pages),
    )
