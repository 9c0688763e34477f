"""The `newsbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.logs import redact, setup_logging

logger = logging.getLogger(__name__)

NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot) and "
    "put its token in .env or the environment; or try `make demo`, which needs no token."
)
NO_ARTICLE_FILES = "{path}: no .txt files in this directory"


def _version() -> str:
    try:
        return version("newsbot")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


async def _import(settings: Settings, paths: Sequence[Path]) -> int:
    from bot.app import open_storage
    from bot.importer import import_files
    from storage.db import create_sessionmaker

    for path in paths:
        if path.is_dir() and not any(p.is_file() for p in path.rglob("*.txt")):
            print(NO_ARTICLE_FILES.format(path=path), file=sys.stderr)
    engine = await open_storage(settings.database_url)
    try:
        report = await import_files(
            create_sessionmaker(engine), paths, progress=sys.stderr.isatty()
        )
    finally:
        await engine.dispose()
    for name, error in report.failures:
        print(f"{name}: {error}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_import(settings, args.paths))


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import open_storage

    async def upgrade() -> None:
        engine = await open_storage(settings.database_url)
        await engine.dispose()

    asyncio.run(upgrade())
    print("database is at the latest schema")
    return 0


async def _serve(settings: Settings, *, polling: bool, delivery: bool) -> None:
    """Run until SIGINT or SIGTERM; a revoked token ends the run with `ConfigError`."""
    from bot.app import TOKEN_REVOKED, build_application, polling_task, running
    from storage.db import describe

    app = build_application(settings, handlers=polling, delivery=delivery, migrate=polling)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, polling=polling):
        logger.info(
            "newsbot %s started as @%s; database %s; %d admin(s); delivery %s",
            "run" if polling else "worker",
            app.bot.username,
            describe(settings.database_url),
            len(settings.admin_ids),
            f"every {settings.delivery_interval_seconds:g} s" if delivery else "off",
        )
        stopped = asyncio.ensure_future(stop.wait())
        revoked = (
            polling_task()
            if polling
            else asyncio.ensure_future(_token_check(app.bot, settings.delivery_interval_seconds))
        )
        waits: list[asyncio.Future[Any]] = [stopped] if revoked is None else [stopped, revoked]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not polling and revoked is not None:
            revoked.cancel()  # the polling task is PTB's: updater.stop ends it
        if not stop.is_set():
            raise ConfigError(TOKEN_REVOKED)


async def _token_check(bot: Bot, every: float) -> None:
    """Return once the Bot API rejects the token (asked every delivery interval). The
    worker does not poll, and delivery postpones digests on any error, so without this
    a revoked token would leave it running and sending nothing."""
    while True:
        await asyncio.sleep(every)
        try:
            await bot.get_me()
        except InvalidToken:
            return
        except TelegramError as error:
            logger.debug("token check: %s", error)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if args.import_paths and asyncio.run(_import(settings, args.import_paths)):
        logger.warning("some files did not import; starting anyway")
    asyncio.run(_serve(settings, polling=True, delivery=not args.no_delivery))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_serve(settings, polling=False, delivery=True))
    return 0


async def _deliver_once(settings: Settings) -> str:
    from bot.app import build_application, opened

    app = build_application(settings, handlers=False, delivery=False, migrate=False)
    async with opened(app):
        report = await app.bot_data.deliverer.run_pass()
    return str(report)


def cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    print(asyncio.run(_deliver_once(settings)))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="newsbot",
        description="A Telegram bot that delivers tag-based news digests. "
        "Settings come from the environment and .env (see .env.example).",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = root.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of:"
    )

    run = commands.add_parser(
        "run", help="start the bot (long polling) and delivery; upgrades the database first"
    )
    run.add_argument(
        "--import",
        dest="import_paths",
        metavar="PATH",
        type=Path,
        nargs="*",
        default=[],
        help="import these article files/directories first",
    )
    run.add_argument("--no-delivery", action="store_true", help="answer chats only")
    run.set_defaults(func=cmd_run, need_token=True)

    commands.add_parser(
        "worker", help="run scheduled delivery only (no chats); needs an upgraded database"
    ).set_defaults(func=cmd_worker, need_token=True)
    commands.add_parser(
        "deliver", help="deliver what is due once, then exit; needs an upgraded database"
    ).set_defaults(func=cmd_deliver, need_token=True)

    imp = commands.add_parser("import", help="import article files and directories")
    imp.add_argument(
        "paths",
        metavar="PATH",
        type=Path,
        nargs="+",
        help="an article .txt file, or a directory whose .txt files are imported",
    )
    imp.set_defaults(func=cmd_import, need_token=False)

    db = commands.add_parser("db", help="database schema")
    db.add_argument(
        "action", choices=["upgrade"], help="upgrade: migrate the database to the latest schema"
    )
    db.set_defaults(func=cmd_db, need_token=False)

    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. Whatever ends it, nothing printed carries the bot token: start-up
    failures are one line per problem, anything unexpected a redacted traceback."""
    args = parser().parse_args(argv)
    secret = ""
    try:
        settings = load_settings()
        secret = settings.telegram_bot_token.get_secret_value()
        if args.need_token and not secret:
            print(NO_TOKEN, file=sys.stderr)
            return 2
        setup_logging(settings.log_level, secret)
        code: int = args.func(args, settings)
    except ConfigError as error:
        print(redact(str(error), secret), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        print(redact(traceback.format_exc(), secret), file=sys.stderr, end="")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
