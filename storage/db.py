"""Engines and migrations for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.errors import translated

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


_SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


def normalise_database_url(value: str) -> str:
    """``value`` with the async driver this project uses; ValueError naming what is wrong.

    ``postgresql://`` (and ``postgres://``) get asyncpg, ``sqlite://`` gets aiosqlite.
    """
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL ({exc})") from None
    if url.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
        url = url.set(drivername="postgresql+asyncpg")
    if url.drivername == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    if url.drivername not in _SUPPORTED_DRIVERS:
        raise ValueError(
            f"driver {url.drivername!r} is not supported; use postgresql+asyncpg://... "
            "or sqlite+aiosqlite:///path"
        )
    return url.render_as_string(hide_password=False)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None for an in-memory database or another backend)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets foreign keys and WAL, PostgreSQL a pool.

    The PostgreSQL pool is ``pool_size`` connections and no overflow: a checkout beyond them
    waits for one to come back. Overflow connections are closed on return, and under load the
    bot opened and closed hundreds of them (182-496 per 5,400 updates), each a new PostgreSQL
    backend: more CPU on both sides than waiting a millisecond (docs/performance.md).

    ``hide_parameters``: a failing statement's error (and its log line) never carries the bound
    values, which hold message bodies, suggestions and complaint texts (docs/privacy.md).
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url, echo=echo, hide_parameters=True, pool_size=pool_size, max_overflow=0
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection unused for this long is checked before use (it may have outlived a
# database restart); one used more recently is not: SQLAlchemy's pool_pre_ping costs three
# round trips (BEGIN, ping, ROLLBACK) on every checkout, two checkouts per inbound event.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling, only for connections that sat idle in the pool."""

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError(str(exc)) from exc

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection, revision: str, event_secret: bytes | None) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes["event_secret"] = event_secret
    command.upgrade(config, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(
    engine: AsyncEngine, revision: str = "head", *, event_secret: bytes | None = None
) -> None:
    """Bring the schema to ``revision`` (idempotent); StorageUnavailable when unreachable.

    ``event_secret`` (the pseudonym secret) lets migration 0007 hash the inbound event ids
    stored before it in place; without it they are deleted."""
    async with translated(), engine.begin() as connection:
        await connection.run_sync(_upgrade, revision, event_secret)


async def schema_is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with translated(), engine.connect() as connection:
        current = await connection.run_sync(_current)
    return current == head
