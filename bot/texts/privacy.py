"""What the bot says about privacy: /privacy, /mydata and /forget. Pure functions
returning Telegram HTML, in the reader's language (see bot.texts for the conventions)."""

from __future__ import annotations

from html import escape

from bot.i18n import N_, Translator
from storage.records import Forgotten

_MAX_NAME = 60  # how much of a chat's title is shown


def _name(name: str) -> str:
    shown = name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "…"
    return f"<b>{escape(shown)}</b>"


def _days(t: Translator, n: int) -> str:
    return t.ngettext("{n} day", "{n} days", n)


def privacy_text(
    t: Translator,
    retention_days: int,
    ledger_days: int,
    blocked_days: int,
    contact: str | None,
    policy_url: str | None,
) -> str:
    """/privacy: what is stored, why, for how long, who runs the bot, and the commands."""
    lines = [
        t._("🔒 <b>Privacy</b>"),
        "",
        t._("<b>What I store about this chat</b>, only to send its digests:"),
        t._(
            "• its settings: digest time, timezone, frequency, language, paused or not; for "
            "a group or channel its title and forum topic"
        ),
        t._("• the tags it follows, and the words it follows or mutes"),
        t._("• which articles I sent it and when, so that none comes twice"),
        t._("• the digests themselves (their text), for a while after they are sent"),
        t._("• the groups and channels linked with /channel, and who linked them"),
        t._(
            "I keep nothing else you write: no messages, no names, no phone numbers. Logs "
            "name chats by their number only."
        ),
        "",
        t._("<b>How long</b>"),
        t._("• digests: {days} after they were made", days=_days(t, retention_days)),
        t._(
            "• the list of articles sent: {days}, until those articles are too old for any digest",
            days=_days(t, ledger_days),
        ),
        t._(
            "• a chat that blocked me, removed me or was deleted: forgotten after {days}",
            days=_days(t, blocked_days),
        ),
        t._("• everything else: until you delete it"),
        "",
        t._("<b>Your data</b>"),
        t._("/mydata — everything stored about this chat, as a JSON file"),
        t._("/forget — delete everything stored about this chat"),
        t._("In a group or channel only its administrators may use them."),
        "",
    ]
    if contact:
        lines.append(t._("<b>Who runs this bot</b>: {contact}", contact=escape(contact)))
    else:
        lines.append(
            t._(
                "<b>Who runs this bot</b>: its operator has not given a contact "
                "(OPERATOR_CONTACT is not set)."
            )
        )
    if policy_url:
        lines.append(
            t._(
                'The full privacy policy: <a href="{url}">{url}</a>',
                url=escape(policy_url, quote=True),
            )
        )
    return "\n".join(lines)


NOTHING_STORED = N_("Nothing is stored about this chat, so there is nothing to export or delete.")
DATA_ADMINS_ONLY = N_(
    "Only this group's administrators may export or delete its data. /privacy says what is stored."
)
DATA_ADMINS_ONLY_NOTICE = N_("Only this group's administrators may do that.")


def export_caption(t: Translator, name: str) -> str:
    return t._("📄 Everything I store about {name}.", name=_name(name))


def export_too_big(t: Translator, megabytes: int) -> str:
    return t._(
        "The export is {size} MB, more than Telegram lets me send. Ask the bot's operator "
        "for it (see /privacy).",
        size=megabytes,
    )


def confirm_forget(t: Translator, name: str) -> str:
    return t._(
        "⚠️ Delete everything I store about {name}: its settings, tags, words, the list of "
        "articles sent, digests and links? This cannot be undone.",
        name=_name(name),
    )


def forgotten(t: Translator, name: str, counts: Forgotten) -> str:
    """What /forget deleted."""
    parts = [
        t.ngettext("{n} tag", "{n} tags", counts.subscriptions),
        t.ngettext("{n} word", "{n} words", counts.words),
        t.ngettext("{n} article sent", "{n} articles sent", counts.ledger),
        t.ngettext("{n} digest", "{n} digests", counts.digests),
        t.ngettext("{n} link", "{n} links", counts.links),
    ]
    return t._(
        "✅ Deleted everything I stored about {name}: {what}. If you write to me again, I "
        "start afresh, as with a new chat.",
        name=_name(name),
        what=", ".join(parts),
    )


FORGET_BUTTON = N_("🗑 Delete everything")
FORGET_CANCELLED = N_("Cancelled: nothing was deleted.")
FORGET_EXPIRED = N_("This confirmation has expired, and nothing was deleted. Send /forget again.")
FORGET_ALREADY = N_("Nothing left to delete: this chat's data was already deleted.")
FORGET_FORGED = N_("This confirmation was not made for this chat, so it deletes nothing.")
