"""`newsbot-demo` (and `make demo`): chat with the bot in this terminal, no token needed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from demo.chat import ADMIN_ID, USER_ID, run_demo


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="newsbot-demo",
        description="Chat with the real bot in this terminal; the emulator plays Telegram.",
    )
    root.add_argument(
        "--seeds",
        type=Path,
        default=Path("seeds"),
        help="directory of article files to import first (default: seeds)",
    )
    root.add_argument(
        "--database",
        type=Path,
        default=None,
        help="SQLite file to use (default: a fresh temporary one)",
    )
    root.add_argument(
        "--attach",
        metavar="URL",
        default=None,
        help="chat through the Bot API emulator running at URL (newsbot-emulator), with "
        "the bot that `make run` started against it, instead of a bot of the demo's own",
    )
    root.add_argument(
        "--width",
        type=int,
        default=None,
        help="wrap lines at this many columns (default: the terminal's; none when the "
        "output is not a terminal)",
    )
    root.add_argument(
        "--downloads",
        type=Path,
        default=None,
        help="where files the bot sends (/feeds_export) are saved (default: this directory)",
    )
    root.add_argument(
        "--user", type=int, default=USER_ID, help=f"your user id (default {USER_ID})"
    )
    root.add_argument(
        "--admin",
        type=int,
        default=ADMIN_ID,
        help=f"the user id /admin switches to (default {ADMIN_ID}; with --attach, put it "
        "in the bot's ADMIN_IDS)",
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_demo(
        seeds=args.seeds,
        database=args.database,
        attach=args.attach,
        width=args.width,
        downloads=args.downloads,
        user=args.user,
        admin=args.admin,
    )


if __name__ == "__main__":
    sys.exit(main())
