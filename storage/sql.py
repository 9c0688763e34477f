"""SQL helpers every repository module shares: statements a chunk of keys at a time, and
inserts that let a row already there win, in the session's dialect."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

_V = TypeVar("_V")

# SQLite allows 32766 bound parameters per statement; stay well below for every backend.
CHUNK = 5_000


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of ``size``: one statement each keeps below the parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def grouped(
    session: AsyncSession,
    keys: Sequence[int],
    query: Callable[[Sequence[int]], Select[int, _V]],
) -> dict[int, list[_V]]:
    """Every key's values, from (key, value) rows queried a chunk of keys at a time."""
    result: dict[int, list[_V]] = {key: [] for key in keys}
    for part in chunks(list(keys)):
        for key, value in (await session.execute(query(part))).all():
            result[key].append(value)
    return result


def on_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def upsert(session: AsyncSession, model: type[Any]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_ignore(
    session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]
) -> postgresql.Insert | sqlite.Insert:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect."""
    return upsert(session, model).values(rows).on_conflict_do_nothing()
