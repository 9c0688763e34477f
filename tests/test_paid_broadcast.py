"""Paid broadcasts (PAID_BROADCAST): scheduled digests go with allow_paid_broadcast, up to
1,000 a second, replies to people do not; what went beyond the free 30 a second is
counted, with its cost in Stars; the emulator limits and counts the two kinds apart."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from prometheus_client import REGISTRY

from bot.config import ConfigError, Settings, load_settings
from bot.delivery.broadcast import Seconds, lease_beyond_free, stars
from bot.telegram.context import BotApplication
from emulator.client import Chat, EmulatorClient, loopback_tls
from emulator.server import Emulator
from tests.auxil.clock import FakeClock
from tests.auxil.population import add_subscribers

READERS = 150


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            {"rate_limit_per_second": 31},
            "RATE_LIMIT_PER_SECOND: over 30 needs PAID_BROADCAST=true (Telegram takes about "
            "30 messages a second free, up to 1000 paid in Stars); got 31",
        ),
        (
            {"rate_limit_per_second": 1001, "paid_broadcast": True},
            "RATE_LIMIT_PER_SECOND: at most 1000, Telegram's limit even for paid broadcasts; "
            "got 1001",
        ),
    ],
)
def test_a_rate_beyond_telegram_s_is_refused_naming_the_setting(
    given: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_env_file=None, **given)
    assert str(refused.value) == problem


def test_paid_broadcast_is_off_by_default_and_allows_up_to_1000() -> None:
    assert load_settings(_env_file=None).paid_broadcast is False
    assert load_settings(_env_file=None, rate_limit_per_second=30).rate_limit_per_second == 30
    paid = load_settings(_env_file=None, rate_limit_per_second=1000, paid_broadcast=True)
    assert paid.rate_limit_per_second == 1000


def test_a_process_own_slots_beyond_the_free_30_of_their_second_are_the_paid_ones() -> None:
    seconds = Seconds()
    used = [100 + n / 45 for n in range(45)] + [101.5] * 10 + [102.5 + n / 100 for n in range(31)]
    beyond = [seconds.beyond_free(at) for at in used]
    assert beyond == [False] * 30 + [True] * 15 + [False] * 10 + [False] * 30 + [True]
    assert seconds.beyond_free(102.1)  # used late: it counts in the second it went in
    assert stars(sum(beyond)) == Decimal("1.6")


@pytest.mark.parametrize(
    ("count", "before", "first", "beyond"),
    [
        (10, 0, 10, [False] * 10),  # a second's first slots
        (10, 25, 10, [False] * 5 + [True] * 5),  # the 31st slot of the second on
        (10, 28, 4, [False, False, True, True] + [False] * 6),  # the next second begins
        (100, 900, 40, [True] * 40 + [False] * 30 + [True] * 30),  # at 1,000 a second
        (3, 0, 1, [False] * 3),  # at 29 a second nothing is ever beyond
    ],
)
def test_a_lease_knows_which_of_its_slots_are_beyond_the_free_30_of_their_second(
    count: int, before: int, first: int, beyond: list[bool]
) -> None:
    assert lease_beyond_free(count, before, first) == beyond


async def test_the_emulator_refuses_ordinary_sends_beyond_30_a_second_not_paid_ones(
    emulator: Emulator, emu: EmulatorClient
) -> None:
    await emu.set_limits(enabled=True)
    base = f"{emulator.url}/bot{emulator.token}/sendMessage"
    async with httpx.AsyncClient(verify=loopback_tls()) as http:

        async def send(chat: int, paid: bool) -> int:
            data = {"chat_id": str(chat), "text": "news"}
            if paid:
                data["allow_paid_broadcast"] = "true"
            return (await http.post(base, data=data)).status_code

        started = time.monotonic()
        ordinary = await asyncio.gather(*(send(chat, False) for chat in range(1, 61)))
        # A bucket of 30 that refills at 30 a second: a loaded machine may take a while
        # to send the 60, and the bucket gets a token back every 33 ms meanwhile.
        refilled = math.ceil(30 * (time.monotonic() - started))
        paid = []
        for chat in range(101, 201):  # 100 in half a second: 200 a second
            paid.append(await send(chat, True))
            await asyncio.sleep(0.005)
    accepted = ordinary.count(200)
    assert 30 <= accepted <= 30 + refilled < 60
    assert sorted(ordinary) == [200] * accepted + [429] * (60 - accepted)
    assert paid == [200] * 100
    counts = await emu.broadcasts()
    assert counts.pop("beyond_free") <= 100 - 30  # the first 30 of a second are free
    assert counts == {
        "free": accepted,
        "paid": 100,
        "refused_free": 60 - accepted,
        "refused_paid": 0,
    }


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' own (conftest: PAID_BROADCAST=true at 1,000 a second), at 100."""
    return settings.model_copy(update={"rate_limit_per_second": 100})


