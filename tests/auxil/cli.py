"""Running the `newsbot` command line as a person does: a subprocess with a clean environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

# Only what a shell gives every program; never the developer's own settings.
PASSED = ("PATH", "HOME", "LANG")


def base_environment(**settings: str) -> dict[str, str]:
    """The variables a subprocess of the bot sees: the passed-through ones plus ``settings``."""
    return {**{k: v for k, v in os.environ.items() if k in PASSED}, **settings}


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
