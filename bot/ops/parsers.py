"""The pieces every `newsbot` sub-command is built of (bot.ops.cli, bot.ops.commands,
bot.privacy.cli), so that each --help reads alike."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

# Not subscriptable at run time: the annotations that use it are strings.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command(
    commands: Commands, name: str, summary: str, description: str, **defaults: object
) -> argparse.ArgumentParser:
    """A sub-command: ``summary`` is its line in the parent's --help, ``description``
    what its own --help says it does; ``defaults`` go into the parsed arguments (``func``
    runs it, ``need_token`` says whether it needs TELEGRAM_BOT_TOKEN)."""
    parser = commands.add_parser(name, help=summary, description=description)
    parser.set_defaults(**defaults)
    return parser


def file_argument(parser: argparse.ArgumentParser, about: str, metavar: str = "FILE") -> None:
    """The FILE a sub-command reads or writes, required."""
    parser.add_argument("file", metavar=metavar, type=Path, help=about)


def actions(parent: argparse.ArgumentParser, listed: str = "one of:") -> Commands:
    """The ACTION a sub-command needs, e.g. `feeds add`; ``listed`` introduces them."""
    return parent.add_subparsers(dest="action", required=True, metavar="ACTION", help=listed)


def output_file(parser: argparse.ArgumentParser) -> None:
    """An optional FILE to write to, standard output when it is left out."""
    parser.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        nargs="?",
        default=None,
        help="where to write it (default: standard output)",
    )
