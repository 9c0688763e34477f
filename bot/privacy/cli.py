"""`newsbot privacy export` and `newsbot privacy forget`: for requests that reach the
operator by e-mail rather than through the bot (bot.privacy does the work)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

import uvloop

from bot.config import ConfigError, Settings
from bot.ops.parsers import Commands, actions, command, output_file


def _chat_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a Telegram chat id (a number, e.g. 12345 or -1001234567890); got {text!r}"
        ) from None
    if value == 0 or abs(value) >= 2**63:
        raise argparse.ArgumentTypeError(f"{value} is not a Telegram chat id")
    return value


async def _export(settings: Settings, chat_id: int, target: Path | None) -> int:
    from bot.privacy import service as privacy
    from bot.telegram.app import open_storage
    from bot.telegram.context import utc_now
    from storage.db import create_sessionmaker

    engine = await open_storage(settings.database_url)
    try:
        with tempfile.TemporaryFile() as file:
            async with create_sessionmaker(engine)() as session:
                found = await privacy.export_chat(session, chat_id, file, utc_now())
            if not found:
                print(f"nothing is stored about chat {chat_id}", file=sys.stderr)
                return 1
            file.seek(0)
            _copy(file, target)
    finally:
        await engine.dispose()
    if target is not None:
        print(f"chat {chat_id}: written to {target}", file=sys.stderr)
    return 0


def _copy(file: IO[bytes], target: Path | None) -> None:
    """The export, a block at a time, to ``target`` (standard output when None)."""
    try:
        # Never over a file that is there: it may be the database itself, or the export
        # of another chat.
        out: Any = sys.stdout.buffer if target is None else target.open("xb")
    except FileExistsError:
        raise ConfigError(f"{target} exists; choose a new file name") from None
    except OSError as error:
        raise ConfigError(f"{target}: cannot write: {error.strerror}") from None
    try:
        while block := file.read(1 << 16):
            out.write(block)
        out.flush()
    finally:
        if target is not None:
            out.close()


async def _forget(settings: Settings, chat_id: int) -> int:
    from bot.privacy import service as privacy
    from bot.telegram.app import open_storage
    from storage.db import create_sessionmaker

    engine = await open_storage(settings.database_url)
    try:
        forgotten = await privacy.forget_chat(create_sessionmaker(engine), chat_id)
    finally:
        await engine.dispose()
    if forgotten is None:
        print(f"nothing is stored about chat {chat_id}", file=sys.stderr)
        return 1
    print(
        f"chat {chat_id} forgotten; deleted: subscriptions {forgotten.subscriptions}, "
        f"words {forgotten.words}, ledger rows {forgotten.ledger}, digests "
        f"{forgotten.digests}, links {forgotten.links}"
    )
    return 0


def cmd_privacy(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "export":
        return uvloop.run(_export(settings, args.chat, args.file))
    return uvloop.run(_forget(settings, args.chat))


def add_commands(commands: Commands) -> None:
    """`newsbot privacy export|forget`, each with a --help that says what it does."""
    privacy = command(
        commands,
        "privacy",
        summary="a chat's data: export it, or delete it for good",
        description="What is stored about one chat, for requests that reach the operator "
        "by e-mail: `export` writes it as the JSON document /mydata sends, `forget` deletes "
        "it as /forget does. See README, Privacy. No token needed.",
        func=cmd_privacy,
        need_token=False,
    )
    privacy_actions = actions(privacy)
    export = command(
        privacy_actions,
        "export",
        summary="write everything stored about a chat as JSON (default: stdout)",
        description="Write everything stored about the chat (settings, subscriptions, "
        "words, the articles sent, the digests still kept, links to groups and channels) "
        "as one JSON document, streamed; exits 1 when nothing is stored about it.",
    )
    forget = command(
        privacy_actions,
        "forget",
        summary="delete every row about a chat",
        description="Delete every row about the chat: its settings, subscriptions, words, "
        "ledger, digests and outbox rows, and links (tags and words nobody else uses go "
        "too). A digest being sent to it stops at its next message. Prints what was "
        "deleted; exits 1 when nothing was stored. If the chat writes again, it is a new "
        "chat.",
    )
    for action in (export, forget):
        action.add_argument(
            "--chat",
            required=True,
            type=_chat_id,
            metavar="ID",
            help="the Telegram chat id (a person's user id for their private chat)",
        )
    output_file(export)
