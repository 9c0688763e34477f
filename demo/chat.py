"""`make demo`: the whole bot in a terminal chat, no Telegram token needed.

Same code path as production: the real Application long-polls the Bot API emulator over
loopback HTTP, with a real SQLite file and the real delivery tick. The terminal plays the
Telegram app: what you type is injected as your message, and what the bot sends is shown
with bold, links and numbered buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from bot.app import build_application, running
from bot.config import Settings
from bot.context import BotApplication
from bot.importer import import_files
from bot.logs import setup_logging
from bot.tags import split_tag_list
from demo.feed import FEED_TAGS, DemoFeed
from emulator import BotMessage, Emulator, EmulatorClient
from emulator.settle import settled
from emulator.utf16 import utf16_index
from storage import repo

LATER = Path(__file__).resolve().parent / "later"  # follow-ups of stories in seeds/
USER_ID = 1001
ADMIN_ID = 9001

HELP = """Demo commands (everything else goes to the bot):
  /admin      talk as the admin (try /add, /feeds, /stats, /articles)
  /user       talk as the subscriber again
  /tick       your digest time has come: run the scheduled delivery now
  /later      a day later: follow-up reports of two stories arrive (then /digest
              shows them as "Update:")
  /upload F   send the file F to the bot as a document (as the admin: adds an article)
  1, 2, …     press that button of the bot's last message with buttons
  /quit       leave (Ctrl-D and Ctrl-C work too)
After /add, type the article and end it with a line holding a single '.'."""


def render(message: BotMessage, *, ansi: bool) -> str:
    """The message as a person would read it: bold as bold, links with their URL."""
    text = message.text
    index = utf16_index(text)
    inserts: list[tuple[int, int, str]] = []  # (position, order, marker)
    bold_on, bold_off = ("\033[1m", "\033[0m") if ansi else ("*", "*")
    for entity in message.entities:
        start = index[entity["offset"]]
        end = index[entity["offset"] + entity["length"]]
        if entity["type"] == "bold":
            inserts += [(start, 1, bold_on), (end, 0, bold_off)]
        elif entity["type"] == "text_link":
            inserts.append((end, 0, f" <{entity['url']}>"))
        elif entity["type"] == "italic" and ansi:
            inserts += [(start, 1, "\033[3m"), (end, 0, "\033[0m")]
    out = text
    for position, _, marker in sorted(inserts, reverse=True):
        out = out[:position] + marker + out[position:]
    lines = [out]
    buttons = message.button_texts
    if buttons:
        lines.append("   ".join(f"[{n}] {label}" for n, label in enumerate(buttons, start=1)))
    return "\n".join(lines)


class Terminal:
    """Lines from stdin, read on a daemon thread so that leaving never waits on input."""

    def __init__(self, stream: TextIO) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:
            for line in stream:
                loop.call_soon_threadsafe(self.queue.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(self.queue.put_nowait, None)

        threading.Thread(target=pump, daemon=True).start()

    async def line(self) -> str | None:
        return await self.queue.get()


class Demo:
    def __init__(
        self,
        app: BotApplication,
        emulator: Emulator,
        client: EmulatorClient,
        out: Callable[[str], None],
    ) -> None:
        self.app = app
        self.emulator = emulator
        self.client = client
        self.out = out
        self.identity = USER_ID
        self.cursors = {USER_ID: 0, ADMIN_ID: 0}
        self.last_buttons: dict[int, BotMessage] = {}
        self.ansi = sys.stdout.isatty()

    @property
    def prompt(self) -> str:
        return "admin> " if self.identity == ADMIN_ID else "you> "

    async def show_replies(self) -> None:
        """Print what the bot sent, once it has handled everything it was sent."""
        await settled(self.app, self.emulator)  # still busy after 10 s: show what came
        events = await self.client.events(self.identity, after=self.cursors[self.identity])
        if events:
            self.cursors[self.identity] = events[-1]["seq"]
        for event in events:
            message = BotMessage.from_event(event)
            if message.buttons:
                self.last_buttons[self.identity] = message
            label = "bot (edited) › " if message.edited else "bot › "
            self.out(label + render(message, ansi=self.ansi) + "\n")

    async def tick(self) -> None:
        state = self.app.bot_data
        async with state.sessions.begin() as session:
            subscriber = await repo.get_subscriber(session, self.identity)
            if subscriber is None:
                self.out("(You are not a subscriber yet: try /start or /subscribe first.)\n")
                return
            if subscriber.paused:
                self.out("(You are paused, so no scheduled digest comes: /resume first.)\n")
                return
            subscriber.next_due_at = state.clock()
        self.out("(Your digest time has come; the scheduled delivery runs now.)\n")
        report = await state.deliverer.run_pass()
        if not report.sent:
            self.out("(Nothing new on your tags, so the scheduled digest sends nothing.)\n")
        await self.show_replies()

    async def later(self) -> None:
        """The follow-ups in demo/later/ are stored, as an admin's import would store them."""
        report = await import_files(self.app.bot_data.sessions, [LATER], progress=False)
        self.out(
            f"(A day later: {report.summary()}. They report stories you may have had; "
            "/digest shows each as one 'Update:' entry.)\n"
        )

    async def handle(self, line: str, terminal: Terminal) -> bool:
        """One line the person typed; False when they want to leave."""
        command = line.strip()
        if not command:
            return True
        if command in ("/quit", "/exit"):
            return False
        if command == "/demo":
            self.out(HELP + "\n")
        elif command == "/admin":
            self.identity = ADMIN_ID
            self.out("(You are now the admin, user id 9001.)\n")
        elif command == "/user":
            self.identity = USER_ID
            self.out("(You are the subscriber again, user id 1001.)\n")
        elif command == "/tick":
            await self.tick()
        elif command == "/later":
            await self.later()
        elif command.isdigit():
            await self.press(int(command))
        elif command.startswith("/upload "):
            await self.upload(Path(command.removeprefix("/upload ").strip()))
        elif command.split("@")[0] == "/add" and "\n" not in line:
            await self.add(terminal)
        else:
            await self.client.send_text(self.identity, line)
            await self.show_replies()
        return True

    async def press(self, number: int) -> None:
        message = self.last_buttons.get(self.identity)
        buttons = [b for row in (message.buttons if message else []) for b in row]
        if message is None or not 1 <= number <= len(buttons):
            self.out("(No such button.)\n")
            return
        await self.client.press(
            self.identity, message.message_id, buttons[number - 1]["callback_data"]
        )
        await self.show_replies()

    async def upload(self, path: Path) -> None:
        try:
            content = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.out(f"(Cannot read {path}: {error})\n")
            return
        await self.client.send_document(self.identity, path.name, content)
        await self.show_replies()

    async def add(self, terminal: Terminal) -> None:
        self.out("(Type the article; end with a line holding a single '.')\n")
        lines: list[str] = []
        while (line := await terminal.line()) is not None and line.strip() != ".":
            lines.append(line)
        await self.client.send_text(self.identity, "/add\n" + "\n".join(lines))
        await self.show_replies()