async def test_a_paid_pass_is_sent_paid_and_counted_and_a_reply_meanwhile_is_not(
    emu: EmulatorClient,
    seeded: BotApplication,
    settings: Settings,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At 100 a second, against Telegram's limits (30 a second free, 1,000 paid)."""
    deliverer = seeded.bot_data.deliverer
    assert deliverer.delivery.paid_broadcast
    await emu.set_limits(enabled=True)
    chats = range(700_001, 700_001 + READERS)
    await add_subscribers(
        seeded.bot_data.sessions, chats, "science", settings=settings, now=clock(), due_at=clock()
    )
    paid_before = REGISTRY.get_sample_value("newsbot_paid_messages_total") or 0.0
    stars_before = REGISTRY.get_sample_value("newsbot_paid_stars_total") or 0.0
    with caplog.at_level("INFO", "bot.delivery.deliverer"):
        delivery = asyncio.create_task(deliverer.run_pass())
        while (await emu.broadcasts())["paid"] < 20:  # noqa: ASYNC110 (Telegram's count)
            await asyncio.sleep(0.01)
        user = Chat(emu, 1001)
        await user.client.send_text(1001, "/help")
        [reply] = await user.read(timeout=10)
        report = await delivery
    assert reply.text.startswith("Commands\n/start")
    counts = await emu.broadcasts()
    charged = counts.pop("beyond_free")
    assert counts == {"free": 1, "paid": READERS, "refused_free": 0, "refused_paid": 0}
    assert report.sent == READERS
    # At 100 a second at most, the pass's 150 messages span two seconds or more, each
    # with 30 free; every message beyond those costs 0.1 Star.
    arrived = [e["at"] for c in chats for e in await emu.events(c) if e["kind"] == "message"]
    seconds = math.ceil(max(arrived) - min(arrived)) + 2  # touched, at most (and jitter)
    assert report.paid is not None and READERS - seconds * 30 <= report.paid <= READERS - 2 * 30
    # Counted by the second the slot is in, not when the message arrived: a message
    # near the edge of the pass's first or last second may land in the other (see
    # README; 0 or 1 apart in 6 runs, 10 allows a loaded machine 50 ms of delay).
    assert abs(report.paid - charged) <= 10, (report.paid, charged)
    assert report.stars == report.paid * Decimal("0.1")
    assert f"{report.paid} messages above the free 30/s ({report.stars} Stars)" in caplog.text
    paid_after = REGISTRY.get_sample_value("newsbot_paid_messages_total") or 0.0
    stars_after = REGISTRY.get_sample_value("newsbot_paid_stars_total") or 0.0
    assert paid_after - paid_before == report.paid
    assert stars_after - stars_before == pytest.approx(float(report.stars))


async def test_without_paid_broadcast_digests_are_ordinary_sends(
    emu: EmulatorClient, seeded: BotApplication, settings: Settings, clock: FakeClock
) -> None:
    deliverer = seeded.bot_data.deliverer
    deliverer.delivery = replace(deliverer.delivery, paid_broadcast=False)
    chats = range(710_001, 710_004)
    await add_subscribers(
        seeded.bot_data.sessions, chats, "science", settings=settings, now=clock(), due_at=clock()
    )
    report = await deliverer.run_pass()
    assert report.sent == 3 and report.paid is None
    assert "above the free" not in str(report)
    assert (await emu.broadcasts())["paid"] == 0
    assert (await emu.broadcasts())["free"] == 3
