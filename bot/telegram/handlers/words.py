"""/follow, /unfollow, /mute, /unmute, /search, and their buttons. Each handler: read the
input, call one use case in bot.search, reply. Registration is in `bot.app`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    MaybeInaccessibleMessage,
    Message,
    Update,
    User,
)

from bot import texts
from bot.delivery.compose import article_link
from bot.i18n import Translator, choose, translator
from bot.subscriptions import chats
from bot.subscriptions.schedule import tzinfo_for
from bot.telegram import buttons
from bot.telegram.context import INLINE_CACHE_SECONDS, BotContext, message_of
from bot.telegram.handlers import common
from bot.telegram.handlers.tags import subscriptions_view
from bot.telegram.keyboards import search_keyboard, words_keyboard
from bot.words import search
from bot.words.keywords import Term, TermError, parse_query, parse_terms
from storage.models import Subscriber
from storage.records import Page, WordKind

WORDS_PAGE_SIZE = 10


async def _terms(update: Update, context: BotContext, command: str) -> list[Term] | None:
    """The typed terms, or None once the user was told what is wrong."""
    typed = common.command_text(update)
    try:
        return parse_query(typed) if command == "search" else parse_terms(typed)
    except TermError as error:
        await common.reply(update, context, texts.term_problem(context.t, command, error))
        return None


# ---------------------------------------------------------------- follow and mute


async def follow(update: Update, context: BotContext) -> None:
    await _words(update, context, "follow", WordKind.FOLLOW, add=True)


async def mute(update: Update, context: BotContext) -> None:
    await _words(update, context, "mute", WordKind.MUTE, add=True)


async def unfollow(update: Update, context: BotContext) -> None:
    await _words(update, context, "unfollow", WordKind.FOLLOW, add=False)


async def unmute(update: Update, context: BotContext) -> None:
    await _words(update, context, "unmute", WordKind.MUTE, add=False)


async def _words(
    update: Update, context: BotContext, command: str, kind: WordKind, *, add: bool
) -> None:
    """Follow or mute (``add``), or stop: the outcome per typed term."""
    terms = await _terms(update, context, command)
    if terms is None:
        return
    t, max_age = context.t, timedelta(days=context.settings.digest_max_age_days)
    async with context.sessions.begin() as session:
        subscriber = await common.subscriber_of(session, update, context)
        if add:
            added = await search.add_words(
                session, subscriber, terms, kind, now=context.now(), max_age=max_age
            )
            lines = texts.words_lines(t, added)
        else:
            lines = texts.remove_lines(
                t, await search.remove_words(session, subscriber, terms, kind)
            )
    await common.reply_lines(update, context, lines)


async def words_view(
    t: Translator, session: AsyncSession, subscriber: Subscriber, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the subscriber's words with their ✖ buttons."""
    mine = await search.my_words(session, subscriber)
    if not mine:
        return t._(texts.NO_WORDS), None
    shown = Page.of(len(mine), WORDS_PAGE_SIZE, page)
    rows = shown.of_rows(mine)
    text = texts.words_text(t, [(s, muted) for _, s, muted in rows], shown.number, shown.count)
    return text, words_keyboard(t, rows, chat=subscriber.id, page=shown.number, pages=shown.count)


async def on_remove_word(update: Update, context: BotContext) -> None:
    _, button = common.pressed(update)
    assert isinstance(button, buttons.RemoveWord)

    async def remove(session: AsyncSession, subscriber: Subscriber) -> str | None:
        gone = await search.remove_word(session, subscriber, button.item)
        if gone is None:
            return None
        return texts.word_removed_notice(context.t, gone[0], gone[1] == WordKind.MUTE)

    await common.redraw(update, context, words_view, button.page, remove)


async def on_words_page(update: Update, context: BotContext) -> None:
    _, button = common.pressed(update)
    assert isinstance(button, buttons.WordsPage)
    await common.redraw(update, context, words_view, button.page)


# ---------------------------------------------------------------- search