async def _chat(demo: Demo, terminal: Terminal, stream: TextIO) -> None:
    while True:
        demo.out(demo.prompt)
        line = await terminal.line()
        if line is None:
            demo.out("\n")
            return
        if not stream.isatty():
            demo.out(line + "\n")  # echo scripted input, so the transcript reads well
        if not await demo.handle(line, terminal):
            return


async def _demo(seeds: Path, database: Path | None, stream: TextIO) -> int:
    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as tmp:
        db_path = database or Path(tmp) / "demo.db"
        emulator = Emulator()
        await emulator.start()
        feed = DemoFeed()
        await feed.start()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{db_path}",
            telegram_bot_token=SecretStr(emulator.token),
            telegram_api_url=emulator.url,
            admin_ids=frozenset({ADMIN_ID}),
            log_level="WARNING",
            feed_allow_private=True,  # the demo's feed is on 127.0.0.1
            # The emulator sets no limit, and one person chatting needs no pacing: replies
            # come at once instead of 1.05 s apart, as they would against Telegram.
            rate_limit_per_chat_seconds=0,
        )
        setup_logging(settings.log_level, emulator.token)
        client = EmulatorClient(emulator.url)
        try:
            async with running(build_application(settings), poll_timeout=5) as app:
                report = await import_files(app.bot_data.sessions, [seeds], progress=False)
                added = await app.bot_data.feeds.add(feed.url, split_tag_list(FEED_TAGS))
                out(
                    f"newsbot demo: {report.summary()} from {seeds}/; "
                    f"feed {added.feed_id} '{added.title}' at {feed.url} "
                    f"({added.added} articles; /admin then /feeds shows it); "
                    f"database {db_path}; Bot API emulator at {emulator.url}\n"
                    f"{HELP}\nStart with /start, or /subscribe negotiations then /digest; "
                    "then /later and /digest again.\n\n"
                )
                chat = asyncio.create_task(
                    _chat(Demo(app, emulator, client, out), Terminal(stream), stream)
                )
                # Ctrl-C leaves the way /quit does, whatever the chat was waiting for.
                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGINT, chat.cancel)
                try:
                    with contextlib.suppress(asyncio.CancelledError):
                        await chat
                finally:
                    loop.remove_signal_handler(signal.SIGINT)
                if chat.cancelled():
                    out("\n")
        finally:
            await client.aclose()
            await emulator.stop()
            await feed.stop()
        out("Bye.\n")
    return 0


def run_demo(*, seeds: Path, database: Path | None, stream: Any = None) -> int:
    if not seeds.is_dir():
        print(f"newsbot demo: no seeds directory at {seeds}", file=sys.stderr)
        return 2
    return asyncio.run(_demo(seeds, database, stream or sys.stdin))
