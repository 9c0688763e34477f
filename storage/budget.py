"""The shared Telegram budget's row (PostgreSQL): one statement, one round trip each.

Every time is the database's clock (``clock_timestamp()``, seconds since the epoch), so
processes on several machines agree without trusting each other's clocks; each answer
carries the database's ``now`` for the caller to map it onto its own clock. Each
statement is an upsert, so a missing row (a new bot, a database emptied meanwhile) is
made by whichever process asks first. The functions take the session and never commit;
the caller runs them on an AUTOCOMMIT connection, where a statement is its own
transaction and the row is locked only while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# A hold older than this is deleted by the next reply (the table keeps only chats that
# got a reply lately).
HOLD_KEPT_SECONDS = 60.0

_NOW = "SELECT extract(epoch FROM clock_timestamp())::float8 AS t"

# A lease's first slot: where the last lease ended (or now, or when a pause ends), after
# the slots replies borrowed meanwhile.
_START = (
    "(GREATEST(b.next_at, (SELECT t FROM now), b.paused_until)"
    " + b.borrowed * CAST(:interval AS float8))"
)


def _first(start: str) -> str:
    """How many of a lease's slots from ``start`` fall in the second it begins in."""
    return (
        f"CAST(LEAST(CAST(:count AS integer),"
        f" ceil((floor({start}) + 1 - {start}) / CAST(:interval AS float8))) AS integer)"
    )


# Bulk slots per second of the database's clock, of every process: the row keeps the
# second the last lease began in (``slots_second``), the slots handed out in it and in
# the next one (a lease spans less than a second, so it reaches at most into the next).
# The slots are handed out in time order, so a lease's slots come after those counts.
_BEFORE = (
    f"CASE floor({_START}) WHEN b.slots_second THEN b.slots_in_second"
    " WHEN b.slots_second + 1 THEN b.slots_in_next ELSE 0 END"
)
_LEASE = text(
    f"""
    WITH now AS ({_NOW}),
    lease AS (
        INSERT INTO send_budget AS b
            (bot_id, next_at, reply_next_at, borrowed, paused_until, pauses,
             slots_second, slots_in_second, slots_in_next)
        SELECT :bot, now.t + :span, 0, 0, 0, 0,
            floor(now.t), {_first("now.t")}, CAST(:count AS integer) - {_first("now.t")}
        FROM now
        ON CONFLICT (bot_id) DO UPDATE SET
            next_at = {_START} + :span,
            borrowed = 0,
            slots_second = floor({_START}),
            slots_in_second = {_BEFORE} + {_first(_START)},
            slots_in_next = CAST(:count AS integer) - {_first(_START)}
        RETURNING b.next_at - :span AS start, b.paused_until, b.slots_in_second,
            b.slots_in_next
    )
    SELECT lease.start, lease.paused_until, lease.slots_in_second, lease.slots_in_next,
        now.t AS now,
        ARRAY(SELECT chat_id FROM send_chats
              WHERE bot_id = :bot AND next_at > now.t ORDER BY chat_id) AS chats,
        ARRAY(SELECT next_at FROM send_chats
              WHERE bot_id = :bot AND next_at > now.t ORDER BY chat_id) AS holds
    FROM lease, now
    """
)