async def _results(
    context: BotContext, subscriber: Subscriber, found: search.SearchPage, shown: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    zone = tzinfo_for(subscriber.timezone)
    username = context.bot.username
    hits = [
        (
            hit.title,
            hit.summary,
            article_link(username, search.line_of(hit)),
            hit.published_at.astimezone(zone),
        )
        for hit in found.hits
    ]
    first = found.page * search.SEARCH_PAGE_SIZE + 1
    text = texts.search_text(context.t, shown, hits, first=first, more=found.more)
    return text, search_keyboard(context.t, chat=subscriber.id, page=found.page, more=found.more)


async def search_command(update: Update, context: BotContext) -> None:
    terms = await _terms(update, context, "search")
    if terms is None:
        return
    shown = " ".join(t.display for t in terms)
    async with context.sessions.begin() as session:
        subscriber = await common.subscriber_of(session, update, context)
        found = await search.search(session, terms, now=context.now())
    if not found.hits:
        await message_of(update).reply_text(texts.no_results(context.t, shown))
        return
    text, markup = await _results(context, subscriber, found, shown)
    await message_of(update).reply_text(text, reply_markup=markup)


def _query_of(message: MaybeInaccessibleMessage | None) -> list[Term] | None:
    """The terms a results message answered, read back from its first line."""
    if not isinstance(message, Message) or not message.text:
        return None
    typed = texts.query_of(message.text.split("\n", 1)[0])
    try:
        return parse_query(typed) if typed is not None else None
    except TermError:
        return None


async def on_search_page(update: Update, context: BotContext) -> None:
    query, button = common.pressed(update)
    assert isinstance(button, buttons.SearchPage)
    terms = _query_of(query.message)
    if terms is None:
        await query.answer(context.t._(texts.SEARCH_GONE))
        return
    shown = " ".join(t.display for t in terms)
    async with context.sessions.begin() as session:
        subscriber = await common.subscriber_of(session, update, context)
        found = await search.search(session, terms, now=context.now(), page=button.page)
    await query.answer()
    if not found.hits:
        await common.show(query, texts.no_results(context.t, shown), None)
        return
    text, markup = await _results(context, subscriber, found, shown)
    await common.show(query, text, markup)


# ---------------------------------------------------------------- /subscriptions


async def subscriptions(update: Update, context: BotContext) -> None:
    """The subscriber's tags, then (when there are any) their words, each with ✖ buttons."""
    async with context.sessions.begin() as session:
        subscriber = await common.subscriber_of(session, update, context)
        tags_text, tags_markup = await subscriptions_view(context.t, session, subscriber, 0)
        has_words = bool(await search.my_words(session, subscriber))
        words_text, words_markup = await words_view(context.t, session, subscriber, 0)
    await common.reply(update, context, tags_text, tags_markup)
    if has_words:
        await common.reply(update, context, words_text, words_markup)


# ---------------------------------------------------------------- inline mode


def _inline_page(offset: str) -> int:
    """The page an inline query's offset asks for; anything but our own numbers is 0."""
    return int(offset) if offset.isdecimal() and len(offset) <= 6 else 0


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    """What an inline query is answered: a page of results, the offset of the next."""

    results: tuple[InlineQueryResultArticle, ...]
    next_offset: str | None
    button: InlineQueryResultsButton | None


async def _inline_translator(context: BotContext, user: User) -> Translator:
    """The language of the user's private chat with the bot, else their Telegram one;
    read from the process's memory when it can, else once a minute from the database."""
    known = context.application.chat_data.get(user.id)
    language = known.language if known is not None else None
    if language is None:
        remembered = context.state.inline_languages.get(user.id)
        if remembered is None:
            async with context.sessions() as session:
                stored = await chats.language_of(session, user.id)
            remembered = stored or choose(user.language_code, context.settings.default_language)
            context.state.inline_languages[user.id] = remembered
        language = remembered
    return translator(language)


async def inline_search(update: Update, context: BotContext) -> None:
    """``@bot query`` in any chat: matching articles to share, ten at a time as the user
    scrolls. Nobody is made a subscriber by it, and bad input gets a hint, not an error.
    Clients send a query per keystroke: the same query in the same language is answered
    from a cache for a minute (as long as Telegram is told it may cache it)."""
    inline = update.inline_query
    assert inline is not None
    t = await _inline_translator(context, inline.from_user)
    try:
        terms = parse_query(inline.query)
    except TermError as error:
        hint = InlineQueryResultsButton(
            text=texts.inline_hint(t, error.problem), start_parameter="search"
        )
        await inline.answer([], button=hint, cache_time=0, is_personal=True)
        return
    page = _inline_page(inline.offset)
    key = (tuple(term.key for term in terms), t.code, page)
    answer = context.state.inline_answers.get(key)
    if answer is None:
        answer = await _single_flight(
            context, key, lambda: _inline_answer(context, t, terms, page)
        )
    await inline.answer(
        answer.results,
        cache_time=INLINE_CACHE_SECONDS,
        is_personal=True,  # the texts are in the user's language
        next_offset=answer.next_offset,
        button=answer.button,
    )


async def _single_flight(
    context: BotContext, key: Hashable, make: Callable[[], Awaitable[InlineAnswer]]
) -> InlineAnswer:
    """The answer for ``key``, made once however many of the same queries arrive while it
    is being made (a flood of one query would otherwise run as many searches at once),
    then cached."""
    pending = context.state.inline_pending
    task = pending.get(key)
    if task is None:
        task = pending[key] = asyncio.ensure_future(make())
        task.add_done_callback(lambda _: pending.pop(key, None))
    answer: InlineAnswer = await asyncio.shield(task)
    context.state.inline_answers[key] = answer
    return answer


async def _inline_answer(
    context: BotContext, t: Translator, terms: list[Term], page: int
) -> InlineAnswer:
    async with context.sessions() as session:
        found = await search.search(session, terms, now=context.now(), page=page)
    username = context.bot.username
    results = tuple(
        InlineQueryResultArticle(
            id=str(hit.id),
            title=texts.inline_title(hit.title),
            description=texts.inline_description(t, hit.summary, hit.published_at),
            input_message_content=InputTextMessageContent(
                texts.shared_article(
                    t,
                    hit.title,
                    hit.summary,
                    article_link(username, search.line_of(hit)),
                    hit.published_at,
                )
            ),
        )
        for hit in found.hits
    )
    nothing = InlineQueryResultsButton(text=texts.inline_nothing(t), start_parameter="search")
    return InlineAnswer(
        results,
        next_offset=str(page + 1) if found.more else None,
        button=None if results or page else nothing,
    )
