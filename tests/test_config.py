"""Settings: every wrong value stops start-up with a message naming the variable."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
from collections.abc import Iterator
from datetime import time
from importlib.metadata import version
from pathlib import Path

import pytest
import uvloop

from bot.config import ConfigError, load_settings
from bot.delivery.broadcast import MOST_CONNECTIONS, MOST_IN_FLIGHT, connections_for, in_flight_for
from bot.ops import cli
from bot.ops.cli import NO_TOKEN
from tests.auxil.cli import Here, base_environment, newsbot
from tests.auxil.data import ROOT


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "ADMIN_IDS",
        "DEFAULT_TIMEZONE",
        "DIGEST_MAX_ITEMS",
        "DIGEST_MAX_AGE_DAYS",
        "DEFAULT_DIGEST_TIME",
        "TELEGRAM_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///newsbot.db"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.default_digest_time == time(8)
    assert (settings.digest_max_items, settings.digest_max_age_days) == (10, 7)
    assert settings.admin_ids == frozenset()


def test_values_from_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_IDS=1, 2,3\nDEFAULT_DIGEST_TIME=07:15\n", "utf-8")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "utc+3")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    settings = load_settings()
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.is_admin(2)
    assert not settings.is_admin(None)
    assert settings.default_digest_time == time(7, 15)
    assert settings.default_timezone == "UTC+03:00"
    assert settings.telegram_api_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DIGEST_MAX_ITEMS", "0", "DIGEST_MAX_ITEMS: Input should be greater than or equal to 1"),
        ("DIGEST_MAX_ITEMS", "many", "DIGEST_MAX_ITEMS: Input should be a valid integer"),
        ("DIGEST_MAX_AGE_DAYS", "400", "DIGEST_MAX_AGE_DAYS: Input should be less than"),
        (
            "ADMIN_IDS",
            "alice,bob",
            "ADMIN_IDS: expected comma-separated numeric Telegram user ids",
        ),
        ("DEFAULT_TIMEZONE", "Mars/Base", "DEFAULT_TIMEZONE: 'Mars/Base' is not a known timezone"),
        ("DEFAULT_DIGEST_TIME", "8am", "DEFAULT_DIGEST_TIME: '8am' is not a time of day as HH:MM"),
        ("TELEGRAM_API_URL", "api.telegram.org", "TELEGRAM_API_URL: expected an http(s) URL"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: expected sqlite+aiosqlite:///path.db or"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR"),
    ],
)
def test_wrong_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)


def test_cli_reports_every_wrong_setting_at_once(tmp_path: Path, here: Here) -> None:
    code, out, err = here(
        "import",
        str(tmp_path),
        cwd=tmp_path,
        env=base_environment(
            DIGEST_MAX_ITEMS="-1", ADMIN_IDS="alice", TELEGRAM_API_URL="api.telegram.org"
        ),
    )
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "TELEGRAM_API_URL: expected an http(s) URL, e.g. https://api.telegram.org; "
        "got 'api.telegram.org'",
        "ADMIN_IDS: expected comma-separated numeric Telegram user ids, e.g. 12345,67890; "
        "got 'alice'",
        "DIGEST_MAX_ITEMS: Input should be greater than or equal to 1",
    ]


def test_token_is_a_secret_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:SECRET")
    settings = load_settings()
    assert "SECRET" not in repr(settings)
    assert "SECRET" not in str(settings.model_dump())
    assert settings.telegram_bot_token.get_secret_value() == "123:SECRET"


def test_run_without_a_token_explains_in_one_line(tmp_path: Path, here: Here) -> None:
    code, _, err = here("run", cwd=tmp_path, env={})
    assert code == 2
    assert err == NO_TOKEN + "\n"
    assert "TELEGRAM_BOT_TOKEN" in NO_TOKEN
    assert "@BotFather" in NO_TOKEN
    assert not (tmp_path / "newsbot.db").exists()  # nothing was touched


def test_version(tmp_path: Path) -> None:
    """The one check of the installed console entry point itself: a real process."""
    done = newsbot("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"newsbot {version('newsbot')}\n")


@pytest.mark.parametrize(
    ("command", "argument"),
    [
        ([], "COMMAND"),
        (["run"], "--import"),
        (["run"], "--no-delivery"),
        (["import"], "PATH"),
        (["db"], "ACTION"),
        (["worker"], "-h, --help"),
        (["deliver"], "-h, --help"),
    ],
)
def test_every_argument_has_a_help_line(
    tmp_path: Path, command: list[str], argument: str, here: Here
) -> None:
    code, out, _ = here(*command, "--help", cwd=tmp_path, env={})
    assert code == 0
    [line] = [line for line in out.splitlines() if line.strip().startswith(argument + " ")]
    assert len(line.strip()) > len(argument) + 5  # the name, then words about it


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def test_every_command_says_what_it_does_in_its_help(tmp_path: Path, here: Here) -> None:
    """`newsbot worker --help` and `newsbot db upgrade --help` said nothing but their
    usage line. Walked from the parser itself, so a new command cannot be left out."""
    walked = list(_commands(cli.parser()))
    assert ("db", "upgrade") in [path for path, _ in walked]
    # privacy, privacy export and privacy forget; healthcheck, db backup and db restore
    assert len(walked) == 20
    for path, command in walked:
        assert command.description and len(command.description.split()) >= 8, path
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction | argparse._VersionAction):
                assert action.help and len(action.help.split()) >= 2, (path, action.dest)
        code, out, err = here(*path, "--help", cwd=tmp_path, env={})
        assert (code, err) == (0, ""), path
        assert " ".join(command.description.split()) in " ".join(out.split()), path


def test_make_run_starts_the_real_bot_without_the_invented_seeds() -> None:
    """`make run` imported seeds/ (44 invented articles) into the real bot at every
    start, and sent them to real subscribers; seeds are for `make demo` and the tests."""
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    [command] = [line for line in done.stdout.splitlines() if "newsbot " in line]
    assert command.split()[1:] == ["run"]
    assert "seeds" not in done.stdout


async def test_tests_run_on_uvloop_like_every_newsbot_process() -> None:
    # conftest's pytest_asyncio_loop_factories; the processes' entry points use uvloop.run.
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


@pytest.mark.parametrize(
    ("rate", "paid", "connections", "in_flight"),
    [("29", "false", 8, 64), ("100", "true", 10, 64), ("1000", "true", 100, 400)],
)
def test_connections_and_digests_in_flight_follow_the_rate(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    rate: str,
    paid: str,
    connections: int,
    in_flight: int,
) -> None:
    # At 1,000 a second, 8 connections would carry 80 messages a second at a 100 ms
    # round trip to Telegram.
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_CONNECTIONS", "DELIVERY_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", rate)
    monkeypatch.setenv("PAID_BROADCAST", paid)
    settings = load_settings()
    assert settings.connections == connections
    assert settings.delivery.concurrency == in_flight


def test_connections_and_digests_in_flight_set_by_hand_are_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "1000")
    monkeypatch.setenv("PAID_BROADCAST", "true")
    monkeypatch.setenv("TELEGRAM_CONNECTIONS", "16")
    monkeypatch.setenv("DELIVERY_CONCURRENCY", "40")
    settings = load_settings()
    assert (settings.connections, settings.delivery.concurrency) == (16, 40)
    monkeypatch.setenv("TELEGRAM_CONNECTIONS", "0")
    with pytest.raises(ConfigError, match=r"^TELEGRAM_CONNECTIONS: Input should be greater"):
        load_settings()


def test_connections_and_digests_in_flight_stop_at_their_bounds() -> None:
    # A rate beyond the settings' bounds only comes through model_copy (the benchmarks).
    assert connections_for(1_000_000) == MOST_CONNECTIONS
    assert in_flight_for(MOST_CONNECTIONS) == MOST_IN_FLIGHT
