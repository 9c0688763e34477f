"""Scheduled delivery against the emulator: exactly once per period, through faults."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot.articles.importer import import_files
from bot.config import Settings
from bot.delivery.outbox import LEASE
from bot.telegram.context import BotApplication
from bot.telegram.send import SendResult
from emulator.client import Chat, EmulatorClient
from storage import repo
from storage.models import Digest, DigestMessage, DigestStatus, Subscriber
from tests.auxil.clock import FakeClock
from tests.auxil.data import SEED_TITLE, SEEDS, USER_ID, article
from tests.auxil.population import add_subscriber, composed_digest, next_due_of
from tests.auxil.running import running_bot


async def bot_messages(emu: EmulatorClient, chat_id: int) -> list[str]:
    return [e["message"]["text"] for e in await emu.events(chat_id) if e["kind"] == "message"]


async def digest_count(app: BotApplication, status: str = "sent") -> int:
    async with app.bot_data.sessions() as session:
        query = select(func.count()).select_from(Digest).where(Digest.status == status)
        return int(await session.scalar(query) or 0)


async def ticks(app: BotApplication, count: int, timeout: float = 10.0) -> None:
    """Wait until the periodic job has completed ``count`` more delivery passes."""
    deliverer = app.bot_data.deliverer
    target = deliverer.passes + count
    async with asyncio.timeout(timeout):
        await deliverer.wait_for_passes(target)


async def test_due_subscriber_gets_one_digest_and_the_time_advances(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 501, "negotiations", settings=settings, now=clock())
    assert await next_due_of(sessions, 501) == datetime(2026, 3, 2, 8, tzinfo=UTC)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.due == 0
    clock.set(datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC))
    report = await seeded.bot_data.deliverer.run_pass()
    assert (report.due, report.results[SendResult.SENT]) == (1, 1)
    [digest] = await bot_messages(emu, 501)
    assert SEED_TITLE in digest
    assert await next_due_of(sessions, 501) == datetime(2026, 3, 3, 8, tzinfo=UTC)
    again = await seeded.bot_data.deliverer.run_pass()
    assert again.due == 0
    assert len(await bot_messages(emu, 501)) == 1


async def test_nothing_new_sends_nothing_but_the_time_advances(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(
        sessions, 502, "no such topic", settings=settings, now=clock(), due_at=clock()
    )
    report = await seeded.bot_data.deliverer.run_pass()
    assert (report.due, report.empty) == (1, 1)
    assert await bot_messages(emu, 502) == []
    assert await next_due_of(sessions, 502) == datetime(2026, 3, 2, 8, tzinfo=UTC)


async def test_paused_and_blocked_subscribers_get_nothing(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(
        sessions, 503, "science", settings=settings, now=clock(), due_at=clock(), paused=True
    )
    await add_subscriber(
        sessions, 504, "science", settings=settings, now=clock(), due_at=clock(), blocked=True
    )
    clock.advance(days=2)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.due == 0
    assert await bot_messages(emu, 503) == []
    assert await bot_messages(emu, 504) == []


async def test_catch_up_after_downtime_is_one_digest(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 505, "science", settings=settings, now=clock())
    clock.set(datetime(2026, 3, 5, 9, 30, tzinfo=UTC))  # three missed 08:00 digests
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.SENT] == 1
    assert len(await bot_messages(emu, 505)) == 1
    assert await next_due_of(sessions, 505) == datetime(2026, 3, 6, 8, tzinfo=UTC)
    await seeded.bot_data.deliverer.run_pass()
    assert len(await bot_messages(emu, 505)) == 1


async def test_429_is_waited_out_and_the_message_sent_once(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 506, "science", settings=settings, now=clock(), due_at=clock())
    await emu.add_fault(
        "sendMessage", 429, "Too Many Requests: retry after 1", chat_id=506, retry_after=1
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    report = await seeded.bot_data.deliverer.run_pass()
    assert loop.time() - started >= 0.95  # the timer may fire a hair early, never late
    assert report.results[SendResult.SENT] == 1
    assert len(await bot_messages(emu, 506)) == 1
    assert (await emu.stats())["fault_429"] == 1


async def test_502_twice_then_success_delivers_once(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 507, "science", settings=settings, now=clock(), due_at=clock())
    await emu.add_fault("sendMessage", 502, "Bad Gateway", chat_id=507, times=2)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.SENT] == 1
    assert len(await bot_messages(emu, 507)) == 1
    assert await digest_count(seeded) == 1


async def test_persistent_5xx_leaves_the_digest_for_the_next_tick(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 508, "science", settings=settings, now=clock(), due_at=clock())
    await add_subscriber(sessions, 509, "science", settings=settings, now=clock(), due_at=clock())
    await emu.add_fault("sendMessage", 500, "Internal Server Error", chat_id=508, times=3)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.POSTPONED] == 1
    assert report.results[SendResult.SENT] == 1  # the other subscriber was not held up
    assert await bot_messages(emu, 508) == []
    clock.advance(seconds=30)
    report = await seeded.bot_data.deliverer.run_pass()
    assert (report.resumed, report.results[SendResult.SENT], report.due) == (1, 1, 0)
    assert len(await bot_messages(emu, 508)) == 1
    assert len(await bot_messages(emu, 509)) == 1


async def test_403_for_one_chat_among_many(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    chats = list(range(600, 620))
    for chat in chats:
        await add_subscriber(
            sessions, chat, "weather", settings=settings, now=clock(), due_at=clock()
        )
    await emu.block(607)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.SENT] == 19
    assert report.results[SendResult.BLOCKED] == 1
    for chat in chats:
        assert len(await bot_messages(emu, chat)) == (0 if chat == 607 else 1)
    async with sessions() as session:
        blocked = (
            await session.scalars(select(Subscriber.chat_id).where(Subscriber.blocked))
        ).all()
        assert blocked == [607]
        # What was not delivered stays undelivered, so it can come after they return.
        subscriber = await repo.get_subscriber(session, 607)
        assert subscriber is not None
        assert await repo.delivered_article_ids(session, subscriber.id) == []
    clock.advance(days=1)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.SENT] == 0  # the blocked chat is not tried again


async def test_a_user_who_blocked_the_bot_and_returns_gets_digests_again(
    seeded: BotApplication, user: Chat, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    await user.ask("/subscribe weather")
    await emu.block(USER_ID, missing=True)  # "chat not found" is treated like a block
    clock.set(datetime(2026, 3, 2, 8, 1, tzinfo=UTC))
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.BLOCKED] == 1
    await emu.block(USER_ID, blocked=False, missing=True)
    await user.ask("/start")
    clock.set(datetime(2026, 3, 3, 8, 1, tzinfo=UTC))
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.results[SendResult.SENT] == 1
    [digest] = await user.read()
    assert digest.text.startswith("📰 Your digest: 6 new stories")


async def test_restart_between_ticks_never_resends(
    settings: Settings, clock: FakeClock, emu: EmulatorClient, seeded: BotApplication
) -> None:
    await add_subscriber(
        seeded.bot_data.sessions, 510, "science", settings=settings, now=clock(), due_at=clock()
    )
    await seeded.bot_data.deliverer.run_pass()
    async with running_bot(settings, clock=clock, handlers=False, polling=False) as restarted:
        report = await restarted.bot_data.deliverer.run_pass()
        assert (report.due, report.resumed) == (0, 0)
        clock.advance(minutes=10)
        report = await restarted.bot_data.deliverer.run_pass()
        assert (report.due, report.resumed) == (0, 0)
    assert len(await bot_messages(emu, 510)) == 1


async def test_a_digest_interrupted_mid_send_resumes_from_the_first_unsent_message(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 511, "technology", settings=settings, now=clock())
    # A process composed a two-part digest, sent part 1, and died before part 2.
    async with sessions.begin() as session:
        outbound = await composed_digest(session, 511, settings=settings, now=clock())
        # Its message becomes part 2; part 1's text went when it was recorded sent.
        await session.execute(
            update(DigestMessage)
            .where(DigestMessage.digest_id == outbound.digest_id)
            .values(position=1)
        )
    async with sessions.begin() as session:
        await repo.record_sent(
            session, [repo.SentProgress(outbound.digest_id, [1], 2)], now=clock(), lease=LEASE
        )
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.resumed == 0  # its lease still runs: the sender might be alive
    clock.advance(seconds=LEASE.total_seconds() + 1)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.resumed == 1
    messages = await bot_messages(emu, 511)
    assert len(messages) == 1
    assert messages[0].startswith("📰 Your digest")
    assert await digest_count(seeded) == 1
    async with sessions() as session:
        digest = await session.get(Digest, outbound.digest_id)
        assert digest is not None
        assert digest.sent_chunks == 2
        assert digest.message_ids[0] == 1
        assert digest.sent_at is not None


async def test_parts_of_a_split_digest_are_paced_per_chat(
    emulator: object, emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    paced = settings.model_copy(
        update={"rate_limit_per_chat_seconds": 1.0, "digest_max_items": 50}
    )
    async with running_bot(paced, clock=clock, handlers=False, polling=False) as app:
        sessions = app.bot_data.sessions
        async with sessions.begin() as session:
            for n in range(14):
                await repo.upsert_article(
                    session, article(f"Headline {n} " + "long words " * 25, "pacing"), now=clock()
                )
        await add_subscriber(sessions, 512, "pacing", settings=paced, now=clock(), due_at=clock())
        await app.bot_data.deliverer.run_pass()
    events = [e for e in await emu.events(512) if e["kind"] == "message"]
    assert len(events) >= 2
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(events)]
    assert min(gaps) >= 0.9, gaps  # unpaced, they would be milliseconds apart


async def test_a_subscriber_who_sets_the_next_minute_gets_the_digest_by_itself(
    emulator: object, emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    ticking = settings.model_copy(update={"delivery_interval_seconds": 0.05})
    async with running_bot(ticking, clock=clock, delivery=True) as app:
        await import_files(app.bot_data.sessions, [SEEDS], clock=clock)
        user = Chat(emu, USER_ID)
        await user.ask("/subscribe negotiations")
        [reply] = await user.ask("/time 06:01")  # the clock says 06:00 UTC
        assert "Next digest: Mon 02 Mar, 06:01" in reply.text
        await ticks(app, 2)  # ticks run, but the time has not come
        assert await emu.events(USER_ID, after=user.cursor) == []
        clock.advance(seconds=65)
        [digest] = await user.read(timeout=5)
        assert digest.text.startswith("📰 Your digest: 4 new stories")
        assert SEED_TITLE in digest.bold()
        await ticks(app, 2)  # further ticks send nothing more
        assert (await emu.events(USER_ID, after=user.cursor)) == []


async def test_any_other_400_fails_the_digest_and_its_articles_come_next_time(
    seeded: BotApplication, settings: Settings, clock: FakeClock, emu: EmulatorClient
) -> None:
    sessions = seeded.bot_data.sessions
    await add_subscriber(sessions, 513, "science", settings=settings, now=clock(), due_at=clock())
    await add_subscriber(sessions, 514, "science", settings=settings, now=clock(), due_at=clock())
    await emu.add_fault("sendMessage", 400, "Bad Request: message text is empty", chat_id=513)
    report = await seeded.bot_data.deliverer.run_pass()
    assert (report.results[SendResult.FAILED], report.sent) == (1, 1)
    assert await bot_messages(emu, 513) == []
    async with sessions() as session:
        subscriber = await repo.get_subscriber(session, 513)
        assert subscriber is not None
        [digest] = (
            await session.scalars(select(Digest).where(Digest.subscriber_id == subscriber.id))
        ).all()
        assert digest.status == DigestStatus.FAILED
        assert digest.error == "Message text is empty"
        assert await repo.delivered_article_ids(session, subscriber.id) == []
        assert not subscriber.blocked
    clock.advance(days=1)
    report = await seeded.bot_data.deliverer.run_pass()
    assert report.sent == 1  # the failed articles again, for 513 only
    [digest_text] = await bot_messages(emu, 513)
    assert digest_text.startswith("📰 Your digest: ")
    assert len(await bot_messages(emu, 514)) == 1


async def test_a_tick_that_starts_late_still_runs(settings: Settings, clock: FakeClock) -> None:
    """A loaded machine starts the delivery tick late: it must run then, not be skipped
    until the next interval (APScheduler's default grace of 1 s skipped it)."""
    hourly = settings.model_copy(update={"delivery_interval_seconds": 3600})
    async with running_bot(hourly, clock=clock, polling=False, delivery=True) as app:
        assert app.job_queue is not None
        [job] = app.job_queue.get_jobs_by_name("delivery")
        done = app.bot_data.deliverer.passes
        # Due five seconds ago, as if the event loop had been busy since.
        job.job.modify(next_run_time=datetime.now(UTC) - timedelta(seconds=5))
        app.job_queue.scheduler.wakeup()
        async with asyncio.timeout(10):
            await app.bot_data.deliverer.wait_for_passes(done + 1)
        assert app.bot_data.deliverer.passes == done + 1
