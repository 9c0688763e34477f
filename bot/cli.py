"""The `newsbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

logger = logging.getLogger(__name__)

NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot) and "
    "put its token in .env or the environment; or try `make demo`, which needs no token."
)


def _settings(*, need_token: bool) -> Settings:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if need_token and not settings.telegram_bot_token:
        print(NO_TOKEN, file=sys.stderr)
        raise SystemExit(2)
    setup_logging(settings.log_level, settings.telegram_bot_token)
    return settings


async def _import(settings: Settings, paths: Sequence[Path]) -> int:
    from bot.importer import import_files
    from storage.db import create_engine, create_sessionmaker, upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        report = await import_files(create_sessionmaker(engine), paths)
    finally:
        await engine.dispose()
    for name, error in report.failures:
        print(f"{name}: {error}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


def cmd_import(args: argparse.Namespace) -> int:
    return asyncio.run(_import(_settings(need_token=False), args.paths))


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import upgrade_url

    settings = _settings(need_token=False)
    upgrade_url(settings.database_url)
    print("database is at the latest schema")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import ALLOWED_UPDATES, build_application

    settings = _settings(need_token=True)
    if args.import_paths and asyncio.run(_import(settings, args.import_paths)):
        logger.warning("some files did not import; starting anyway")
    app = build_application(settings, delivery=not args.no_delivery)
    # run_polling stops cleanly on SIGINT and SIGTERM and runs post_shutdown.
    app.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


async def _run_until_signal(settings: Settings) -> None:
    from bot.app import build_application, running

    app = build_application(settings, handlers=False, delivery=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, polling=False):
        logger.info("worker delivering every %.0f s", settings.delivery_interval_seconds)
        await stop.wait()


def cmd_worker(args: argparse.Namespace) -> int:
    asyncio.run(_run_until_signal(_settings(need_token=True)))
    return 0


async def _deliver_once(settings: Settings) -> str:
    from bot.app import build_application, opened

    app = build_application(settings, handlers=False, delivery=False)
    async with opened(app):
        report = await app.bot_data.deliverer.run_pass()
    return str(report)


def cmd_deliver(args: argparse.Namespace) -> int:
    print(asyncio.run(_deliver_once(_settings(need_token=True))))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="newsbot", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the bot (long polling) and delivery")
    run.add_argument(
        "--import",
        dest="import_paths",
        type=Path,
        nargs="*",
        default=[],
        help="import these article files/directories first",
    )
    run.add_argument("--no-delivery", action="store_true", help="answer chats only")
    run.set_defaults(func=cmd_run)

    commands.add_parser("worker", help="run scheduled delivery only").set_defaults(func=cmd_worker)
    commands.add_parser("deliver", help="deliver what is due once, then exit").set_defaults(
        func=cmd_deliver
    )

    imp = commands.add_parser("import", help="import article files and directories")
    imp.add_argument("paths", type=Path, nargs="+")
    imp.set_defaults(func=cmd_import)

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=cmd_db)

    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
