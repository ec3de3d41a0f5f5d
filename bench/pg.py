"""PostgreSQL helpers the benches share."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url


async def fresh_database(url: str) -> None:
    """Drop and create the database of ``url`` (a bench always starts from an empty one)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()
