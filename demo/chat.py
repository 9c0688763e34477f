"""`make demo`: the whole bot in a terminal chat, no Telegram token needed.

Same code path as production: the real Application long-polls the Bot API emulator over
loopback HTTP, with a real SQLite file and the real delivery tick. The terminal plays the
Telegram app: what you type is injected as your message, and what the bot sends is shown
with bold, links and numbered buttons. The emulator also holds a group where you are an
administrator (`/group`) and a channel you own, so the headline features are one command
away. `--attach URL` chats the same way through an emulator someone else started, with
the bot `make run` started against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
import textwrap
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvloop
from pydantic import SecretStr
from sqlalchemy import select, update

from bot.articles.importer import import_files
from bot.articles.tags import split_tag_list
from bot.config import Settings
from bot.ops.logs import setup_logging
from bot.ops.service import serving
from bot.telegram.app import build_application, running
from bot.telegram.context import BotApplication
from demo.feed import FEED_TAGS, DemoFeed
from emulator import BotMessage, Chat, Emulator, EmulatorClient
from emulator.settle import settled
from emulator.utf16 import utf16_index
from storage.models import Subscriber

LATER = Path(__file__).resolve().parent / "later"  # follow-ups of stories in seeds/
USER_ID = 1001
ADMIN_ID = 9001
GROUP_ID = -100100  # a group where you (USER_ID) are the creator
CHANNEL_ID = -100200  # a channel you own, with the bot as an administrator who may post
CHANNEL = "newsbot_demo_channel"
# Attached to someone else's bot, a reply is awaited this long, then taken as complete
# once nothing more came for QUIET seconds (the bot's own process is out of reach).
FIRST_REPLY = 3.0
QUIET = 0.4

HELP = f"""Demo commands (everything else goes to the bot):
  /admin      talk as the admin (try /add, /feeds, /stats, /feeds_export)
  /user       talk as the subscriber again
  /group      into the demo group, where you are an administrator; again: back
  /inline Q   what "@bot Q" offers in any chat (or type @newsbot_demo_bot Q)
  /tick       digest time has come: run the scheduled delivery now
  /later      a day later: follow-up reports of two stories arrive (then
              /digest shows them as "Update:")
  /upload F   send the file F to the bot (as the admin: adds an article)
  1, 2, …     press that button of the bot's last message with buttons
  /quit       leave (Ctrl-D and Ctrl-C work too)
