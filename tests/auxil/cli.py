"""Running the `newsbot` command line as a person does: a subprocess with a clean environment."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from emulator import Emulator

# `newsbot ARGS` run in this process: (exit code, stdout, stderr); see `newsbot_sync_here`.
Here = Callable[..., tuple[int, str, str]]

# Only what a shell gives every program; never the developer's own settings.
PASSED = ("PATH", "HOME", "LANG")


def base_environment(**settings: str) -> dict[str, str]:
    """The variables a subprocess of the bot sees: the passed-through ones plus ``settings``."""
    return {**{k: v for k, v in os.environ.items() if k in PASSED}, **settings}


def bot_environment(database_url: str, emulator: Emulator, **settings: str) -> dict[str, str]:
    """`base_environment` for a bot process on ``database_url`` that talks to ``emulator``."""
    return base_environment(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.url,
        **settings,
    )


def newsbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` to completion and capture what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env if env is not None else base_environment(),
        check=False,
        timeout=120,
    )


async def start_newsbot(
    *args: str, env: dict[str, str], cwd: Path, merge_stderr: bool = False
) -> asyncio.subprocess.Process:
    """Start ``python -m bot ARGS`` in the background with its output piped; stderr goes
    into stdout when ``merge_stderr``."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
    )


async def finish_newsbot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """`newsbot` for async tests, whose event loop must keep serving the emulator:
    (exit code, stdout, stderr)."""
    process = await start_newsbot(*args, env=env, cwd=cwd)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@contextmanager
def logging_kept() -> Iterator[None]:
    """`newsbot` (and the demo) set up the root logger; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def newsbot_sync_here(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """`newsbot ARGS` in this process, as the console script calls it (`bot.ops.cli.main`):
    (exit code, stdout, stderr). The environment holds ``env`` and no other setting.
    Much faster than a subprocess, which spends a second on imports; for what only a
    real process shows (signals, exit on a revoked token) use `start_newsbot`."""
    from bot.config import Settings
    from bot.ops.cli import main

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in env.items():
        if name not in PASSED:
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    with logging_kept():
        try:
            code = main(list(args))
        except SystemExit as done:  # --help, --version and usage errors, from argparse
            code = done.code if isinstance(done.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


async def newsbot_here(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """`newsbot_sync_here` for async tests: in a thread with its own event loop, so the
    test's loop keeps serving the emulator and the news site meanwhile."""
    return await asyncio.to_thread(
        newsbot_sync_here, *args, env=env, cwd=cwd, monkeypatch=monkeypatch, capsys=capsys
    )
