"""`newsbot-demo` (and `make demo`): chat with the bot in this terminal, no token needed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from demo.chat import run_demo


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
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_demo(seeds=args.seeds, database=args.database)


if __name__ == "__main__":
    sys.exit(main())