The channel @{CHANNEL} is yours, the bot its administrator:
/channel @{CHANNEL} makes your commands set up its digest, and
its posts show here. A file the bot sends (/feeds_export) is saved, and
its path shown. After /add, type the article; end it with a line of '.'."""


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
            inserts.append((end, 2, f" <{entity['url']}>"))  # after a bold's end: *Title* <url>
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


def wrap(text: str, width: int | None) -> str:
    """Each line folded at ``width`` between words, as a chat app wraps it: the terminal
    would cut words (`#negotia` / `tions`). A word longer than a line (a link) stays
    whole, and an indented line keeps its indent. None: as it is (not a terminal)."""
    if width is None:
        return text
    folded = []
    for line in text.split("\n"):
        indent = line[: len(line) - len(line.lstrip(" "))]
        folded += textwrap.wrap(
            line,
            width,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    return "\n".join(folded)


class Terminal:
    """Lines from stdin, read on a daemon thread so that leaving never waits on input."""

    def __init__(self, stream: TextIO) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:
            # The chat may end first (/quit): then the loop is closed, and so is this.
            with contextlib.suppress(RuntimeError):
                for line in stream:
                    loop.call_soon_threadsafe(self.queue.put_nowait, line.rstrip("\n"))
                loop.call_soon_threadsafe(self.queue.put_nowait, None)

        threading.Thread(target=pump, daemon=True).start()

    async def line(self) -> str | None:
        return await self.queue.get()


@dataclass(frozen=True)
class Local:
    """The demo's own bot and emulator, in this process: replies are read once the bot
    has handled everything (no fixed pause), and /tick and /later reach its database."""

    app: BotApplication
    emulator: Emulator


class Demo:
    def __init__(
        self,
        client: EmulatorClient,
        out: Callable[[str], None],
        *,
        local: Local | None = None,
        bot_username: str = "newsbot_demo_bot",
        width: int | None = None,
        downloads: Path | None = None,
        user_id: int = USER_ID,
        admin_id: int = ADMIN_ID,
    ) -> None:
        self.client = client
        self.out = out
        self.local = local
        self.bot_username = bot_username
        self.width = width
        self.downloads = downloads or Path.cwd()
        self.user_id, self.admin_id = user_id, admin_id
        self.identity = user_id
        self.in_group = False
        self.cursors: dict[int, int] = {}
        self.last_buttons: dict[int, BotMessage] = {}
        self.ansi = sys.stdout.isatty()

    @property
    def chat_id(self) -> int:
        """The chat the terminal shows: your private chat, or the group."""
        return GROUP_ID if self.in_group else self.identity

    @property
    def prompt(self) -> str:
        who = "admin" if self.identity == self.admin_id else "you"
        return f"{who}@Demo group> " if self.in_group else f"{who}> "

    def say(self, text: str) -> None:
        self.out(wrap(text, self.width) + "\n")

    async def set_up(self) -> None:
        """The demo group (you its creator, the admin a member, the bot added by you: it
        says hello there) and your channel (the bot its administrator who may post).
        Attached to an emulator that has them from an earlier demo, they stay as they are."""
        bot = await self.client.bot()
        self.bot_username = str(bot["username"])
        steps: list[Callable[[], Awaitable[Any]]] = [
            lambda: self.client.create_chat(GROUP_ID, "group", "Demo group"),
            lambda: self.client.set_member(GROUP_ID, self.user_id, "creator"),
            lambda: self.client.set_member(GROUP_ID, self.admin_id, "member"),
            lambda: self.client.set_member(GROUP_ID, bot["id"], "member", by_user_id=self.user_id),
            lambda: self.client.create_chat(
                CHANNEL_ID, "channel", "Demo channel", username=CHANNEL
            ),
            lambda: self.client.set_member(CHANNEL_ID, self.user_id, "creator"),
            lambda: self.client.set_member(
                CHANNEL_ID,
                bot["id"],
                "administrator",
                can_post_messages=True,
                by_user_id=self.user_id,
            ),
        ]
        for step in steps:
            try:
                await step()
            except httpx.HTTPStatusError as error:
                if "already exists" not in error.response.text:
                    raise
                break  # an earlier demo set it all up
        for chat_id in (GROUP_ID, CHANNEL_ID):  # the group's hello waits for /group
            self.cursors.setdefault(chat_id, 0)
        await self.wait()

    async def wait(self) -> None:
        """Until the bot has handled what it was sent (as far as can be known)."""
        if self.local is not None:
            await settled(self.local.app, self.local.emulator)  # still busy after 10 s: go on
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_REPLY
        while loop.time() < deadline:
            if not await self.client.pending_updates():
                break
            await asyncio.sleep(0.05)

    async def _new_events(self, chat_id: int, *, first: float = 0) -> list[dict[str, Any]]:
        """The bot's new messages in a chat. Attached to another process's bot: wait up to
        ``first`` seconds for one, then for as long as more keep coming."""
        cursor = self.cursors.get(chat_id, 0)
        events = await self.client.events(
            chat_id, after=cursor, count=1 if first else 0, wait=first
        )
        while events and self.local is None:
            more = await self.client.events(chat_id, after=events[-1]["seq"], count=1, wait=QUIET)
            if not more:
                break
            events += more
        if events:
            self.cursors[chat_id] = events[-1]["seq"]
        return events

    async def show_replies(self, *, expect: bool = True) -> None:
        """Print what the bot sent here, and what it posted in your channel."""
        await self.wait()
        first = FIRST_REPLY if expect and self.local is None else 0
        for event in await self._new_events(self.chat_id, first=first):
            await self._show(event, "bot")
        for event in await self._new_events(CHANNEL_ID):
            await self._show(event, f"@{CHANNEL}")

    async def _show(self, event: dict[str, Any], who: str) -> None:
        message = BotMessage.from_event(event)
        if message.buttons:
            self.last_buttons[self.chat_id] = message
        label = f"{who} (edited) › " if message.edited else f"{who} › "
        text = render(message, ansi=self.ansi)
        if message.file_name is not None:
            saved = await self._save(message.file_name, message.file or "")
            text = f"📎 {message.file_name}, saved to {saved}" + (f"\n{text}" if text else "")
        self.say(label + text)

    async def _save(self, name: str, content: str) -> Path:
        """A file the bot sent, in the downloads folder (never over an existing file)."""
        safe = Path(name).name or "file"
        target = self.downloads / safe
        number = 1
        while target.exists():
            target = self.downloads / f"{Path(safe).stem}-{number}{Path(safe).suffix}"
            number += 1
        await asyncio.to_thread(target.write_text, content, encoding="utf-8")
        return target.resolve()

    def _local(self, command: str) -> Local | None:
        if self.local is None:
            self.say(f"({command} needs the demo's own bot; attached to another, it cannot.)")
        return self.local

    async def tick(self) -> None:
        local = self._local("/tick")
        if local is None:
            return
        state = local.app.bot_data
        chats = (self.identity, GROUP_ID, CHANNEL_ID)
        async with state.sessions.begin() as session:
            here = await session.scalar(
                select(Subscriber).where(Subscriber.chat_id == self.chat_id)
            )
            if here is not None and here.paused:
                self.say("(You are paused, so no scheduled digest comes: /resume first.)")
                return
            due = await session.execute(
                update(Subscriber)
                .where(Subscriber.chat_id.in_(chats), Subscriber.paused.is_(False))
                .values(next_due_at=state.clock())
                .returning(Subscriber.id)
            )
            made_due = len(due.all())
        if not made_due:
            self.say("(You are not a subscriber yet: try /start or /subscribe first.)")
            return
        self.say("(Your digest time has come; the scheduled delivery runs now.)")
        report = await state.deliverer.run_pass()
        if report.due == report.empty:
            self.say("(Nothing new on your tags, so the scheduled digest sends nothing.)")
        elif not report.sent:
            self.say(f"(The digest was composed but not sent yet: {report}; it is retried.)")
        await self.show_replies(expect=False)

    async def later(self) -> None:
        """The follow-ups in demo/later/ are stored, as an admin's import would store them."""
        local = self._local("/later")
        if local is None:
            return
        report = await import_files(local.app.bot_data.sessions, [LATER], progress=False)
        self.say(
            f"(A day later: {report.summary()}. They report stories you may have had; "
            "/digest shows each as one 'Update:' entry.)"
        )

    async def inline(self, query: str) -> None:
        """What the user's Telegram app lists under "@bot query"."""
        try:
            answer = await Chat(self.client, self.identity).inline(query)
        except TimeoutError:
            self.say("(The bot did not answer the inline query.)")
            return
        lines = [f"@{self.bot_username} {query} › {len(answer['results'])} result(s)"]
        for number, result in enumerate(answer["results"], start=1):
            lines.append(f"  {number}. {result['title']}")
            if result.get("description"):
                lines.append(f"     {result['description']}")
        if answer.get("button"):
            lines.append(f"  [{answer['button']['text']}]")
        self.say("\n".join(lines))

    async def handle(self, line: str, terminal: Terminal) -> bool:
        """One line the person typed; False when they want to leave."""
        command = line.strip()
        word, _, rest = command.partition(" ")
        own: dict[str, Callable[[], Awaitable[None]]] = {
            "/demo": self.help,
            "/admin": self.as_admin,
            "/user": self.as_user,
            "/group": self.switch_group,
            "/tick": self.tick,
            "/later": self.later,
        }
        if command in ("/quit", "/exit"):
            return False
        if not command:
            pass
        elif command in own:
            await own[command]()
        elif word in ("/inline", f"@{self.bot_username}"):
            await self.inline(rest.strip())
        elif command.isdigit():
            await self.press(int(command))
        elif word == "/upload" and rest.strip():
            await self.upload(Path(rest.strip()))
        elif command.split("@")[0] == "/add" and "\n" not in line:
            await self.add(terminal)
        else:
            await self.send(line)
        return True

    async def help(self) -> None:
        self.say(HELP)

    async def as_admin(self) -> None:
        self.identity = self.admin_id
        self.say(f"(You are now the admin, user id {self.admin_id}.)")

    async def as_user(self) -> None:
        self.identity = self.user_id
        self.say(f"(You are the subscriber again, user id {self.user_id}.)")

    async def switch_group(self) -> None:
        self.in_group = not self.in_group
        if self.in_group:
            self.say(
                "(You are in the demo group now, as its creator: /subscribe, /time and the "
                "rest set up the group's digest; /group again leaves.)"
            )
            # What came meanwhile; the first time, its hello (attached to another
            # process's bot, it may still be on its way).
            await self.show_replies(expect=self.cursors.get(GROUP_ID, 0) == 0)
        else:
            self.say("(Back in your private chat with the bot.)")

    async def send(self, text: str) -> None:
        if self.in_group:
            await self.client.group_text(GROUP_ID, self.identity, text)
        else:
            await self.client.send_text(self.identity, text)
        await self.show_replies()

    async def press(self, number: int) -> None:
        message = self.last_buttons.get(self.chat_id)
        buttons = [b for row in (message.buttons if message else []) for b in row]
        if message is None or not 1 <= number <= len(buttons):
            self.say("(No such button.)")
            return
        button = buttons[number - 1]
        if "url" in button:  # "Show all N reports": the bot's deep link opens your chat
            await self.open_link(button["url"])
            return
        data = button["callback_data"]
        if self.in_group:
            await self.client.group_press(GROUP_ID, self.identity, message.message_id, data)
        else:
            await self.client.press(self.identity, message.message_id, data)
        await self.show_replies()

    async def open_link(self, url: str) -> None:
        """A URL button: the bot's own deep link starts your private chat with the bot,
        as Telegram does (``/start <payload>``); any other link is only shown."""
        prefix = f"https://t.me/{self.bot_username}?start="
        if not url.startswith(prefix):
            self.say(f"(A link: {url})")
            return
        self.say(f"(Opening {url}: your private chat with the bot.)")
        if self.in_group:
            self.in_group = False
            self.say("(Back in your private chat; /group returns to the group.)")
        await self.send(f"/start {url.removeprefix(prefix)}")

    async def upload(self, path: Path) -> None:
        try:
            content = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.say(f"(Cannot read {path}: {error})")
            return
        await self.client.send_document(self.identity, path.name, content)
        await self.show_replies()

    async def add(self, terminal: Terminal) -> None:
        self.say("(Type the article; end with a line holding a single '.')")
        lines: list[str] = []
        while (line := await terminal.line()) is not None and line.strip() != ".":
            lines.append(line)
        await self.send("/add\n" + "\n".join(lines))


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


