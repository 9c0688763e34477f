"""The Application factory shared by `newsbot run`, the worker, the demo and the tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, Chat, InlineQueryResultsButton, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    ContextTypes,
    Defaults,
)

from bot import texts
from bot.config import ConfigError, Settings
from bot.delivery.deliverer import Deliverer
from bot.delivery.presence import Presence
from bot.feeds.fetch import Fetcher
from bot.feeds.service import FeedService
from bot.i18n import Translator, choose, languages, translator
from bot.ops import quiet
from bot.telegram.context import AppState, BotApplication, BotContext, ChatData, Clock, utc_now
from bot.telegram.handlers import add_handlers
from bot.telegram.handlers.privacy import forget_cached
from bot.telegram.http import AiohttpRequest, NotBotApi
from bot.telegram.ratelimit import PacingRateLimiter
from bot.telegram.send import RetryPolicy
from bot.telegram.shared import budget_for
from bot.telegram.updates import ChatUpdateProcessor, Throttle, Verdict, throttle_key
from storage.db import (
    DatabaseUnavailable,
    SchemaNewer,
    SchemaOutdated,
    create_sessionmaker,
    open_database,
)
from util import backoff

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "inline_query", "my_chat_member"]
TOKEN_REJECTED = "TELEGRAM_BOT_TOKEN was rejected by the Bot API (401 Unauthorized)"
TOKEN_MALFORMED = "TELEGRAM_BOT_TOKEN was rejected by the Bot API (404 Not Found): is it whole?"
TOKEN_REVOKED = "TELEGRAM_BOT_TOKEN was rejected by the Bot API while running: revoked?"
UPGRADE_FIRST = "run `newsbot db upgrade` (or start `newsbot run`) first"


async def _post_init(app: BotApplication) -> None:
    state = app.bot_data
    engine = await open_storage(state.settings.database_url, migrate=state.migrate)
    sessions = create_sessionmaker(engine)
    presence = Presence(
        sessions,
        state.clock,
        timeout=state.settings.process_timeout_seconds,
        solo=engine.dialect.name == "sqlite",
    )
    await presence.start()
    deliverer = Deliverer(
        app.bot,
        sessions,
        state.settings.delivery,
        clock=state.clock,
        policy=state.retry_policy,
        stops=state.stops,
        presence=presence,
    )
    deliverer.retention.on_forgotten = lambda chat_id: forget_cached(app, chat_id)
    fetcher = Fetcher(FeedService.limits(state.settings.feeds))
    state.attach(
        engine,
        deliverer,
        FeedService(sessions, fetcher, state.settings.feeds, clock=state.clock),
    )


async def _post_init_with_menu(app: BotApplication) -> None:
    await _post_init(app)
    await register_commands(app)


async def _post_shutdown(app: BotApplication) -> None:
    presence = app.bot_data.presence
    if presence is not None:
        await presence.stop()
    engine, feeds = app.bot_data.detach()
    if feeds is not None:
        await feeds.close()
    if engine is not None:
        await engine.dispose()


async def open_storage(url: str, *, migrate: bool = True) -> AsyncEngine:
    """`open_database`, its failures as a `ConfigError` naming DATABASE_URL."""
    try:
        return await open_database(url, migrate=migrate)
    except (DatabaseUnavailable, SchemaNewer) as error:
        raise ConfigError(f"DATABASE_URL: {error}") from None
    except SchemaOutdated as error:
        raise ConfigError(f"DATABASE_URL: {error}; {UPGRADE_FIRST}") from None


def _unreachable(api: str, error: NetworkError) -> str | None:
    """Why start-up must stop at once, naming TELEGRAM_API_URL; None when waiting may
    help (nothing answers yet, or a proxy in front of Telegram failed)."""
    if isinstance(error.__cause__, aiohttp.TooManyRedirects):
        return f"TELEGRAM_API_URL: {api} redirects in a loop"
    if isinstance(error, NotBotApi) and not (error.status or 0) >= 500:
        return (
            f"TELEGRAM_API_URL: {api} is not the Bot API: getMe got {error.answer}, not the "
            "Bot API's JSON; the setting is the server's root, e.g. https://api.telegram.org"
        )
    return None


def _why(error: NetworkError) -> str:
    """What went wrong reaching the Bot API, in a few words."""
    cause = error.__cause__
    if isinstance(error, NotBotApi):
        return f"it answered {error.answer}"
    if isinstance(error, TimedOut) or isinstance(cause, TimeoutError):
        return "no answer in time"
    if isinstance(cause, aiohttp.ClientConnectorDNSError):
        return f"DNS: no such host {cause.host}"
    if isinstance(cause, aiohttp.ClientConnectorError):
        number = getattr(cause.os_error, "errno", None)
        reason = os.strerror(number).lower() if isinstance(number, int) else str(cause.os_error)
        return f"cannot connect to {cause.host}:{cause.port}: {reason}"
    return str(cause or error).splitlines()[0] if str(cause or error) else type(error).__name__


async def _initialize(app: BotApplication) -> None:
    """Initialize (which asks the Bot API getMe), waiting with backoff while it cannot be
    reached; each wait is logged with its reason. Every failure becomes a `ConfigError`
    naming the setting. Nothing here touches the database."""
    settings = app.bot_data.settings
    api = settings.telegram_api_url
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.telegram_start_retry_seconds
    try:
        for waits in itertools.count():
            try:
                await app.initialize()
                return
            except InvalidToken as error:
                # PTB raises InvalidToken for both; Telegram answers 404 to malformed tokens.
                found = "not found" in str(error.__cause__).lower()
                raise ConfigError(TOKEN_MALFORMED if found else TOKEN_REJECTED) from None
            except NetworkError as error:
                fatal = _unreachable(api, error)
                if fatal is not None:
                    raise ConfigError(fatal) from None
                why = _why(error)
                delay = backoff(waits, 0.25, 10.0)
                if loop.time() + delay > deadline:
                    raise ConfigError(
                        f"TELEGRAM_API_URL: cannot reach the Bot API at {api}: {why}"
                    ) from None
                logger.warning(
                    "the Bot API at %s does not answer (%s); retrying in %g s", api, why, delay
                )
                await asyncio.sleep(delay)
    except BaseException:
        await app.bot.shutdown()  # the HTTP sessions getMe opened
        raise


@asynccontextmanager
async def opened(app: BotApplication) -> AsyncIterator[BotApplication]:
    """Initialize and open the application the way run_polling does, for the code paths
    that do not poll (worker, one delivery pass, tests)."""
    await _initialize(app)
    try:
        if app.post_init is not None:
            await app.post_init(app)
        try:
            yield app
        finally:
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    finally:
        await app.shutdown()


def polling_task() -> asyncio.Task[object] | None:
    """The Updater's long-polling task. PTB ends it on InvalidToken (a 401 or 404 on
    getUpdates: the token was revoked) and never polls again; whoever runs the bot
    watches this task so the process exits instead of living on deaf."""
    for task in asyncio.all_tasks():
        if task.get_name() == "Updater:start_polling:polling_task":
            return task
    return None


@asynccontextmanager
async def running(
    app: BotApplication,
    *,
    polling: bool = True,
    poll_timeout: int = 10,
    prepare: Callable[[BotApplication], Awaitable[object]] | None = None,
) -> AsyncIterator[BotApplication]:
    """Open the application, run ``prepare`` (the Bot API has answered and the database
    is open: `newsbot run --import` imports here), then start long polling (when asked)
    and the job queue; on exit stop them in the order run_polling does. The worker, the
    demo, the benchmarks and the tests all run the bot through this."""
    async with opened(app):
        if prepare is not None:
            await prepare(app)
        if polling:
            assert app.updater is not None
            await app.updater.start_polling(
                poll_interval=0,
                timeout=poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                error_callback=quiet.polling_error,
            )
        await app.start()
        try:
            yield app
        finally:
            # A pass under way ends soon (PTB's stop waits for the running jobs).
            app.bot_data.deliverer.stop()
            if polling:
                assert app.updater is not None
                # A revoked token ended polling with InvalidToken; stop re-raises it.
                with contextlib.suppress(InvalidToken):
                    await app.updater.stop()
            await app.stop()


async def register_commands(app: BotApplication) -> None:
    """Fill the command menu in every language: DEFAULT_LANGUAGE's for everyone, and each
    language's for the users whose Telegram speaks it. A failure is logged, never fatal."""
    default = app.bot_data.settings.default_language
    menus: list[tuple[str | None, str]] = [(None, default)]
    menus += [(code, code) for code in languages()]
    for language_code, code in menus:
        commands = [BotCommand(name, about) for name, about in texts.menu(translator(code))]
        try:
            await app.bot.set_my_commands(commands, language_code=language_code)
        except TelegramError as error:
            logger.warning("could not set the %s command menu: %s", code, error)


