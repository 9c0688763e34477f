"""A chat forgotten while its digest is being sent (on both backends, PostgreSQL among
them, with a delivery pass running), the retention the delivery tick enforces, and the
operator's `newsbot privacy` commands."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.articles.tags import make_tag
from bot.config import Settings
from bot.telegram.context import BotApplication
from bot.telegram.send import SendResult
from emulator import Chat, EmulatorClient
from emulator.client import BotMessage
from storage import repo
from storage.models import Digest, DigestKind, Subscriber
from tests.auxil.cli import newsbot_here
from tests.auxil.clock import FakeClock
from tests.auxil.data import article
from tests.auxil.running import running_bot

PARTS = 8
READER = 7001


async def a_long_digest(app: BotApplication, clock: FakeClock, chat_id: int) -> None:
    """A subscriber whose digest of PARTS messages was composed and left for the next
    pass to resume (its lease ran out), with the ledger rows of its articles."""
    async with app.bot_data.sessions.begin() as session:
        row = await repo.create_subscriber(
            session,
            chat_id,
            timezone="UTC",
            digest_time=time(8),
            next_due_at=clock() + timedelta(days=1),
            now=clock(),
        )
        stored, _ = await repo.upsert_article(session, article("Kept", "science"), now=clock())
        chunks = [{"text": f"part {n}", "article_ids": []} for n in range(PARTS)]
        new = repo.NewDigest(row.id, DigestKind.SCHEDULED, chunks, [stored.id])
        await repo.create_digests(
            session, [new], now=clock(), lease_until=clock() - timedelta(minutes=1)
        )


async def first_with_buttons(reader: Chat, got: list[BotMessage]) -> BotMessage:
    """The bot's question, among the digest's parts that keep arriving."""
    while not any(message.buttons for message in got):
        got = await reader.read(1)
    return next(message for message in got if message.buttons)


async def the_edit(reader: Chat) -> BotMessage:
    while True:
        edits = [message for message in await reader.read(1) if message.edited]
        if edits:
            return edits[0]


async def parts_received(emu: EmulatorClient, chat_id: int) -> int:
    events = await emu.events(chat_id, kinds="message")
    return sum(1 for e in events if e["message"].get("text", "").startswith("part "))


async def test_a_chat_forgotten_mid_digest_gets_nothing_more_and_keeps_no_row(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    paced = settings.model_copy(update={"rate_limit_per_chat_seconds": 0.3})
    async with running_bot(paced, clock=clock) as app:
        await a_long_digest(app, clock, READER)
        reader = Chat(emu, READER)
        passing = asyncio.create_task(app.bot_data.deliverer.run_pass())
        await emu.events(READER, count=2, wait=10, kinds="message")  # two parts are out
        question = await first_with_buttons(reader, await reader.ask("/forget"))
        data = question.button("Delete")["callback_data"]
        await emu.press(READER, question.message_id, data)
        done = await the_edit(reader)
        at_confirmation = await parts_received(emu, READER)
        report = await passing
        after = await parts_received(emu, READER)
        async with app.bot_data.sessions() as session:
            left = await repo.count_stored(session, READER)
    assert done.text.startswith("✅ Deleted everything")
    assert "1 digest" in done.text and "1 article sent" in done.text
    # At most the message already on its way, nothing after it.
    assert after <= at_confirmation + 1 < PARTS
    assert report.results[SendResult.STOPPED] == 1
    assert left == 0  # and the pass brought no row back


async def test_a_forget_from_another_process_stops_the_digest_at_its_next_message(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    """`newsbot privacy forget` (another process): the pass finds the outbox row gone."""
    paced = settings.model_copy(update={"rate_limit_per_chat_seconds": 0.3})
    async with running_bot(paced, clock=clock, handlers=False, polling=False) as app:
        await a_long_digest(app, clock, READER)
        passing = asyncio.create_task(app.bot_data.deliverer.run_pass())
        await emu.events(READER, count=2, wait=10, kinds="message")  # two parts are out
        async with app.bot_data.sessions.begin() as session:  # as the other process does
            assert await repo.forget_chat(session, READER) is not None
        at_forget = await parts_received(emu, READER)
        report = await passing
        async with app.bot_data.sessions() as session:
            left = await repo.count_stored(session, READER)
    assert await parts_received(emu, READER) <= at_forget + 2 < PARTS
    assert report.results[SendResult.STOPPED] == 1
    assert left == 0


# ---------------------------------------------------------------------------- retention

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


async def test_the_tick_deletes_ledger_rows_of_digests_no_article_of_which_is_selectable(
    emu: EmulatorClient, settings: Settings
) -> None:
    clock = FakeClock(NOW)
    async with running_bot(settings, clock=clock, handlers=False, polling=False) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            sub = await repo.create_subscriber(
                session, 1, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
            )
            ids = {}
            for days in (20, 9, 7, 1):
                made = NOW - timedelta(days=days)
                stored, _ = await repo.upsert_article(
                    session, article(f"Article {days}", "x"), now=made
                )
                new = repo.NewDigest(sub.id, DigestKind.SCHEDULED, [], [stored.id])
                [ids[days]] = await repo.create_digests(session, [new], now=made, lease_until=made)
        await app.bot_data.deliverer.purge()
        async with sessions() as session:
            kept = select(Digest.id).where(Digest.ledger.is_not(None))
            ledger = set((await session.scalars(kept)).all())
            digests = set((await session.scalars(select(Digest.id))).all())
    # DIGEST_MAX_AGE_DAYS 7 plus a day: the ledger of the 9- and 20-day-old digests goes.
    assert ledger == {ids[7], ids[1]}
    assert digests == set(ids.values())  # the digests themselves wait for their own rule


async def test_a_chat_blocked_longer_than_forget_blocked_days_is_forgotten(
    emu: EmulatorClient, settings: Settings
) -> None:
    clock = FakeClock(NOW)
    async with running_bot(settings, clock=clock, delivery=False, polling=True) as app:
        sessions = app.bot_data.sessions
        user = Chat(emu, 8001)
        await user.ask("/subscribe science")
        await emu.block(8001)
        await emu.block(8002)
        async with sessions.begin() as session:
            other = await repo.create_subscriber(
                session, 8002, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
            )
            await repo.subscribe(session, other.id, [], now=NOW)
            row = await repo.get_subscriber(session, 8001)
            assert row is not None
            row.next_due_at = NOW
            await repo.upsert_article(session, article("News", "science"), now=NOW)
        # A delivery meets 403: blocked since now (never before: the chat was active).
        await app.bot_data.deliverer.run_pass()
        async with sessions() as session:
            blocked = await repo.get_subscriber(session, 8001)
            assert blocked is not None and blocked.blocked and blocked.blocked_at == NOW
        clock.advance(days=settings.forget_blocked_days - 1)
        await app.bot_data.deliverer.purge()
        async with sessions() as session:
            assert await repo.count_stored(session, 8001) > 0
        clock.advance(days=1, seconds=1)
        await app.bot_data.deliverer.purge()
        async with sessions() as session:
            assert await repo.count_stored(session, 8001) == 0
            assert await repo.get_subscriber(session, 8002) is not None  # never blocked


async def test_blocked_since_is_kept_while_blocked_and_set_anew_when_blocked_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        row = await repo.create_subscriber(
            session, 9, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
        )
        await repo.mark_blocked(session, row.id, NOW)
        await repo.mark_blocked(session, row.id, NOW + timedelta(days=3))
    async with sessions() as session:
        assert await session.scalar(select(Subscriber.blocked_at)) == NOW
    async with sessions.begin() as session:
        await repo.set_blocked(session, row.id, False)
        await repo.mark_blocked(session, row.id, NOW + timedelta(days=5))
    async with sessions() as session:
        assert await session.scalar(select(Subscriber.blocked_at)) == NOW + timedelta(days=5)


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}


async def test_the_operator_exports_and_forgets_a_chat_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    shell_env: dict[str, str],
) -> None:
    async def newsbot(*args: str) -> tuple[int, str, str]:
        return await newsbot_here(
            *args, env=shell_env, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
        )

    assert await newsbot("db", "upgrade") == (0, "database is at the latest schema\n", "")
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(shell_env["DATABASE_URL"])
    try:
        async with create_sessionmaker(engine).begin() as session:
            row = await repo.create_subscriber(
                session, 555, timezone="UTC", digest_time=time(8), next_due_at=NOW, now=NOW
            )
            [tag] = await repo.ensure_tags(session, [make_tag("economy")])
            await repo.subscribe(session, row.id, [tag.id], now=NOW)
    finally:
        await engine.dispose()
    code, out, _ = await newsbot("privacy", "export", "--chat", "555")
    assert code == 0 and json.loads(out)["subscriptions"] == ["economy"]
    target = tmp_path / "export.json"
    code, _, err = await newsbot("privacy", "export", "--chat", "555", str(target))
    assert code == 0 and err == f"chat 555: written to {target}\n"
    assert json.loads(target.read_text())["chat_id"] == 555
    # A careless second export to a file that is there (the database, even) is refused.
    database = tmp_path / "db.sqlite"
    database.write_bytes(b"precious")
    for there in (target, database):
        before = there.read_bytes()
        code, out, err = await newsbot("privacy", "export", "--chat", "555", str(there))
        assert (code, out, err) == (2, "", f"{there} exists; choose a new file name\n")
        assert there.read_bytes() == before
    assert (await newsbot("privacy", "forget", "--chat", "555"))[:2] == (
        0,
        "chat 555 forgotten; deleted: subscriptions 1, words 0, ledger rows 0, digests 0, "
        "links 0\n",
    )
    assert await newsbot("privacy", "forget", "--chat", "555") == (
        1,
        "",
        "nothing is stored about chat 555\n",
    )
    assert (await newsbot("privacy", "export", "--chat", "555"))[0] == 1
    code, _, err = await newsbot("privacy", "forget", "--chat", "me")
    assert code == 2 and "expected a Telegram chat id" in err
    for action in ("export", "forget"):
        code, out, _ = await newsbot("privacy", action, "--help")
        assert code == 0 and "--chat ID" in out


async def test_counting_a_forgotten_chats_rows_reads_every_table(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        assert await repo.count_stored(session, 1) == 0
        assert await session.scalar(select(func.count()).select_from(Subscriber)) == 0
