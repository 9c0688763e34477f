"""Storage per digest on PostgreSQL (issue 26): the bytes the outbox and the ledger take
per 100,000 digests, composed (their texts waiting to be sent), once every message is
recorded as sent, and after a VACUUM (what autovacuum leaves for the next pass to reuse).

The digests are the compose benchmark's (the full population: one per subscriber); they
are marked sent the way a delivery pass's `SentLog` records them, a group commit of a
thousand records at a time, one record per message sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.compose import compose_all
from bench.harness import emit, populate, settings_for
from bench.population import Size
from bot.delivery.outbox import LEASE
from storage import repo
from storage.db import create_engine, create_sessionmaker

# Every table that holds a digest's messages or its ledger, in any schema so far; the
# figure is the sum of those that exist (tables, their indexes and TOAST).
TABLES = ("digests", "digest_messages", "delivered_articles")
RECORDS_PER_COMMIT = 1_000


async def table_bytes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT t, pg_total_relation_size(to_regclass(t)) FROM unnest(CAST(:tables AS"
                " text[])) AS t WHERE to_regclass(t) IS NOT NULL"
            ),
            {"tables": list(TABLES)},
        )
        return {name: int(size) for name, size in rows.all()}


async def measure(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    settings = settings_for(url)
    sent: list[tuple[int, int]] = []  # (digest id, its messages)
    async for batch in compose_all(sessions, settings.digest):
        sent += [(o.digest_id, len(o.chunks)) for o in batch.outbound]
    composed = await table_bytes(engine)
    # Message k of every digest that has one, as a pass records them.
    records = [
        repo.SentProgress(digest_id, list(range(1, k + 1)), total)
        for k in range(1, max((n for _, n in sent), default=0) + 1)
        for digest_id, total in sent
        if total >= k
    ]
    for start in range(0, len(records), RECORDS_PER_COMMIT):
        async with sessions.begin() as session:
            await repo.record_sent(
                session,
                records[start : start + RECORDS_PER_COMMIT],
                now=datetime.now(UTC),
                lease=LEASE,
            )
    after_sent = await table_bytes(engine)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in after_sent:
            await autocommit.execute(text(f"VACUUM {table}"))
    vacuumed = await table_bytes(engine)
    await engine.dispose()
    return {
        "digests": len(sent),
        "messages": sum(n for _, n in sent),
        "composed": composed,
        "sent": after_sent,
        "vacuumed": vacuumed,
    }


def run_storage(url: str, size: Size) -> None:
    uvloop.run(populate(url, size, datetime.now(UTC)))
    result = uvloop.run(measure(url))
    per = 100_000 / max(result["digests"], 1) / 1e6  # bytes -> MB per 100,000 digests

    def mb(sizes: dict[str, int]) -> float:
        return round(float(sum(sizes.values()) * per), 1)

    def tables(sizes: dict[str, int]) -> str:
        return ", ".join(f"{name} {size * per:.1f}" for name, size in sizes.items())

    emit(
        "storage_postgresql",
        f"{result['digests']:,} digests ({result['messages']:,} messages), MB per 100,000 "
        f"digests: composed {mb(result['composed'])} ({tables(result['composed'])}); sent "
        f"{mb(result['sent'])} ({tables(result['sent'])}); sent and vacuumed "
        f"{mb(result['vacuumed'])} ({tables(result['vacuumed'])})",
        digests=result["digests"],
        messages=result["messages"],
        composed_mb_per_100k=mb(result["composed"]),
        sent_mb_per_100k=mb(result["sent"]),
        vacuumed_mb_per_100k=mb(result["vacuumed"]),
        tables_composed=result["composed"],
        tables_sent=result["sent"],
        tables_vacuumed=result["vacuumed"],
    )
