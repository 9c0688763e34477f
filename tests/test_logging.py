from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

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