async def delivery_tick(context: BotContext) -> None:
    await context.state.deliverer.run_pass()


async def feed_tick(context: BotContext) -> None:
    results = await context.state.feeds.poll_due()
    if results:
        failed = sum(1 for result in results if not result.ok)
        added = sum(result.added for result in results)
        logger.info("polled %d feed(s): %d new article(s), %d failed", len(results), added, failed)


def _sender_translator(app: BotApplication, update: Update) -> Translator:
    """The language of the update's chat as far as this process knows it; without a chat
    (inline mode), the sender's private chat's, else their Telegram's."""
    default = app.bot_data.settings.default_language
    chat, user = update.effective_chat, update.effective_user
    data = app.chat_data.get(chat.id if chat is not None else user.id if user else 0)
    if data is not None and data.language:
        return translator(data.language)
    if chat is None and user is not None:
        return translator(choose(user.language_code, default))
    return translator(default)


async def _refuse(app: BotApplication, update: Update, verdict: Verdict) -> None:
    """What a throttled sender is told: every press "too fast" (so that the button stops
    spinning); a flood of messages or inline queries once, at its first refused update;
    in a group, as a reply to that member."""
    t = _sender_translator(app, update)
    if update.callback_query is not None:
        await update.callback_query.answer(t._(texts.TOO_FAST))
    elif update.inline_query is not None:
        button = InlineQueryResultsButton(text=t._(texts.TOO_FAST), start_parameter="search")
        await update.inline_query.answer([], button=button, cache_time=0, is_personal=True)
    elif (message := update.effective_message) is not None and verdict is Verdict.NOTIFY:
        if message.chat.type == Chat.PRIVATE:
            await app.bot.send_message(message.chat.id, t._(texts.SLOW_DOWN))
        else:
            await message.reply_text(t._(texts.SLOW_DOWN))


