"""Processes that may send digests, and when each was last seen (bot.delivery.presence)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Process


async def register_process(
    session: AsyncSession,
    host: str,
    pid: int,
    now: datetime,
    *,
    process_id: int | None = None,
    in_pass: bool = False,
) -> int:
    """A row for a process that starts (or, with ``process_id``, comes back after it was
    taken for dead and its row deleted); returns its id."""
    row = {"host": host, "pid": pid, "started_at": now, "seen_at": now, "in_pass": in_pass}
    if process_id is not None:
        row["id"] = process_id
    result = await session.execute(insert(Process).returning(Process.id), [row])
    return int(result.scalar_one())


async def see_process(
    session: AsyncSession, process_id: int, now: datetime, *, in_pass: bool = False
) -> bool:
    """Note that the process is alive, and whether it is in a delivery pass; False when
    its row is gone (it was taken for dead)."""
    result = await session.execute(
        update(Process).where(Process.id == process_id).values(seen_at=now, in_pass=in_pass)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_in_pass(session: AsyncSession, process_id: int, in_pass: bool) -> bool:
    """Note whether the process is in a delivery pass; False when its row is gone."""
    result = await session.execute(
        update(Process).where(Process.id == process_id).values(in_pass=in_pass)
    )
    return bool(getattr(result, "rowcount", 0))


async def count_in_pass(session: AsyncSession, seen_since: datetime, *, besides: int) -> int:
    """How many processes seen since ``seen_since`` are in a delivery pass, other than
    process ``besides``."""
    query = select(func.count()).where(
        Process.in_pass, Process.seen_at >= seen_since, Process.id != besides
    )
    return int((await session.execute(query)).scalar_one())


async def processes_on(session: AsyncSession, host: str) -> list[tuple[int, int]]:
    """(id, pid) of the processes registered from ``host``."""
    query = select(Process.id, Process.pid).where(Process.host == host)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def forget_processes(session: AsyncSession, process_ids: Sequence[int]) -> None:
    if process_ids:
        await session.execute(delete(Process).where(Process.id.in_(process_ids)))


async def forget_unseen(session: AsyncSession, seen_before: datetime) -> int:
    """Delete the rows of processes not seen since ``seen_before``; how many."""
    result = await session.execute(delete(Process).where(Process.seen_at < seen_before))
    return int(getattr(result, "rowcount", 0))
