"""Concurrency between chats, order within a chat, and the flood throttle."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.config import Settings
from bot.context import BotApplication
from bot.updates import ChatThrottle, Verdict
from emulator import EmulatorClient
from emulator.client import Chat
from storage import repo
from storage.models import Subscription
from tests.auxil.clock import FakeClock
from tests.auxil.running import running_bot

SLOW_DOWN = "You are sending messages faster than I can answer"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_throttle_admits_a_burst_then_notifies_once_then_recovers() -> None:
    ticks = Ticks()
    throttle = ChatThrottle(burst=3, window=10, clock=ticks)
    assert [throttle.check(1) for _ in range(3)] == [Verdict.ADMIT] * 3
    assert [throttle.check(1) for _ in range(3)] == [Verdict.NOTIFY, Verdict.DROP, Verdict.DROP]
    assert throttle.check(2) is Verdict.ADMIT  # another chat is not affected
    ticks.now = 10.0
    assert throttle.check(1) is Verdict.ADMIT
    assert throttle.check(1) is Verdict.ADMIT
    assert throttle.check(1) is Verdict.ADMIT
    assert throttle.check(1) is Verdict.NOTIFY  # a new flood gets its own single notice


def test_throttle_memory_is_bounded_over_many_chats() -> None:
    throttle = ChatThrottle(burst=2, window=10, max_chats=100, clock=Ticks())
    for chat in range(10_000):
        throttle.check(chat)
    assert len(throttle) == 100


async def test_one_chats_updates_keep_their_order(
    emu: EmulatorClient, app: BotApplication
) -> None:
    first, second = Chat(emu, 501), Chat(emu, 502)
    for minute in range(15):
        await emu.send_text(first.user_id, f"/time 07:{minute:02d}")
        await emu.send_text(second.user_id, f"/time 19:{minute:02d}")
    for chat, hour in ((first, "07"), (second, "19")):
        replies = await chat.read(15)
        times = [line for r in replies for line in r.text.splitlines() if "Digest:" in line]
        assert times == [f"Digest: daily at {hour}:{m:02d}" for m in range(15)]


async def test_another_chat_is_answered_while_one_floods(
    emu: EmulatorClient, settings: Settings, clock: FakeClock
) -> None:
    paced = settings.model_copy(update={"rate_limit_per_chat_seconds": 0.05})
    async with running_bot(paced, clock=clock):
        flooder, other = Chat(emu, 601), Chat(emu, 602)
        for _ in range(30):
            await emu.send_text(flooder.user_id, "/help")
        [help_reply] = await other.ask("/help")
        assert help_reply.text.startswith("Commands")
        so_far = await emu.events(flooder.user_id)
        assert len(so_far) < 20  # the flooder's paced replies were still coming
        replies = await flooder.read(21)
        assert [r.text.startswith("Commands") for r in replies] == [True] * 20 + [False]
        assert replies[-1].text.startswith(SLOW_DOWN)


async def test_a_flood_is_cut_with_one_notice_and_no_database_work(
    user: Chat, seeded: BotApplication
) -> None:
    async with seeded.bot_data.sessions() as session:
        names = sorted(t.name for t in await repo.tag_names(session))[:30]
    for name in names:
        await user.client.send_text(user.user_id, f"/subscribe {name}")
    replies = await user.read(21)
    assert [r.text for r in replies[:20]] == [f"✅ Subscribed to {n}" for n in names[:20]]
    assert replies[20].text.startswith(SLOW_DOWN)
    async with seeded.bot_data.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Subscription))
        subscriber = await repo.get_subscriber(session, user.user_id)
        assert subscriber is not None
        mine = await repo.subscribed_tags(session, subscriber.id)
    assert count == 20
    assert sorted(t.name for t in mine) == sorted(names[:20])
