"""Every table's rows, taken from one database and put into another.

`seeded` (conftest) imports seeds/ with the real importer once per test process and puts
its rows into each test's database: 45 articles grouped into stories cost 50 ms a test
through the importer, against a few bulk INSERTs. tests/test_importer.py checks that the
rows put back are the rows the importer leaves, on both backends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base

Rows = dict[str, list[dict[str, Any]]]
# Who runs now, not what was stored: each test's own bot registers itself there.
RUNNING = frozenset({"processes"})


def _tables() -> list[Any]:
    return [t for t in Base.metadata.sorted_tables if t.name not in RUNNING]


async def take(session: AsyncSession) -> Rows:
    """Each table's rows in primary-key order, as column name → value."""
    rows: Rows = {}
    for table in _tables():
        result = await session.execute(select(table).order_by(*table.primary_key.columns))
        rows[table.name] = [dict(row._mapping) for row in result]
    return rows


async def put(session: AsyncSession, rows: Rows) -> None:
    """Insert ``rows`` (from `take`) into empty tables; on PostgreSQL, move each id
    sequence past the ids inserted (SQLite's AUTOINCREMENT follows by itself)."""
    for table in _tables():
        if rows[table.name]:
            await session.execute(table.insert(), rows[table.name])
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in _tables():
        column = table.autoincrement_column
        if column is None or not rows[table.name]:
            continue
        highest = max(row[column.name] for row in rows[table.name])
        await session.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, :column), :highest)"),
            {"table": table.name, "column": column.name, "highest": highest},
        )
