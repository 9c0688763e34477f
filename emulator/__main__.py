"""`newsbot-emulator`: the Bot API emulator on loopback, for trying the bot by hand."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from emulator.server import Emulator


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="newsbot-emulator",
        description=(
            "Serve the Telegram Bot API on 127.0.0.1 for a bot under test. Point the bot's "
            "TELEGRAM_API_URL at the printed URL; any well-formed TELEGRAM_BOT_TOKEN works. "
            "Play its users with `newsbot-demo --attach URL`, or by hand through the "
            "control API under URL/_emu/ (README.md, 'The Bot API emulator')."
        ),
    )
    root.add_argument(
        "--port", type=int, default=8081, help="TCP port to listen on (default 8081; 0 = any)"
    )
    root.add_argument(
        "--token",
        default=None,
        help="accept only this bot token (default: the first well-formed token a bot brings)",
    )
    return root


async def serve(port: int, token: str | None) -> None:
    emulator = Emulator(token, port=port) if token else Emulator(port=port, adopt_token=True)
    url = await emulator.start()
    accepted = "only the given token" if token else "any well-formed bot token"
    print(
        f"Bot API emulator at {url}, accepting {accepted}.\n"
        f"Set TELEGRAM_API_URL={url} for the bot; chat with it through "
        f"`newsbot-demo --attach {url}`, or drive it by hand with {url}/_emu/… (README: "
        "The Bot API emulator). Ctrl-C stops it.",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await emulator.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args.port, args.token))
    except OSError as error:
        print(
            f"newsbot-emulator: cannot listen on port {args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
