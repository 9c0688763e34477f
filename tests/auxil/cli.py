"""Running the `newsbot` command line as a person does: a subprocess with a clean environment."""

from __future__ import annotations

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
