"""Creating and dropping whole databases, for the tests and benchmarks that need one of
their own. Only ever drops a database this module created (its name carries the prefix
and a random part), never the one the server URL names."""

from __future__ import annotations

import os
import secrets

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine


async def _server_statement(server_url: str, statement: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_database(server_url: str, prefix: str) -> str:
    """Create a uniquely named PostgreSQL database beside the one ``server_url`` names
    (that one is only connected to) and return the new database's URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    await _server_statement(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str, prefix: str) -> None:
    """Drop the database at ``url``, which `create_database` made with ``prefix``."""
    name = make_url(url).database or ""
    if not name.startswith(f"{prefix}_"):
        raise ValueError(f"refusing to drop {name!r}: it was not created with {prefix!r}")
    await _server_statement(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
