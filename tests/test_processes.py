"""`newsbot run` and `newsbot worker` as processes: start, work, stop cleanly on signals."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.articles.importer import import_files
from bot.config import Settings
from emulator.client import Chat, EmulatorClient
from emulator.server import Emulator
from storage.db import create_engine, create_sessionmaker, upgrade
from tests.auxil.cli import bot_environment, start_newsbot
from tests.auxil.data import ROOT, SEED_COUNT, SEEDS
from tests.auxil.population import add_subscriber


def environment(emulator: Emulator, db_url: str, **extra: str) -> dict[str, str]:
    return bot_environment(
        db_url,
        emulator,
        ADMIN_IDS="9001",
        RATE_LIMIT_PER_CHAT_SECONDS="0",
        **extra,
    )


async def stop(process: asyncio.subprocess.Process, sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    return process.returncode or 0, output.decode()


async def test_run_answers_and_stops_on_sigterm(
    emulator: Emulator, emu: EmulatorClient, db_url: str, tmp_path: Path
) -> None:
    process = await start_newsbot(
        "run",
        "--import",
        str(SEEDS),
        env=environment(emulator, db_url),
        cwd=tmp_path,
        merge_stderr=True,
    )
    user = Chat(emu, 1001)
    await user.client.send_text(1001, "/subscribe negotiations")
    [reply] = await user.read(timeout=30)
    assert reply.text == "✅ Subscribed to negotiations"
    commands = [c["command"] for c in emulator.state.commands[""]]
    assert commands[:3] == ["start", "help", "subscribe"]
    code, output = await stop(process, signal.SIGTERM)
    assert code == 0, output
    assert emulator.token not in output
    assert f"{SEED_COUNT} added, 0 updated, 0 unchanged, 0 failed" in output
    [started] = [line for line in output.splitlines() if "started as" in line]
    database = make_url(db_url).render_as_string(hide_password=True)
    assert started.endswith(
        f"INFO bot.ops.cli: newsbot run started as @newsbot_demo_bot; "
        f"database {database}; 1 admin(s); delivery every 30 s; updates by long polling; "
        "no HTTP endpoints (METRICS_LISTEN is off)"
    )


async def test_worker_delivers_due_digests_and_stops_on_sigint(
    emulator: Emulator, emu: EmulatorClient, db_url: str, tmp_path: Path
) -> None:
    engine = create_engine(db_url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    await import_files(sessions, [SEEDS])
    settings = Settings(_env_file=None, database_url=db_url)
    now = datetime.now(UTC)
    await add_subscriber(
        sessions, 4242, "science", settings=settings, now=now, due_at=now - timedelta(seconds=5)
    )
    await engine.dispose()
    process = await start_newsbot(
        "worker",
        env=environment(emulator, db_url, DELIVERY_INTERVAL_SECONDS="0.5"),
        cwd=ROOT,
        merge_stderr=True,
    )
    [digest] = await Chat(emu, 4242).read(timeout=30)
    assert digest.text.startswith("📰 Your digest: 8 new stories")
    # A worker does not answer chats: nobody polls for updates.
    assert emulator.state.counters["calls_getUpdates"] == 0
    code, output = await stop(process, signal.SIGINT)
    assert code == 0, output
