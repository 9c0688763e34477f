"""Prometheus metrics (prometheus-client), and the few functions the bot counts through.

The metrics live in the process's default registry, as prometheus-client intends: one
process is one bot (`newsbot run` or a `newsbot worker`), and each serves its own
``/metrics`` on METRICS_LISTEN. Every name starts with ``newsbot_``; README lists them
with the PromQL an operator alerts on.

The rest of the bot calls the functions below, never the metric objects, from a few
places: the HTTP layer (every message's outcome), the pacer (Telegram's retry_after),
the delivery pass, the update processor, the feed poll, the article store and story
grouping (counted when their transaction commits); storage.retry counts its retries
itself.
"""

from __future__ import annotations

import re
from collections import Counter as Counts
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from time import perf_counter

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

# The Bot API methods that put a message in a chat (what Telegram's limits count).
MESSAGE_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendDocument", "sendPhoto", "copyMessage"}
)

MESSAGES = Counter(
    "newsbot_messages",
    "Messages the bot tried to send, by Bot API method and outcome "
    "(sent, 429, 403, 4xx, 5xx, network).",
    ["method", "outcome"],
)
RETRY_AFTER = Counter(
    "newsbot_retry_after_seconds",
    "Seconds Telegram's 429 answers asked the bot to wait (all sending pauses that long).",
)
SEND_PAUSES = Counter(
    "newsbot_send_pauses",
    "Pauses of all sending after a 429, by where it was seen: here, or (shared budget "
    "on PostgreSQL) by another process.",
    ["seen"],
)
LATE_TURNS = Counter(
    "newsbot_send_late_turns",
    "Digest messages that took a new turn in the pacer, theirs having passed while every "
    "connection to the Bot API was busy (Telegram slow or stalled).",
)
PAID_MESSAGES = Counter(
    "newsbot_paid_messages",
    "Digest messages sent with allow_paid_broadcast beyond the free 30 in their second "
    "of a delivery pass (PAID_BROADCAST).",
)
PAID_STARS = Counter(
    "newsbot_paid_stars",
    "What those messages cost, in Telegram Stars (0.1 each).",
)
DIGESTS_COMPOSED = Counter("newsbot_digests_composed", "Digests composed by delivery passes.")
DIGESTS = Counter(
    "newsbot_digests",
    "Digests a delivery pass finished with, by result (sent, blocked, postponed, failed).",
    ["result"],
)
PASS_SECONDS = Histogram(
    "newsbot_delivery_pass_seconds",
    "How long a delivery pass took.",
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600),
)
PASS_LAST = Gauge(
    "newsbot_delivery_last_pass_timestamp_seconds", "When the last delivery pass ended."
)
OUTBOX_PENDING = Gauge(
    "newsbot_outbox_pending", "Digests composed and not yet sent (at the end of a pass)."
)
SUBSCRIBERS_DUE = Gauge(
    "newsbot_subscribers_due", "Subscribers whose digest is due (at the start of a pass)."
)
UPDATE_SECONDS = Histogram(
    "newsbot_update_seconds",
    "Time to handle an update, by command (or kind: message, press, inline, other).",
    ["command"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPDATES_DROPPED = Counter(
    "newsbot_updates_dropped", "Updates the flood throttle refused before any work."
)
FEED_POLLS = Counter(
    "newsbot_feed_polls", "Feed polls by outcome (new, unchanged, failed).", ["outcome"]
)
FEED_FETCH_SECONDS = Histogram(
    "newsbot_feed_fetch_seconds",
    "How long a feed poll took, fetch and store.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60),
)
ARTICLES_STORED = Counter(
    "newsbot_articles_stored",
    "Articles stored, by route (feed; import: /add, a file, `newsbot import`).",
    ["route"],
)
STORIES_GROUPED = Counter(
    "newsbot_stories_grouped", "Articles that joined another article's story."
)


class _DatabaseRetries(Collector):
    """storage.retry counts its retries (storage imports nothing of the bot); exposed as
    a counter here."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        from storage.retry import STATS

        yield CounterMetricFamily(
            "newsbot_database_retries",
            "Transactions retried after a transient database error.",
            value=STATS.retries,
        )


REGISTRY.register(_DatabaseRetries())

_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@\w+)?")
_COMMANDS: set[str] = set()


def scrape() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


def counted(counter: Counter) -> list[tuple[dict[str, str], float]]:
    """A counter's totals, each with its labels: a read of this counter alone, where
    ``REGISTRY.get_sample_value`` collects every metric of the process at each call
    (4 ms each in the test suite, where the alerts read a dozen at every look)."""
    return [
        (sample.labels, sample.value)
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    ]


def refused_429() -> float:
    """Messages Telegram refused with 429 so far."""
    return sum(
        value
        for labels, value in counted(MESSAGES)
        if labels["outcome"] == "429" and labels["method"] in MESSAGE_METHODS
    )


def digests_finished() -> dict[str, float]:
    """Digests passes finished so far, by result."""
    return {labels["result"]: value for labels, value in counted(DIGESTS)}


def known_commands(names: Iterable[str]) -> None:
    """The commands the bot handles: each is a label of its own; others are "unknown"."""
    _COMMANDS.update(names)


def message_outcome(method: str, status: int | None) -> None:
    """One Bot API call's answer (``status`` None: no answer, a network error); counted
    when the method sends a message."""
    if method not in MESSAGE_METHODS:
        return
    if status is None:
        outcome = "network"
    elif status < 300:
        outcome = "sent"
    elif status in (429, 403):
        outcome = str(status)
    elif status < 500:
        outcome = "4xx"
    else:
        outcome = "5xx"
    MESSAGES.labels(method, outcome).inc()


def retry_after(seconds: float) -> None:
    RETRY_AFTER.inc(seconds)


def send_paused(*, here: bool) -> None:
    SEND_PAUSES.labels("here" if here else "elsewhere").inc()


def late_turn() -> None:
    LATE_TURNS.inc()


def update_label(text: str | None, kind: str) -> str:
    """The label of an update: its command if the bot has it, "unknown" for another
    command, else its kind."""
    if text is not None and (match := _COMMAND.match(text)):
        name = match.group(1).lower()
        return name if name in _COMMANDS else "unknown"
    return kind


@contextmanager
def handling(label: str) -> Iterator[None]:
    started = perf_counter()
    try:
        yield
    finally:
        UPDATE_SECONDS.labels(label).observe(perf_counter() - started)


def update_dropped() -> None:
    UPDATES_DROPPED.inc()


def delivery_pass(seconds: float, composed: int, results: dict[str, int], ended_at: float) -> None:
    PASS_SECONDS.observe(seconds)
    PASS_LAST.set(ended_at)
    DIGESTS_COMPOSED.inc(composed)
    for result, count in results.items():
        DIGESTS.labels(result).inc(count)


def paid_broadcast(messages: int, stars: float) -> None:
    PAID_MESSAGES.inc(messages)
    PAID_STARS.inc(stars)


def outbox(pending: int, due: int) -> None:
    OUTBOX_PENDING.set(pending)
    SUBSCRIBERS_DUE.set(due)


def feed_polled(*, failed: bool, unchanged: bool, seconds: float) -> None:
    FEED_POLLS.labels("failed" if failed else "unchanged" if unchanged else "new").inc()
    FEED_FETCH_SECONDS.observe(seconds)


_STORED = "newsbot_stored"  # the key of a session's counts not yet committed, in its info


def articles_stored(session: AsyncSession, route: str, added: int, grouped: int) -> None:
    """``added`` articles stored by ``route`` in ``session``'s transaction, ``grouped`` of
    them joining a story: counted once the transaction commits, so that one rolled back
    (and retried after a dropped connection) counts once, or not at all."""
    pending: Counts[str] = session.sync_session.info.setdefault(_STORED, Counts())
    pending[route] += added
    pending[_GROUPED] += grouped


_GROUPED = ""  # the key of the stories grouped among a session's counts (no route)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending: Counts[str] | None = session.info.pop(_STORED, None)
    for route, count in (pending or {}).items():
        if route == _GROUPED:
            STORIES_GROUPED.inc(count)
        elif count:
            ARTICLES_STORED.labels(route).inc(count)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_STORED, None)
