"""Groups, channels and forum topics."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.articles.plaintext import shorten
from bot.i18n import N_, Msg, Translator
from bot.texts.common import MAX_ECHO, bold, echo, short_name

# ---- groups and channels

GROUP_ADMINS_ONLY = N_(
    "Only this group's administrators can change its digest. "
    "Anyone here can use /digest and /subscriptions."
)
GROUP_ADMINS_ONLY_NOTICE = N_("Only the group's administrators can change this.")
GROUP_WELCOME = N_(
    "👋 Thanks for adding me. I can send this group a short news digest every day on the "
    "tags its administrators choose, e.g. <code>/subscribe negotiations</code> and "
    "<code>/time 08:00</code>. /help lists every command."
)
CHANNEL_USAGE = N_(
    "To set up a channel's digest, make me an administrator of the channel who may post, "
    "then send <code>/channel @name</code>, <code>/channel -100…</code> or forward me a "
    "post from it. <code>/channel me</code> goes back to your own chat."
)
CHANNEL_IN_PRIVATE = N_("Please send /channel and /channels in your private chat with me.")
BACK_TO_ME = N_("Your commands act for your own chat again.")
NO_CHANNELS = N_("You have linked no channels yet.")
OWN_CHAT_BUTTON = N_("👤 My own chat")


def chat_name(t: Translator, title: str | None, chat_id: int) -> str:
    return title or t._("chat {id}", id=chat_id)


def channel_not_found(t: Translator, typed: str) -> str:
    return t._(
        "I can't see the chat “{typed}”. Add me to the channel as an administrator who may "
        "post, then try again.",
        typed=echo(typed),
    )


# What /channel says about a chat: ``{title}`` is its name (see `of_chat`).
NOT_A_CHANNEL = N_("{title} is not a channel.")
BOT_NOT_CHANNEL_ADMIN = N_(
    "I am not an administrator of {title} who may post messages. Make me one, then try again."
)
USER_NOT_CHANNEL_ADMIN = N_("Only the administrators of {title} can set up its digest.")
CHANNEL_LINKED = N_(
    "✅ Linked {title}. Your commands here now set up its digest: /subscribe, /time, "
    "/settings and the rest. /channels switches between your chats; "
    "<code>/channel me</code> goes back to your own."
)
NO_LONGER_ADMIN = N_(
    "You are no longer an administrator of {title}, so your commands act for your own chat again."
)
# /channel without arguments while a chat is selected.
ACTING_FOR = N_(
    "Your commands act for {title}. <code>/channel me</code> goes back to your own chat."
)


def of_chat(t: Translator, message: Msg, title: str) -> str:
    """``message`` about a chat, its ``{title}`` in bold."""
    return t._(message, title=bold(title, MAX_ECHO))


def of_chat_notice(t: Translator, message: Msg, title: str) -> str:
    """The same, plain, for a button's notice."""
    return t._(message, title=shorten(title, MAX_ECHO, fold=True))


def channels_text(t: Translator, chats: Sequence[tuple[str, bool]]) -> str:
    """The chats a person linked: (name, selected) each."""
    lines = [t._("<b>Your chats</b>")]
    lines += [f"{'✅' if selected else '•'} {escape(name)}" for name, selected in chats]
    lines += ["", t._("Tap a chat to make your commands act for it.")]
    return "\n".join(lines)


def not_admin_any_more(t: Translator, name: str) -> str:
    """A button's notice: it acts for a channel its presser no longer administers."""
    return t._("You are no longer an administrator of {name}.", name=short_name(name))


def acting_header(t: Translator, name: str) -> str:
    """The first line of a reply about a linked channel, said in the private chat."""
    return t._("📢 For {name}:", name=bold(name, MAX_ECHO))


POST_DIGEST_BUTTON = N_("📢 Post it now")
DIGEST_NOT_POSTED = N_("Not posted.")


def post_digest_question(t: Translator, name: str) -> str:
    return t._(
        "Post the digest of {name} in the channel now, for all its readers? "
        "(Your own digest: <code>/channel me</code>, then /digest.)",
        name=bold(name, MAX_ECHO),
    )


def nothing_new_for(t: Translator, name: str) -> str:
    return t._(
        "Nothing new for {name} since its last digest; nothing was posted.",
        name=bold(name, MAX_ECHO),
    )


def follows_nothing(t: Translator, name: str) -> str:
    return t._(
        "{name} follows no tags or words yet, so there is nothing to post. "
        "Try <code>/subscribe negotiations</code>.",
        name=bold(name, MAX_ECHO),
    )


def digest_posted(t: Translator, name: str, outcome: str) -> str:
    """What became of a linked channel's digest posted now (a bot.telegram.send.SendResult)."""
    shown = bold(name, MAX_ECHO)
    if outcome == "sent":
        return t._("✅ Posted the digest in {name}.", name=shown)
    if outcome == "blocked":
        return t._(
            "I can no longer post in {name}: I was removed, or may not post there. Make me "
            "an administrator who may post, then try again.",
            name=shown,
        )
    if outcome == "postponed":
        return t._(
            "Telegram did not take the digest for {name} just now; I'll post it in a few minutes.",
            name=shown,
        )
    return t._(
        "Telegram refused the digest for {name}; its articles wait for the next one.",
        name=shown,
    )


def selected_notice(t: Translator, name: str) -> str:
    return t._("Your commands act for {name}", name=short_name(name))


def destination(t: Translator, thread_id: int | None) -> str:
    """Where a forum supergroup's digests go."""
    if thread_id is None:
        return t._("Digests go to: the General topic")
    return t._("Digests go to: topic {id}", id=thread_id)


TOPIC_CHOOSE_AGAIN = N_(
    "Digests come here, to General, from now on. To choose a topic again, an administrator "
    "sends any command in it, e.g. /settings."
)


def topic_fallback(t: Translator, thread_id: int, *, closed: bool) -> str:
    """Said in General when the topic digests went to refused one (closed or deleted)."""
    if closed:
        gone = t._(
            "⚠️ Topic {id}, where this group's digests were posted, is closed.", id=thread_id
        )
    else:
        gone = t._(
            "⚠️ Topic {id}, where this group's digests were posted, was deleted.", id=thread_id
        )
    return gone + "\n" + t._(TOPIC_CHOOSE_AGAIN)


def topic_reply_refused(t: Translator, thread_id: int, *, closed: bool, moved: bool) -> str:
    """Said in General when a reply in a topic was refused; ``moved``: it was the digests'
    topic, which is General now."""
    if closed:
        refused = t._(
            "I can't answer in topic {id}: it is closed. Reopen it, or send the command in an "
            "open topic or here.",
            id=thread_id,
        )
    else:
        refused = t._(
            "I can't answer in topic {id}: it was deleted. Send the command in another topic "
            "or here.",
            id=thread_id,
        )
    return refused + ("\n" + t._(TOPIC_CHOOSE_AGAIN) if moved else "")
