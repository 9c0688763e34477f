"""`make demo` as a person uses it: scripted input to the console script, in this process;
Ctrl-C to `python -m demo` as a real process."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import texts
from bot.telegram.context import BotApplication
from demo.__main__ import main as demo_main
from demo.chat import render, wrap
from emulator.client import BotMessage
from emulator.server import Emulator
from tests.auxil.cli import logging_kept
from tests.auxil.data import SEED_COUNT, SEED_SUMMARY, SEED_TITLE, SEEDS

# `newsbot-demo` fed a script (and arguments) in this process: (exit code, stdout,
# stderr); see `demo`.
DemoHere = Callable[..., tuple[int, str, str]]


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> DemoHere:
    """The demo's console script (`demo.__main__.main`) in this process, its stdin holding
    the script. A process spends a second and a half of CPU starting; what only a process
    shows (Ctrl-C) is tested with one."""

    def run(script: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(script))
        capsys.readouterr()
        with logging_kept():
            code = demo_main(["--seeds", str(SEEDS), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_subscribe_digest_and_a_button(demo: DemoHere) -> None:
    script = "/subscribe negotiations\n/digest\n/tags\n2\n/quit\n"
    code, out, err = demo(script)
    assert code == 0, err
    assert f"newsbot demo: {SEED_COUNT} added, 0 updated, 0 unchanged, 0 failed" in out
    assert "; feed 1 'Demo Newsroom' at http://127.0.0.1:" in out
    [metrics, readiness] = re.findall(r"(?:metrics|readiness) at (http://\S+?)[,\n]", out)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", metrics)
    assert readiness == metrics.replace("/metrics", "/readyz")
    assert "bot › ✅ Subscribed to *negotiations*" in out
    assert (
        f"*{SEED_TITLE}* <https://t.me/newsbot_demo_bot?start=a1>\n{SEED_SUMMARY}\n"
        "Ukrainian news · 15 Jul 2024 · 🏷 negotiations"
    ) in out
    # The demo feed's entries are in the digest, each with its own link; the tag that
    # matched, never the feed's name.
    assert "<https://newsroom.example/1>\n" in out
    assert "Demo Newsroom · 1h ago · 🏷 negotiations\n" in out and "Demo_newsroom" not in out
    assert "[1] technology (10)   [2] economy (8)" in out
    assert "bot (edited) › *Popular tags*" in out
    assert "[2] ✅ economy (8)" in out
    assert out.rstrip().endswith("Bye.")


def test_admin_add_stats_and_scheduled_digest(demo: DemoHere) -> None:
    article = (
        "Science 2026-11-27T10:00:00+00:00\nScience Desk\nDemo article <1> & more\n\n"
        "demo tag\n\nIt was added in the demo. More text.\n"
    )
    script = "/subscribe demo tag\n/admin\n/add\n" + article + ".\n/stats\n/user\n/tick\n/tick\n"
    code, out, err = demo(script)  # ends at end of input (Ctrl-D)
    assert code == 0, err
    added = SEED_COUNT + 5 + 1  # the seeds, 5 from the demo feed, 1 added
    assert f"✅ Article stored\nID: {added}\nTitle: *Demo article <1> & more*" in out
    assert f"Articles: {added}" in out
    assert (
        "(Your digest time has come; the scheduled delivery runs now.)\n"
        "bot › *📰 Your digest: 1 new story*" in out
    ), (out, err)
    assert "*Demo article <1> & more* <https://t.me/newsbot_demo_bot?start=a" in out
    assert "\nIt was added in the demo.\nScience Desk · " in out
    assert "(Nothing new on your tags, so the scheduled digest sends nothing.)" in out
    assert out.rstrip().endswith("Bye.")


def test_render_bold_links_and_buttons() -> None:
    message = BotMessage(
        message_id=1,
        text="📰 Head\nRead",
        html="",
        entities=[
            {"type": "bold", "offset": 3, "length": 4},
            {"type": "text_link", "offset": 8, "length": 4, "url": "https://x.org"},
        ],
        buttons=[[{"text": "One", "callback_data": "a"}, {"text": "Two", "callback_data": "b"}]],
    )
    assert render(message, ansi=False) == "📰 *Head*\nRead <https://x.org>\n[1] One   [2] Two"
    assert render(message, ansi=True).startswith("📰 \033[1mHead\033[0m")


def test_tick_while_paused_says_so(demo: DemoHere) -> None:
    code, out, err = demo("/subscribe science\n/pause\n/tick\n/quit\n")
    assert code == 0, err
    assert "(You are paused, so no scheduled digest comes: /resume first.)" in out
    assert "Nothing new on your tags" not in out


async def test_ctrl_c_leaves_like_quit(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demo",
        "--seeds",
        str(SEEDS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    # The prompt appears once the seeds are in and the bot is polling.
    started = await asyncio.wait_for(process.stdout.readuntil(b"you> "), timeout=60)
    assert f"newsbot demo: {SEED_COUNT} added, 0 updated".encode() in started
    process.send_signal(signal.SIGINT)
    rest, errors = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, errors.decode()
    assert rest.decode().rstrip().endswith("Bye.")
    assert errors.decode() == ""


def test_stories_show_other_sources_then_an_update(demo: DemoHere) -> None:
    script = "/subscribe negotiations\n/digest\n/later\n/digest\n/quit\n"
    code, out, err = demo(script)
    assert code == 0, err
    first, _, later = out.partition("(A day later: 2 added")
    # Two seed sources report the grain talks: one entry, the latest report, the first
    # source named.
    assert first.count("Istanbul hosts new round of grain corridor negotiations") == 1
    assert "Grain corridor talks resume in Istanbul" not in first
    assert "first reported by Diplomatic Courier, 27 Oct" in first
    assert "Also: Diplomatic Courier <https://t.me/newsbot_demo_bot?start=a8>" in first
    assert "[2] 📚 Show all 2 reports: Istanbul hosts new round of gra…" in first
    assert "bot › *📰 Your digest: 2 updates*" in later
    assert "*Update: Grain corridor talks in Istanbul end with a draft text" in later
    assert "*Update: Prisoner exchange date set after mediated talks" in later
    assert "Also: Diplomatic Courier <https://t.me/newsbot_demo_bot?start=a8>" in later


def test_show_all_reports_opens_the_story_and_the_compact_layout(demo: DemoHere) -> None:
    script = "/subscribe negotiations\n/digest\n1\n/settings\n2\n/later\n/digest\n/quit\n"
    code, out, err = demo(script)
    assert code == 0, err
    assert "(Opening https://t.me/newsbot_demo_bot?start=s27: your private chat" in out
    assert (
        "bot › 📚 *Prisoner exchange talks continue with mediation*: 2 reports, earliest first\n"
        "• Prisoner exchange talks continue with mediation <https://t.me/newsbot_demo_bot?start=a27>\n"
        "  Ukrainian news · Sun 15 Nov, 13:30\n"
        "• Mediators keep prisoner exchange talks going <https://kyivwire.example/2026/11/15/"
    ) in out
    assert "Layout: compact, one line per story\n" in out
    later = out.rpartition("(A day later")[2]
    assert "bot › *📰 Your digest: 2 updates*\nUpdate: Prisoner exchange date set" in later
    assert "· Kyiv Wire · 16 Nov\nUpdate: Grain corridor talks in Istanbul" in later


def test_a_group_a_channel_inline_mode_search_and_a_saved_opml(
    demo: DemoHere, tmp_path: Path
) -> None:
    """The headline features, each one command away, with lines wrapped between words
    at the width asked for; and /help's /search example finds something."""
    script = (
        "/group\n/subscribe negotiations\n/digest\n/group\n"
        "/channel @newsbot_demo_channel\n/subscribe economy\n/tick\n/channel me\n"
        "/inline grain\n@newsbot_demo_bot zzzqqq\n/search peace talks\n"
        "/admin\n/feeds_export\n/quit\n"
    )
    code, out, err = demo(script, "--width", "60", "--downloads", str(tmp_path))
    assert code == 0, err
    group, _, rest = out.partition("you@Demo group> /group\n")
    # The group: you are its creator; the bot said hello when it was added.
    assert "(You are in the demo group now, as its creator:" in group
    assert "bot › 👋 Thanks for adding me." in group
    assert (
        "you@Demo group> /subscribe negotiations\nbot › ✅ Subscribed to *negotiations*" in group
    )
    assert "📰 Today's digest: " in group and "Your digest" not in group
    assert "Istanbul hosts new round of grain corridor negotiations" in group
    # The channel: linked, set up from the private chat, its digest posted there.
    assert "bot › ✅ Linked *Demo channel*." in rest
    channel = rest.partition("you> /tick\n")[2].partition("you> /channel me")[0]
    assert "@newsbot_demo_channel › " in channel
    assert "Eurozone inflation eases to 2.1% in October" in channel
    # Inline mode, as the Telegram app lists it.
    assert "@newsbot_demo_bot grain › 4 result(s)\n  1. " in rest
    assert "  3. Grain corridor talks resume in Istanbul" in rest
    assert "@newsbot_demo_bot zzzqqq › 0 result(s)" in rest
    # /help's example.
    [example] = [c.about for c in texts.COMMANDS if c.name == "search"]
    assert example.endswith("/search peace talks")
    found = rest.partition("you> /search peace talks\n")[2].partition("you> ")[0]
    assert "Britain holds secret talks with russia on" in found
    # The OPML the bot sent, saved, and where.
    saved = tmp_path / "newsbot-feeds.opml"
    assert f"bot › 📎 newsbot-feeds.opml, saved to\n{saved}" in out
    assert "<opml" in saved.read_text("utf-8")
    assert "demo-newsroom.xml" in saved.read_text("utf-8")
    # Wrapped between words: no line over 60 but an unbreakable word, no word cut.
    for line in out.partition("Start with /start")[2].splitlines():
        assert len(line) <= 60 or " " not in line.strip(), line
    assert "🏷 negotiations" in out
    assert not any(line.endswith("🏷 negotia") for line in out.splitlines())


