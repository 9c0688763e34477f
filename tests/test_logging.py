from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.ops.logs import RedactToken, redact, setup_logging

TOKEN = "123456:SECRET-token-value"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)


@pytest.mark.usefixtures("restore_logging")
def test_token_is_scrubbed_from_messages_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("DEBUG", TOKEN)
    log = logging.getLogger("newsbot.test")
    log.info("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    try:
        raise RuntimeError(f"failed on /bot{TOKEN}/getMe")
    except RuntimeError:
        log.exception("boom")
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "bot<token>/sendMessage" in err
    assert "failed on /bot<token>/getMe" in err


@pytest.mark.usefixtures("restore_logging")
def test_httpx_request_logs_are_turned_down() -> None:
    setup_logging("INFO", TOKEN)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING


def test_filter_leaves_other_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert RedactToken(TOKEN).filter(record)
    assert record.getMessage() == "hello world"


def test_redact_is_what_the_command_line_prints_at_exit() -> None:
    assert redact(f"InvalidToken: The token `{TOKEN}` was rejected", TOKEN) == (
        "InvalidToken: The token `<token>` was rejected"
    )
    assert redact("nothing secret", "") == "nothing secret"


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_ids_and_no_token(capsys: pytest.CaptureFixture[str]) -> None:
    import contextvars
    import json

    from bot.ops.logjson import digest_context

    setup_logging("INFO", TOKEN, "json")
    log = logging.getLogger("bot.test")
    log.info("plain line")
    log.warning("feed said %s", TOKEN, extra={"feed_id": 9})

    def send() -> None:  # in a context of its own, as each digest's task is
        digest_context(41, 1001)
        try:
            raise RuntimeError(f"failed on /bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("sending failed")

    contextvars.copy_context().run(send)
    err = capsys.readouterr().err
    assert TOKEN not in err
    lines = [json.loads(line) for line in err.splitlines()]
    assert [line["message"] for line in lines] == [
        "plain line",
        "feed said <token>",
        "sending failed",
    ]
    assert lines[0].keys() == {"time", "level", "logger", "message"}
    assert lines[1]["feed_id"] == 9
    assert lines[1]["level"] == "WARNING"
    assert (lines[2]["digest_id"], lines[2]["chat_id"]) == (41, 1001)
    assert "failed on /bot<token>/sendMessage" in lines[2]["traceback"]
    assert lines[2]["time"].endswith("+00:00")


@pytest.mark.usefixtures("restore_logging")
async def test_a_tick_skipped_while_the_last_run_is_busy_is_no_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """APScheduler warns at every tick that finds the job's last run still going; a
    delivery pass longer than the interval wrote one such line a tick (and, into a pipe
    nobody read, stalled the scale benchmark's workers after ten minutes)."""
    setup_logging("DEBUG", TOKEN)
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
    busy, release, skipped = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def long_pass() -> None:
        busy.set()
        await release.wait()

    scheduler.add_listener(lambda _: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.add_job(
        long_pass, "interval", seconds=0.02, name="delivery", max_instances=1, coalesce=True
    )
    scheduler.start()
    try:
        await asyncio.wait_for(busy.wait(), 5)
        await asyncio.wait_for(skipped.wait(), 5)
    finally:
        release.set()
        scheduler.shutdown(wait=False)
    lines = capsys.readouterr().err.splitlines()
    busy_lines = [line for line in lines if "maximum number of running instances" in line]
    assert busy_lines, lines
    assert all(" DEBUG bot.polling: a tick was skipped: " in line for line in busy_lines)
    assert not [line for line in lines if " WARNING " in line]
