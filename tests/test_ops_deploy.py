"""The systemd units in deploy/systemd, and the notifications the bot sends systemd
(READY=1, WATCHDOG=1, STOPPING=1) over a fake NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import configparser
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ops.notify import Notifier
from emulator import Emulator
from tests.auxil.cli import Here, bot_environment, start_newsbot

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
NEWSBOT = Path(sys.executable).parent / "newsbot"
# The directives the units use, by section: a misspelt key is not among them.
KNOWN = {
    "Unit": {"Description", "Documentation", "Wants", "After"},
    "Service": {
        "Type", "NotifyAccess", "User", "Group", "WorkingDirectory", "EnvironmentFile",
        "ExecStartPre", "ExecStart", "WatchdogSec", "TimeoutStartSec", "TimeoutStopSec",
        "Restart", "RestartSec", "RestartPreventExitStatus", "StateDirectory",
        "ReadWritePaths", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
        "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
        "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictAddressFamilies",
        "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
        "SystemCallArchitectures", "SystemCallFilter", "CapabilityBoundingSet",
        "AmbientCapabilities", "UMask", "Nice",
    },
    "Install": {"WantedBy"},
}  # fmt: skip


def _read(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, a key may repeat."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not KEY=value: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.mark.parametrize("name", ["newsbot.service", "newsbot-worker@.service"])
def test_units_are_well_formed_and_hardened(name: str) -> None:
    unit = _read(UNITS / name)
    assert set(unit) == set(KNOWN)
    for section, keys in unit.items():
        assert set(keys) <= KNOWN[section], f"unknown in [{section}]: {set(keys) - KNOWN[section]}"
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["User"] == "newsbot"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    # A worker yields the cores to the process that answers people; that one does not.
    assert service.get("Nice") == ("5" if name.startswith("newsbot-worker") else None)
    command = service["ExecStart"].split()
    assert command[0].endswith("/newsbot")
    assert command[1] == ("run" if name == "newsbot.service" else "worker")
    # Also read by configparser, the other INI reader at hand (keys may repeat in systemd).
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    assert parser.sections() == list(unit)


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """Where systemd-analyze exists (it does where the units are used); elsewhere the
    test above has checked every key and section by hand."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        for name in ("newsbot.service", "newsbot-worker@.service"):
            _read(UNITS / name)  # parsed; the keys were checked against KNOWN above
        return
    paths = []
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/newsbot/.venv/bin/newsbot", str(NEWSBOT))
        name = unit.name.replace("@.", "@1.")  # an instance of the template
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    result = subprocess.run(
        [analyze, "verify", *sorted(paths)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def _fake_notify_socket(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.setblocking(False)
    return listener


async def _messages(listener: socket.socket, until: str, timeout: float = 30) -> list[str]:
    """Datagrams until one carries ``until``."""
    loop = asyncio.get_running_loop()
    got: list[str] = []
    while not any(until in message for message in got):
        data = await asyncio.wait_for(loop.sock_recv(listener, 4096), timeout)
        got.append(data.decode())
    return got


async def test_notifier_sends_ready_watchdog_and_stopping(tmp_path: Path) -> None:
    listener = _fake_notify_socket(tmp_path / "notify")
    with listener:
        notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "40000"})
        assert notifier.watchdog == 0.04
        notifier.ready("serving")
        beats = asyncio.create_task(notifier.keep_alive())
        got = await _messages(listener, "WATCHDOG=1")
        got += await _messages(listener, "WATCHDOG=1")
        beats.cancel()
        notifier.stopping()
        got += await _messages(listener, "STOPPING=1")
    assert got[0].splitlines()[:2] == ["READY=1", "STATUS=serving"]
    assert got.count("WATCHDOG=1") >= 2
    assert not Notifier({}).enabled
    other = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert other.watchdog is None  # the watchdog is another process's


async def test_a_worker_tells_systemd_it_is_ready_alive_and_stopping(
    emulator: Emulator, tmp_path: Path, here: Here
) -> None:
    env = bot_environment(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        emulator,
    )
    assert (await asyncio.to_thread(here, "db", "upgrade", env=env, cwd=tmp_path))[0] == 0
    listener = _fake_notify_socket(tmp_path / "notify")
    with listener:
        process = await start_newsbot(
            "worker",
            env={**env, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"},
            cwd=tmp_path,
        )
        got = await _messages(listener, "READY=1")
        ready = got[-1].splitlines()
        assert (
            ready[1] == "STATUS=no updates (a worker); no HTTP endpoints (METRICS_LISTEN is off)"
        )
        assert ready[2] == f"MAINPID={process.pid}"
        await _messages(listener, "WATCHDOG=1")
        process.send_signal(signal.SIGTERM)
        await _messages(listener, "STOPPING=1")
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
