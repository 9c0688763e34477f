"""The emulator refuses what Telegram refuses, so formatting bugs fail tests."""

from __future__ import annotations

import asyncio
import gc
import re
import time

import httpx
import pytest

from emulator import __main__ as emulator_main
from emulator import control
from emulator.__main__ import count_pauses
from emulator.client import EmulatorClient, loopback_tls
from emulator.html import EntityParseError, parse_html
from emulator.limits import Limits, PaidSeconds
from emulator.server import Emulator
from emulator.world import World


def test_parse_html_text_and_entities() -> None:
    text, entities = parse_html('<b>Bold</b> &amp; <a href="https://x.org/?a=1&amp;b=2">link</a>')
    assert text == "Bold & link"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 7, "length": 4, "url": "https://x.org/?a=1&b=2"},
    ]


def test_offsets_are_utf16() -> None:
    _, entities = parse_html("📰 <b>x</b>")
    assert entities == [{"type": "bold", "offset": 3, "length": 1}]


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("a < b", "unescaped '<'"),
        ("fish & chips", "unescaped '&'"),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ('<a href="javascript:x">y</a>', "Wrong URL"),
    ],
)
def test_parse_html_refuses_what_telegram_refuses(html: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert message in str(caught.value)


async def test_send_message_validation_over_http(emulator: Emulator) -> None:
    base = f"{emulator.url}/bot{emulator.token}"
    async with httpx.AsyncClient(verify=loopback_tls()) as http:
        long = await http.post(f"{base}/sendMessage", data={"chat_id": "5", "text": "x" * 4097})
        assert long.status_code == 400
        assert long.json()["description"] == "Bad Request: message is too long"
        fits = await http.post(f"{base}/sendMessage", data={"chat_id": "5", "text": "x" * 4096})
        assert fits.json()["ok"] is True
        bad = await http.post(
            f"{base}/sendMessage", data={"chat_id": "5", "text": "1 < 2", "parse_mode": "HTML"}
        )
        assert bad.status_code == 400
        assert bad.json()["description"].startswith("Bad Request: can't parse entities: ")
        wrong_token = await http.post(f"{emulator.url}/bot1:nope/getMe")
        assert wrong_token.status_code == 401


def test_paid_messages_beyond_the_first_30_of_their_wall_clock_second_are_charged() -> None:
    paid = PaidSeconds()
    for at in [100.0 + n / 50 for n in range(50)] + [101.0 + n / 20 for n in range(20)]:
        paid.note(at)
    paid.note(102.999)
    assert paid.beyond_free == 20 + 0 + 0


async def test_a_stall_holds_every_message_sent_until_it_ends_and_nothing_else(
    emulator: Emulator, emu: EmulatorClient
) -> None:
    base = f"{emulator.url}/bot{emulator.token}"
    async with httpx.AsyncClient(verify=loopback_tls()) as http:
        await emu.stall(1.0)  # from the next message
        stalled = time.monotonic()
        send = asyncio.create_task(
            http.post(f"{base}/sendMessage", data={"chat_id": "7", "text": "held"})
        )
        me = await http.post(f"{base}/getMe")  # not a message: answered meanwhile
        assert me.status_code == 200
        assert not send.done()
        sent = await send
        assert time.monotonic() - stalled >= 1.0
    assert sent.status_code == 200
    assert sent.json()["result"]["text"] == "held"


@pytest.mark.parametrize("seconds", [61, -1, "2", True, None])
async def test_a_stall_of_no_sensible_length_is_refused(
    emulator: Emulator, seconds: object
) -> None:
    async with httpx.AsyncClient(verify=loopback_tls()) as http:
        answer = await http.post(f"{emulator.url}/_emu/stall", json={"seconds": seconds})
    assert answer.status_code == 400
    assert answer.json()["description"] == (
        f"Bad Request: seconds must be a number from 0 to 60, not {seconds!r}"
    )


async def test_rate_limits_answer_429_with_retry_after(emulator: Emulator) -> None:
    emulator.state.gate.set_limits(Limits(enabled=True, per_second=30, burst=30, per_chat_burst=1))
    base = f"{emulator.url}/bot{emulator.token}"
    async with httpx.AsyncClient(verify=loopback_tls()) as http:
        first = await http.post(f"{base}/sendMessage", data={"chat_id": "7", "text": "a"})
        second = await http.post(f"{base}/sendMessage", data={"chat_id": "7", "text": "b"})
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["parameters"]["retry_after"] >= 1
    assert emulator.state.counters["429"] == 1
    assert emulator.state.counters["429_chat"] == 1  # the chat's limit, not the overall one


async def test_a_429_says_which_limit_refused_it(emulator: Emulator, emu: EmulatorClient) -> None:
    emulator.state.gate.set_limits(Limits(enabled=True, per_second=2, burst=2))
    base = f"{emulator.url}/bot{emulator.token}"
    async with httpx.AsyncClient(verify=loopback_tls()) as http:
        answers = [
            (await http.post(f"{base}/sendMessage", data={"chat_id": str(c), "text": "a"}))
            for c in (1, 2, 3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    stats = await emu.stats()
    assert (stats["429"], stats["429_overall"], stats.get("429_chat", 0)) == (1, 1, 0)


def test_the_emulator_process_keeps_its_longest_gc_pause() -> None:
    world = World(1, "bot")
    note = count_pauses(world)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(note)
    assert "gc_pause_max_ms" in world.counters  # a defaultdict: asked first, then read
    assert world.counters["gc_pause_max_ms"] >= 0


async def test_the_emulator_process_freezes_what_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulator_main, "FREEZE_EVERY_SECONDS", 0)
    before = gc.get_freeze_count()
    held = [{"message_id": n} for n in range(1_000)]  # what a world would keep
    freezer = asyncio.create_task(emulator_main.keep_heap_frozen())
    try:
        for _ in range(100):  # each turn of the loop lets the freezer run once
            if gc.get_freeze_count() >= before + len(held):
                break
            await asyncio.sleep(0)
    finally:
        freezer.cancel()
    assert gc.get_freeze_count() >= before + len(held)


async def test_repeats_counts_a_message_sent_twice_to_one_chat(
    emulator: Emulator, emu: EmulatorClient
) -> None:
    base = f"{emulator.url}/bot{emulator.token}"
    sends = [(7, "digest"), (7, "digest"), (7, "other"), (8, "digest"), (9, "x"), (9, "x")]
    async with httpx.AsyncClient(verify=loopback_tls()) as http:
        for chat_id, text in sends:
            sent = await http.post(f"{base}/sendMessage", data={"chat_id": chat_id, "text": text})
            assert sent.status_code == 200
    assert await emu.repeats() == {"chats": 2, "messages": 2, "sample": [7, 9]}
    assert await emu.repeats(leave_out=[9]) == {"chats": 1, "messages": 1, "sample": [7]}
    bad = await emu.http.get("/_emu/repeats", params={"except": "7,seven"})
    assert bad.status_code == 400
    assert "except must be an integer" in bad.json()["description"]


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", "/_emu/users/1001/messages", b"not json", "the body is not JSON: Expecting"),
        ("POST", "/_emu/users/1001/messages", b"[1]", "the body must be a JSON object, e.g."),
        ("POST", "/_emu/users/1001/messages", b"{}", "'text' is required"),
        ("POST", "/_emu/users/1001/messages", b"", "'text' is required"),
        ("POST", "/_emu/users/1001/messages", b'{"text": 5}', "text must be a string, not 5"),
        ("POST", "/_emu/users/ann/messages", b'{"text": "hi"}', "user_id must be an integer"),
        ("POST", "/_emu/users/1001/press", b'{"data": "x"}', "'message_id' is required"),
        (
            "POST",
            "/_emu/users/1001/press",
            b'{"message_id": "one", "data": "x"}',
            "message_id must be an integer, not 'one'",
        ),
        ("POST", "/_emu/users/1001/press", b'{"message_id": 9, "data": "x"}', "no bot message 9"),
        ("POST", "/_emu/users/1001/documents", b'{"file_name": "a.txt"}', "'content' is required"),
        ("POST", "/_emu/users/1001/language", b"{}", "'language_code' is required"),
        ("GET", "/_emu/chats/1001/events?after=x", b"", "after must be an integer, not 'x'"),
        ("GET", "/_emu/chats/1001/events?wait=soon", b"", "wait must be a number of seconds"),
        ("POST", "/_emu/faults", b'{"method": "getMe", "bogus": 1}', "keyword argument 'bogus'"),
        ("POST", "/_emu/chats/-5/create", b'{"kind": "group"}', "'title' is required"),
        ("POST", "/_emu/chats/-5/messages", b'{"user_id": true, "text": "x"}', "user_id must be"),
        (
            "POST",
            "/_emu/chats/-5/messages",
            b'{"user_id": 1, "text": "x", "first_name": 7}',
            "first_name must be a string, not 7",
        ),
        (
            "POST",
            "/_emu/chats/-5/create",
            b'{"kind": "group", "title": "T", "forum": "no"}',
            "forum must be true or false, not 'no'",
        ),
        (
            "POST",
            "/_emu/chats/-5/create",
            b'{"kind": "channel", "title": "T", "username": 5}',
            "username must be a string, not 5",
        ),
    ],
)
async def test_a_malformed_control_request_is_a_400_naming_what_is_wrong(
    emulator: Emulator, method: str, path: str, body: bytes, problem: str
) -> None:
    """It was a 500 with aiohttp's error page (a missing field, a body that is not JSON,
    a word where a number goes): someone driving the emulator by hand learnt nothing."""
    async with httpx.AsyncClient(base_url=emulator.url, verify=loopback_tls()) as http:
        answer = await http.request(method, path, content=body)
    assert answer.status_code == 400
    assert answer.json()["ok"] is False
    assert problem in answer.json()["description"]


