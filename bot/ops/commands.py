"""The operator's commands: `newsbot healthcheck`, `newsbot db backup FILE`,
`newsbot db restore FILE`, and `newsbot db upgrade`'s backup before it migrates."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import uvloop

from bot.config import Settings
from bot.ops.backup import BackupRefused, backup, before_upgrade, restore, sqlite_path
from bot.ops.health import CHECK_TIMEOUT, Check, check_database
from bot.ops.parsers import Commands, command, file_argument
from bot.ops.settings import parse_listen


async def _database(settings: Settings) -> Check:
    from storage.db import create_engine

    database = sqlite_path(settings.database_url)
    if database is not None and not database.is_file():
        return Check("database", False, f"there is no database at {database}")
    engine = create_engine(settings.database_url)
    try:
        return await check_database(engine)
    finally:
        await engine.dispose()


async def _bot_api(settings: Settings) -> Check:
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    from bot.telegram.http import AiohttpRequest

    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        return Check("bot_api", False, "TELEGRAM_BOT_TOKEN is not set")
    api = settings.telegram_api_url
    bot = Bot(token, base_url=f"{api}/bot", request=AiohttpRequest(connections=1))
    try:
        async with bot:  # initialize asks getMe
            return Check("bot_api", True, f"getMe answered: @{bot.username}")
    except InvalidToken:
        return Check("bot_api", False, "TELEGRAM_BOT_TOKEN was rejected")
    except TelegramError as error:
        return Check("bot_api", False, f"getMe failed at {api}: {error}")


def _endpoint(settings: Settings) -> str | None:
    """The running process's /readyz, when it serves one."""
    listen = settings.metrics_listen or (settings.webhook_url and settings.webhook_listen)
    if not listen:
        return None
    return f"{parse_listen(listen).url}/readyz"


async def _process(url: str) -> Check:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as http,
            http.get(url) as response,
        ):
            body = (await response.text()).strip()
    except (aiohttp.ClientError, TimeoutError) as error:
        return Check("process", False, f"{url} does not answer: {error or type(error).__name__}")
    failing = [line.removeprefix("FAIL ") for line in body.splitlines() if line.startswith("FAIL")]
    if response.status == 200:
        return Check("process", True, f"{url} says ready")
    return Check("process", False, f"{url}: {'; '.join(failing) or response.status}")


async def _healthcheck(settings: Settings, *, pre_start: bool) -> list[Check]:
    checks = [await _database(settings), await _bot_api(settings)]
    url = _endpoint(settings)
    if pre_start:
        pass
    elif url is None:
        checks.append(
            Check("process", True, "not asked: it serves no /readyz (METRICS_LISTEN is off)")
        )
    else:
        checks.append(await _process(url))
    return checks


def cmd_healthcheck(args: argparse.Namespace, settings: Settings) -> int:
    checks = uvloop.run(_healthcheck(settings, pre_start=args.pre_start))
    for check in checks:
        print(check)
    return 0 if all(check.ok for check in checks) else 1


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    return _refusable(
        lambda: (
            f"backed up {sqlite_path(settings.database_url)} to "
            f"{backup(settings.database_url, args.file)}"
        )
    )


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    return _refusable(
        lambda: (
            f"restored {restore(settings.database_url, args.file)} from {args.file}; "
            "`newsbot db upgrade` migrates it if older"
        )
    )


def _refusable(act: Callable[[], str]) -> int:
    """Run ``act`` and print what it says it did (exit 0), or why it was refused (exit 1)."""
    try:
        done = act()
    except BackupRefused as refusal:
        print(refusal, file=sys.stderr)
        return 1
    print(done)
    return 0


def backup_before_upgrade(settings: Settings) -> Path | None:
    """Before `newsbot db upgrade` migrates a SQLite database, a copy beside it."""
    from storage.db import create_engine, migration_pending

    database = sqlite_path(settings.database_url)
    if database is None or not database.is_file():
        return None

    async def pending() -> bool:
        engine = create_engine(settings.database_url)
        try:
            return await migration_pending(engine)
        finally:
            await engine.dispose()

    try:
        return before_upgrade(settings.database_url, uvloop.run(pending()))
    except BackupRefused as refusal:
        raise SystemExit(f"not upgraded: the backup before it failed: {refusal}") from None


def add_commands(
    commands: Commands,
    db_actions: Commands,
) -> None:
    health = command(
        commands,
        "healthcheck",
        summary="check the database, the Bot API and the running bot; exit 0 or 1",
        description="Check what /readyz checks, from the command line: the database "
        "answers and is at the newest schema, the Bot API answers getMe, and (when the "
        "running process serves /readyz: METRICS_LISTEN, or WEBHOOK_LISTEN in webhook "
        "mode) the process says it is ready. One line per check; exit code 0 when all "
        "pass, else 1. For a container HEALTHCHECK, or systemd's ExecStartPre with "
        "--pre-start.",
        func=cmd_healthcheck,
        need_token=False,
    )
    health.add_argument(
        "--pre-start",
        action="store_true",
        help="only what can be checked before the bot starts (database, Bot API)",
    )
    save = command(
        db_actions,
        "backup",
        summary="an online, consistent copy of the SQLite database into FILE",
        description="Copy the SQLite database into FILE (a new file) through SQLite's "
        "backup API: consistent, and safe while the bot runs. For PostgreSQL it says how "
        "to use pg_dump and whether it is on the PATH.",
        func=cmd_backup,
    )
    file_argument(save, "the copy to write")
    back = command(
        db_actions,
        "restore",
        summary="write a backup FILE over the SQLite database (the bot stopped)",
        description="Write the backup FILE over the SQLite database DATABASE_URL names. "
        "Refused while a `newsbot run` or `worker` uses it: stop them first.",
        func=cmd_restore,
    )
    file_argument(back, "the backup to restore")
