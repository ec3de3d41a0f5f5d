"""Looking at a migrated schema, and downgrading it, for the migration tests."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db


def columns(connection: sa.Connection, table: str) -> dict[str, bool]:
    return {c["name"]: c["nullable"] for c in sa.inspect(connection).get_columns(table)}


def indexes(connection: sa.Connection, table: str) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(connection).get_indexes(table)}


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: sa.Connection) -> None:
        config = db.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)