async def _talk(demo: Demo, stream: TextIO) -> None:
    """The conversation, until /quit, end of input or Ctrl-C."""
    chat = asyncio.create_task(_chat(demo, Terminal(stream), stream))
    # Ctrl-C leaves the way /quit does, whatever the chat was waiting for (signals reach
    # only the main thread: a demo run in another thread, as a test does, goes without).
    loop = asyncio.get_running_loop()
    main = threading.current_thread() is threading.main_thread()
    if main:
        loop.add_signal_handler(signal.SIGINT, chat.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await chat
    finally:
        if main:
            loop.remove_signal_handler(signal.SIGINT)
    if chat.cancelled():
        demo.out("\n")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


async def _demo(
    seeds: Path, database: Path | None, stream: TextIO, width: int | None, downloads: Path | None
) -> int:
    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as tmp:
        db_path = database or Path(tmp) / "demo.db"
        emulator = Emulator()
        await emulator.start()
        feed = DemoFeed()
        await feed.start()
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{db_path}",
            telegram_bot_token=SecretStr(emulator.token),
            telegram_api_url=emulator.url,
            admin_ids=frozenset({ADMIN_ID}),
            log_level="WARNING",
            feed_allow_private=True,  # the demo's feed is on 127.0.0.1
            # The emulator sets no limit, and one person chatting needs no pacing: replies
            # come at once instead of 1.05 s apart, as they would against Telegram.
            rate_limit_per_chat_seconds=0,
            rate_limit_per_group_seconds=0,
            metrics_listen="127.0.0.1:0",  # /metrics and /readyz on a free port
            alert_chat_id="",
        )
        setup_logging(settings.log_level, emulator.token)
        # A tick run late (the seeds import holds the loop a moment) is no news to the
        # person chatting.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        client = EmulatorClient(emulator.url)
        try:
            async with (
                running(build_application(settings), poll_timeout=5) as app,
                serving(app, settings, answers=True, delivery=True) as served,
            ):
                [endpoint] = served.server.bound.values()
                report = await import_files(app.bot_data.sessions, [seeds], progress=False)
                added = await app.bot_data.feeds.add(feed.url, split_tag_list(FEED_TAGS))
                demo = Demo(
                    client,
                    _write,
                    local=Local(app, emulator),
                    width=width,
                    downloads=downloads,
                )
                await demo.set_up()
                demo.say(
                    f"newsbot demo: {report.summary()} from {seeds}/; "
                    f"feed {added.feed_id} '{added.title}' at {feed.url} "
                    f"({added.added} articles; /admin then /feeds shows it); "
                    f"database {db_path}; Bot API emulator at {emulator.url}; "
                    f"metrics at {endpoint.url}/metrics, readiness at {endpoint.url}/readyz\n"
                    f"{HELP}\nStart with /start, or /subscribe negotiations then /digest; "
                    "then /later and /digest again.\n"
                )
                await _talk(demo, stream)
        finally:
            await client.aclose()
            await emulator.stop()
            await feed.stop()
        _write("Bye.\n")
    return 0


