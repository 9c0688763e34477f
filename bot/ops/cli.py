"""The `newsbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvloop

from bot.config import ConfigError, Settings, load_settings
from bot.ops import commands as ops_commands
from bot.ops.logs import redact, setup_logging
from bot.ops.parsers import actions, command, file_argument, output_file
from bot.privacy import cli as privacy_cli

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.feeds.service import FeedService
    from bot.telegram.context import BotApplication

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
    from bot.telegram.app import open_storage
    from storage.db import create_sessionmaker

    engine = await open_storage(settings.database_url)
    try:
        return await _import_into(create_sessionmaker(engine), paths)
    finally:
        await engine.dispose()


async def _import_into(sessions: async_sessionmaker[AsyncSession], paths: Sequence[Path]) -> int:
    """Import and print the report; 1 when a file failed."""
    from bot.articles.importer import import_files

    for path in paths:
        if path.is_dir() and not any(p.is_file() for p in path.rglob("*.txt")):
            print(NO_ARTICLE_FILES.format(path=path), file=sys.stderr)
    report = await import_files(sessions, paths, progress=sys.stderr.isatty())
    for name, error in report.failures:
        print(f"{name}: {error}", file=sys.stderr)
    for line in report.skipped_lines():
        print(line)
    print(report.summary())
    return 1 if report.failed else 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    return uvloop.run(_import(settings, args.paths))


@asynccontextmanager
async def _feed_service(settings: Settings) -> AsyncIterator[FeedService]:
    from bot.feeds.fetch import Fetcher
    from bot.feeds.service import FeedService
    from bot.telegram.app import open_storage
    from bot.telegram.context import utc_now
    from storage.db import create_sessionmaker

    engine = await open_storage(settings.database_url)
    try:
        policy = settings.feeds
        service = FeedService(
            create_sessionmaker(engine), Fetcher(FeedService.limits(policy)), policy, clock=utc_now
        )
        try:
            yield service
        finally:
            await service.close()
    finally:
        await engine.dispose()


async def _feeds_add(service: FeedService, args: argparse.Namespace) -> int:
    from bot.feeds import lines
    from bot.feeds.model import FeedProblem, parse_feed_tags

    try:
        added = await service.add(args.url, parse_feed_tags(args.tags), name=args.name)
    except FeedProblem as problem:
        print(f"{args.url}: not added: {problem}", file=sys.stderr)
        return 1
    print(lines.feed_added_line(added))
    return 0


async def _feeds_list(service: FeedService, args: argparse.Namespace) -> int:
    from bot.feeds import lines
    from bot.feeds import views as feed_views

    async with service.sessions() as session:
        views = await feed_views.all_feed_views(session, service.clock())
    for view in views:
        print(lines.feed_row(view))
    if not views:
        print("no feeds", file=sys.stderr)
    return 0


async def _feeds_remove(service: FeedService, args: argparse.Namespace) -> int:
    from bot.feeds import views as feed_views

    async with service.sessions.begin() as session:
        feed = await feed_views.remove_feed(session, args.id, service.clock())
    if feed is None:
        print(f"there is no feed {args.id}", file=sys.stderr)
        return 1
    print(f"feed {args.id} removed; its articles stay")
    return 0


async def _feeds_import(service: FeedService, args: argparse.Namespace) -> int:
    from bot.feeds.opml import OpmlError

    try:
        imported = await service.import_opml(_read(args.file))
    except OpmlError as error:
        print(f"{args.file}: not OPML: {error}", file=sys.stderr)
        return 1
    report = await service.check_import(imported)
    for url, reason in report.failed:
        print(f"{url}: {reason}", file=sys.stderr)
    print(
        f"{len(report.added)} added, {len(report.already)} already there, "
        f"{len(report.failed)} failed"
    )
    return 1 if report.failed else 0


async def _feeds_export(service: FeedService, args: argparse.Namespace) -> int:
    from bot.feeds import views as feed_views

    async with service.sessions() as session:
        document = await feed_views.export_opml(session)
    if args.file is None:
        sys.stdout.write(document.decode())
    else:
        try:
            args.file.write_bytes(document)
        except OSError as error:
            raise ConfigError(f"{args.file}: cannot write: {error.strerror}") from None
    return 0


_FEED_ACTIONS = {
    "add": _feeds_add,
    "list": _feeds_list,
    "remove": _feeds_remove,
    "import": _feeds_import,
    "export": _feeds_export,
}


async def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    async with _feed_service(settings) as service:
        return await _FEED_ACTIONS[args.action](service, args)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    return uvloop.run(_feeds(args, settings))


async def _poll(settings: Settings, *, every: bool) -> int:
    from bot.feeds import lines

    async with _feed_service(settings) as service:
        results = await service.poll_due(every=every)
    for result in results:
        print(lines.poll_line(result))
    if not results:
        print("no feed is due" if not every else "no feeds")
    return 1 if any(not result.ok for result in results) else 0


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    return uvloop.run(_poll(settings, every=args.all))


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ops.commands import backup_before_upgrade
    from bot.telegram.app import open_storage

    async def upgrade() -> None:
        engine = await open_storage(settings.database_url)
        await engine.dispose()

    saved = backup_before_upgrade(settings)
    if saved is not None:
        print(f"backed up the database to {saved} before migrating it")
    uvloop.run(upgrade())
    print("database is at the latest schema")
    return 0


async def _serve(
    settings: Settings, *, polling: bool, delivery: bool, imports: Sequence[Path] = ()
) -> None:
    """Run until SIGINT or SIGTERM; a revoked token ends the run with `ConfigError`.
    The Bot API is asked first: a wrong TELEGRAM_API_URL or token stops start-up before
    the database is opened, upgraded or imported into."""
    from bot.ops.service import serving
    from bot.telegram.app import TOKEN_REVOKED, build_application, polling_task, running
    from storage.db import describe

    app = build_application(settings, handlers=polling, delivery=delivery, migrate=polling)
    webhook = polling and bool(settings.webhook_url)

    async def prepare(app: BotApplication) -> None:
        if imports and await _import_into(app.bot_data.sessions, imports):
            logger.warning("some files did not import; starting anyway")

    stop = asyncio.Event()
    async with (
        running(app, polling=polling and not webhook, prepare=prepare),
        serving(app, settings, answers=polling, delivery=delivery) as served,
    ):
        # From here on SIGINT and SIGTERM stop the bot cleanly; during start-up they end
        # the process as usual (there is nothing to stop yet).
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        logger.info(
            "newsbot %s started as @%s; database %s; %d admin(s); delivery %s; %s",
            "run" if polling else "worker",
            app.bot.username,
            describe(settings.database_url),
            len(settings.admin_ids),
            f"every {settings.delivery_interval_seconds:g} s" if delivery else "off",
            served.describe(),
        )
        stopped = asyncio.ensure_future(stop.wait())
        # A revoked token ends PTB's polling task, or (no polling) the getMe probe's.
        polled = polling_task() if polling and not webhook else None
        waits: list[asyncio.Future[Any]] = [stopped, served.revoked]
        if polled is not None:
            waits.append(polled)
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not stop.is_set():
            raise ConfigError(TOKEN_REVOKED)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    uvloop.run(
        _serve(settings, polling=True, delivery=not args.no_delivery, imports=args.import_paths)
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    uvloop.run(_serve(settings, polling=False, delivery=True))
    return 0


async def _deliver_once(settings: Settings) -> str:
    from bot.telegram.app import build_application, opened

    app = build_application(settings, handlers=False, delivery=False, migrate=False)
    async with opened(app):
        report = await app.bot_data.deliverer.run_pass()
    return str(report)


def cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    print(uvloop.run(_deliver_once(settings)))
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

    run = command(
        commands,
        "run",
        "start the bot (long polling) and delivery; upgrades the database first",
        "Start the bot: answer chats (long polling), deliver digests on each subscriber's "
        "schedule and poll news feeds, until SIGINT or SIGTERM. The Bot API is asked first "
        "(TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL), then the database is upgraded. A new "
        "database holds no articles: add them with /add, `newsbot import` or news feeds.",
        func=cmd_run,
        need_token=True,
    )
    run.add_argument(
        "--import",
        dest="import_paths",
        metavar="PATH",
        type=Path,
        nargs="*",
        default=[],
        help="import these article files/directories once the bot has started",
    )
    run.add_argument("--no-delivery", action="store_true", help="answer chats only")

    command(
        commands,
        "worker",
        "run scheduled delivery only (no chats); needs an upgraded database",
        "Deliver scheduled digests and poll news feeds without answering chats, until "
        "SIGINT or SIGTERM: beside `newsbot run --no-delivery`, or several workers on one "
        "PostgreSQL database sharing the load. The database must be at the latest schema "
        "(`newsbot db upgrade`).",
        func=cmd_worker,
        need_token=True,
    )
    command(
        commands,
        "deliver",
        "deliver what is due once, then exit; needs an upgraded database",
        "Deliver every digest that is due now, print what was sent, and exit: for cron or "
        "a systemd timer instead of a running worker. The database must be at the latest "
        "schema (`newsbot db upgrade`).",
        func=cmd_deliver,
        need_token=True,
    )

    imp = command(
        commands,
        "import",
        "import article files and directories",
        "Import article files (the format is in README.md): each file given, and every "
        "*.txt under each directory. Prints 'N added, M updated, K unchanged, F failed' "
        "with each failure's file and line, and each file of an article an admin deleted, "
        "which is skipped; exits 1 when a file failed. Importing again changes nothing.",
        func=cmd_import,
        need_token=False,
    )
    imp.add_argument(
        "paths",
        metavar="PATH",
        type=Path,
        nargs="+",
        help="an article .txt file, or a directory whose .txt files are imported",
    )

    feeds = command(
        commands,
        "feeds",
        "news feeds: add, list, remove, import, export",
        "Manage the news feeds (RSS, Atom, JSON Feed) the bot polls; no token needed.",
        func=cmd_feeds,
        need_token=False,
    )
    feed_actions = actions(feeds)
    add = command(
        feed_actions,
        "add",
        "fetch a feed once and store it if it parses",
        "Fetch the feed at URL once and store it, with its entries as articles, if it "
        "parses; `newsbot run`, `worker` and `poll` keep it up to date.",
    )
    add.add_argument("url", metavar="URL", help="the feed's address (http or https)")
    add.add_argument("--tags", default="", help='tags for its articles, e.g. "economy, Europe"')
    add.add_argument("--name", default=None, help="source name (default: the feed's title)")
    command(
        feed_actions,
        "list",
        "every feed, a tab-separated line each",
        "Every feed, a tab-separated line each: id, title, URL, tags, last poll, status "
        "and the articles it added in the last 24 hours.",
    )
    remove = command(
        feed_actions,
        "remove",
        "stop polling a feed (its articles stay)",
        "Stop polling a feed; its articles stay. Adding the same URL again continues "
        "where it stopped, without repeating its entries.",
    )
    remove.add_argument("id", metavar="ID", type=int, help="the feed's id, from `feeds list`")
    imp_opml = command(
        feed_actions,
        "import",
        "add the feeds an OPML file lists",
        "Add every feed an OPML file lists, each fetched once; prints 'N added, M already "
        "there, F failed' with each failure's reason, and exits 1 when one failed.",
    )
    file_argument(imp_opml, "the OPML file", "FILE.opml")
    export = command(
        feed_actions,
        "export",
        "write the feeds as OPML (default: stdout)",
        "Write every feed as an OPML document, for a feed reader or another newsbot.",
    )
    output_file(export)

    poll = command(
        commands,
        "poll",
        "poll every due feed once, a line per feed, then exit (for cron)",
        "Poll every feed that is due once, print a line per feed and exit; exit code 1 if "
        "a feed failed. For cron, and for trying a feed by hand.",
        func=cmd_poll,
        need_token=False,
    )
    poll.add_argument("--all", action="store_true", help="every feed, due or not")

    db = command(
        commands,
        "db",
        "database schema",
        "The database DATABASE_URL names: `newsbot db upgrade` migrates it (a SQLite one "
        "is backed up first), `db backup FILE` copies it, `db restore FILE` puts a copy back.",
        func=cmd_db,
        need_token=False,
    )
    schema = actions(db, "upgrade, backup or restore")
    command(
        schema,
        "upgrade",
        "migrate the database to the latest schema",
        "Migrate the database DATABASE_URL names to the schema this newsbot needs, then "
        "exit. `newsbot run` does it at start; run it before `worker` or `deliver`. Several "
        "at once on one PostgreSQL database take turns.",
    )
    privacy_cli.add_commands(commands)  # `newsbot privacy export|forget`
    ops_commands.add_commands(commands, schema)  # healthcheck, db backup, db restore

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
        setup_logging(settings.log_level, secret, settings.log_format)
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