# The reply's slot: the next of the reply lane, not before the chat's hold nor the
# pause. When the bulk lanes have reserved past it, the reply borrows one of their slots
# (``borrowed``), which the next lease skips: replies jump the queue, the rate holds.
_SLOT = "GREATEST(b.reply_next_at, (SELECT t FROM now), b.paused_until, (SELECT t FROM hold))"
_REPLY = text(
    f"""
    WITH now AS ({_NOW}),
    hold AS (
        SELECT coalesce(max(next_at), 0) AS t FROM send_chats
        WHERE bot_id = :bot AND chat_id = :chat
    ),
    slot AS (
        INSERT INTO send_budget AS b
            (bot_id, next_at, reply_next_at, borrowed, paused_until, pauses)
        SELECT :bot, 0, GREATEST(now.t, hold.t) + CAST(:interval AS float8), 0, 0, 0
        FROM now, hold
        ON CONFLICT (bot_id) DO UPDATE SET
            reply_next_at = {_SLOT} + CAST(:interval AS float8),
            borrowed = b.borrowed + CAST(b.next_at > {_SLOT} AS integer),
            next_at = CASE WHEN b.next_at > {_SLOT} THEN b.next_at
                           ELSE {_SLOT} + CAST(:interval AS float8) END
        RETURNING b.reply_next_at - CAST(:interval AS float8) AS t
    ),
    held AS (
        INSERT INTO send_chats (bot_id, chat_id, next_at)
        SELECT :bot, :chat, slot.t + :spacing FROM slot WHERE :spacing > 0
        ON CONFLICT (bot_id, chat_id) DO UPDATE
            SET next_at = GREATEST(send_chats.next_at, excluded.next_at)
    ),
    purged AS (
        DELETE FROM send_chats
        WHERE bot_id = :bot AND chat_id <> :chat
          AND next_at < (SELECT t FROM now) - CAST(:kept AS float8)
    )
    SELECT slot.t AS slot, now.t AS now FROM slot, now
    """
)

_PAUSE = text(
    f"""
    WITH now AS ({_NOW})
    INSERT INTO send_budget AS b
        (bot_id, next_at, reply_next_at, borrowed, paused_until, pauses)
    SELECT :bot, 0, 0, 0, now.t + :seconds, 1 FROM now
    ON CONFLICT (bot_id) DO UPDATE SET
        paused_until = GREATEST(b.paused_until, (SELECT t FROM now) + :seconds),
        pauses = b.pauses + 1
    RETURNING b.paused_until, (SELECT t FROM now) AS now, b.pauses
    """
)


@dataclass(frozen=True, slots=True)
class Lease:
    """Slots from ``start`` on, ``now`` the database's clock when it was granted; the
    chats a reply went to lately with when each may next get a message. Of the slots,
    ``first`` fall in the second ``start`` is in, where other leases had handed out
    ``before`` slots already; the rest fall in the next second."""

    start: float
    paused_until: float
    now: float
    holds: dict[int, float]
    before: int
    first: int


@dataclass(frozen=True, slots=True)
class Pause:
    until: float
    now: float
    pauses: int  # every pause counted so far, by all processes


async def lease(session: AsyncSession, bot_id: int, count: int, interval: float) -> Lease:
    """Lease ``count`` slots ``interval`` apart (spanning less than a second): they start
    where the last lease ended (or now, or when a pause ends), after the slots replies
    borrowed meanwhile."""
    params = {"bot": bot_id, "count": count, "span": count * interval, "interval": interval}
    row = (await session.execute(_LEASE, params)).one()
    holds = dict(zip(row.chats, row.holds, strict=True))
    first = count - row.slots_in_next
    return Lease(row.start, row.paused_until, row.now, holds, row.slots_in_second - first, first)


async def reply_slot(
    session: AsyncSession, bot_id: int, interval: float, chat_id: int, spacing: float
) -> tuple[float, float]:
    """A reply's slot and the database's now; with ``spacing`` the chat is held that long
    after the slot, for every process."""
    params = {
        "bot": bot_id,
        "interval": interval,
        "chat": chat_id,
        "spacing": spacing,
        "kept": HOLD_KEPT_SECONDS,
    }
    row = (await session.execute(_REPLY, params)).one()
    return row.slot, row.now


async def pause(session: AsyncSession, bot_id: int, seconds: float) -> Pause:
    """Telegram answered 429 with ``retry_after``: nobody sends until then."""
    row = (await session.execute(_PAUSE, {"bot": bot_id, "seconds": seconds})).one()
    return Pause(row.paused_until, row.now, row.pauses)