def build_application(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    handlers: bool = True,
    delivery: bool = True,
    retry_policy: RetryPolicy | None = None,
    migrate: bool = True,
    feeds: bool | None = None,
) -> BotApplication:
    """The bot. ``handlers`` answers chats; ``delivery`` runs the periodic delivery tick;
    ``feeds`` (by default: with delivery) the feed polling tick; ``migrate`` upgrades the
    database at start, otherwise an older schema stops start-up."""
    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is empty")
    api = settings.telegram_api_url
    processor = ChatUpdateProcessor(
        settings.update_concurrency,
        Throttle(settings.throttle_burst, settings.throttle_per_second),
    )
    limiter = PacingRateLimiter(
        overall_per_second=settings.rate_limit_per_second,
        # On PostgreSQL one budget for every sending process, keyed by the bot's id (the
        # token's number, which is no secret).
        budget=budget_for(
            settings.database_url, int(token.split(":", 1)[0]), settings.rate_limit_per_second
        ),
        per_chat_interval=settings.rate_limit_per_chat_seconds,
        per_group_interval=settings.rate_limit_per_group_seconds,
        max_in_flight=settings.connections,
    )
    app: BotApplication = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(ContextTypes(context=BotContext, bot_data=AppState, chat_data=ChatData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(limiter)
        # Fewer connections than digests in flight: messages wait in the pacer, where
        # waiting is cheap; as many as the rate needs at a 100 ms round trip (8 carry
        # Telegram's free 30 msg/s, 100 a paid 1,000).
        .request(AiohttpRequest(connections=settings.connections))
        # Long polling holds one request open at a time. On aiohttp too: PTB's default
        # (httpx) builds its own TLS context per start, loading the CA bundle each time.
        .get_updates_request(AiohttpRequest(connections=1))
        .concurrent_updates(processor)
        .post_init(_post_init_with_menu if handlers else _post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data.configure(settings, clock, retry_policy or RetryPolicy())
    limiter.stops = app.bot_data.stops  # a forgotten chat's digest stops in the pacer too
    processor.key_of = lambda update: throttle_key(update, app.bot.id, app.bot.username)
    processor.refuse = lambda update, verdict: _refuse(app, update, verdict)
    app.bot_data.migrate = migrate
    if handlers:
        add_handlers(app)
    ticks = [
        (delivery, delivery_tick, settings.delivery_interval_seconds, 1.0, "delivery"),
        (
            delivery if feeds is None else feeds,
            feed_tick,
            settings.feeds.tick_seconds,
            2.0,
            "feeds",
        ),
    ]
    quiet.install()  # a tick skipped while a long pass runs is no warning
    for wanted, tick, interval, first, name in ticks:
        if wanted:
            assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
            # One run at a time; a run missed while the last one was busy is dropped. A
            # run that starts late (a busy event loop, a loaded machine) still runs:
            # APScheduler's default grace of 1 s skipped it, with a warning, and the
            # digests due then waited a whole interval more.
            app.job_queue.run_repeating(
                tick,
                interval=interval,
                first=min(first, interval),
                name=name,
                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            )
    return app