def test_wrap_folds_between_words_and_keeps_indents() -> None:
    text = "Full text <https://x.example/a>  #negotiations #negotiations_on_Ukraine"
    assert wrap(text, 30).splitlines() == [
        "Full text",
        "<https://x.example/a>",
        "#negotiations",
        "#negotiations_on_Ukraine",
    ]
    assert wrap("     one two three four", 12).splitlines() == [
        "     one two",
        "     three",
        "     four",
    ]
    assert wrap("a\n\nb", 10) == "a\n\nb"
    assert wrap(text, None) == text


async def test_attach_chats_through_a_running_emulator_with_its_bot(
    emulator: Emulator,
    app: BotApplication,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`newsbot-demo --attach URL`: the terminal chat through an emulator someone started
    (`newsbot-emulator`), with the bot `make run` started against it (here in this
    process, the way the other end-to-end tests run it)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("/start\n/group\n/tick\n/quit\n"))
    capsys.readouterr()
    code = await asyncio.to_thread(demo_main, ["--attach", emulator.url])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.startswith(
        f"newsbot demo, attached to the Bot API emulator at {emulator.url} (bot "
        "@newsbot_demo_bot): you are user 1001;"
    )
    assert "you> /start\nbot › 👋 *Welcome to newsbot.*" in out
    assert "bot › 👋 Thanks for adding me." in out
    assert "(/tick needs the demo's own bot; attached to another, it cannot.)" in out
    assert out.rstrip().endswith("Bye.")


def test_attach_to_nothing_says_so(demo: DemoHere) -> None:
    code, _, err = demo("/quit\n", "--attach", "http://127.0.0.1:9")
    assert code == 2
    assert err.startswith("newsbot demo: no Bot API emulator answers at http://127.0.0.1:9: ")