def _malformed_requests() -> list[tuple[str, str, bytes, str]]:
    """For every control route the emulator's router serves: a body that is not JSON, and
    a word in each of the path's ids (the others numbers)."""
    cases = []
    for resource in Emulator().app().router.resources():
        path = resource.canonical
        if not path.startswith("/_emu/"):
            continue
        names = re.findall(r"{(\w+)}", path)
        for method in {route.method for route in resource}:
            fine = path.format(**dict.fromkeys(names, "-5"))
            cases.append((method, fine, b"not json", "the body is not JSON: Expecting"))
            for name in names:
                ids = {other: "x" if other == name else "-5" for other in names}
                cases.append((method, path.format(**ids), b"{}", f"{name} must be an integer"))
    return cases


MALFORMED = _malformed_requests()


def test_the_router_serves_under_emu_only_the_routes_declared_through_the_wrapper() -> None:
    """A route added to the router by hand would miss the wrapper's checks."""
    served = {(case[0], case[1]) for case in MALFORMED if case[2] == b"not json"}
    declared = {(method, re.sub(r"{\w+}", "-5", path)) for method, path, _ in control.ROUTES}
    assert served == declared
    assert len(served) >= 22


@pytest.mark.parametrize(("method", "path", "body", "problem"), MALFORMED)
async def test_every_control_route_answers_a_malformed_request_with_a_400(
    emulator: Emulator, method: str, path: str, body: bytes, problem: str
) -> None:
    """Every route goes through the one wrapper: a body that is not JSON, or a word where
    the path has an id, is a Bot API style 400 naming the problem, never a 500."""
    async with httpx.AsyncClient(base_url=emulator.url, verify=loopback_tls()) as http:
        answer = await http.request(method, path, content=body)
    assert answer.status_code == 400
    assert answer.json()["ok"] is False
    assert problem in answer.json()["description"]