async def _attached(
    url: str, stream: TextIO, width: int | None, downloads: Path | None, user: int, admin: int
) -> int:
    client = EmulatorClient(url.rstrip("/"))
    try:
        try:
            demo = Demo(
                client, _write, width=width, downloads=downloads, user_id=user, admin_id=admin
            )
            await demo.set_up()
        except httpx.HTTPError as error:
            print(f"newsbot demo: no Bot API emulator answers at {url}: {error}", file=sys.stderr)
            return 2
        demo.say(
            f"newsbot demo, attached to the Bot API emulator at {url} (bot "
            f"@{demo.bot_username}): you are user {user}; /admin is user {admin}, an admin "
            f"if the bot's ADMIN_IDS holds it. /tick and /later need the demo's own bot.\n"
            f"{HELP}\n"
        )
        await _talk(demo, stream)
    finally:
        await client.aclose()
    _write("Bye.\n")
    return 0


def terminal_width(given: int | None) -> int | None:
    """The width to wrap at: given, or the terminal's; None when output is not one."""
    if given is not None:
        return max(given, 20)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def run_demo(
    *,
    seeds: Path,
    database: Path | None,
    stream: Any = None,
    attach: str | None = None,
    width: int | None = None,
    downloads: Path | None = None,
    user: int = USER_ID,
    admin: int = ADMIN_ID,
) -> int:
    wrap_at = terminal_width(width)
    if attach is not None:
        return uvloop.run(_attached(attach, stream or sys.stdin, wrap_at, downloads, user, admin))
    if not seeds.is_dir():
        print(f"newsbot demo: no seeds directory at {seeds}", file=sys.stderr)
        return 2
    return uvloop.run(_demo(seeds, database, stream or sys.stdin, wrap_at, downloads))
