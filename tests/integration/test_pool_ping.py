"""Pooled PostgreSQL connections are checked before use only after sitting idle.

SQLAlchemy's ``pool_pre_ping`` costs three round trips on every checkout; ``storage.db`` pings
only connections idle for ``PING_AFTER_IDLE_S``, so a connection the server dropped (a restart,
an idle timeout) is replaced without the caller seeing an error.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text

from storage import Storage, db
from storage.errors import StorageUnavailable


async def backend_pid(storage: Storage) -> int:
    async with storage.engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(pg_url: str, pid: int) -> None:
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_an_idle_connection_dropped_by_the_server_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    storage = Storage(db.create_engine(pg_url, pool_size=1))
    try:
        first = await backend_pid(storage)
        await terminate(pg_url, first)
        # The pooled connection is dead; the ping on checkout notices and the pool reconnects.
        async with storage.transaction() as tx:
            assert await tx.record_inbound("console", "after-terminate", datetime.now(UTC))
        assert await backend_pid(storage) != first
    finally:
        await storage.dispose()


async def test_a_recently_used_connection_is_not_pinged(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the idle threshold no ping is sent: a dropped connection surfaces as
    StorageUnavailable (the webhook answers 503 and the platform redelivers), and the pool
    then replaces it."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    storage = Storage(db.create_engine(pg_url, pool_size=1))
    try:
        first = await backend_pid(storage)
        await terminate(pg_url, first)
        with pytest.raises(StorageUnavailable):
            async with storage.transaction() as tx:
                await tx.record_inbound("console", "no-ping", datetime.now(UTC))
        async with storage.transaction() as tx:
            assert await tx.record_inbound("console", "no-ping", datetime.now(UTC))
        assert await backend_pid(storage) != first
    finally:
        await storage.dispose()


async def test_a_burst_waits_for_the_pool_instead_of_opening_connections(pg_url: str) -> None:
    """Twenty transactions at once on a pool of three: all finish, on three backends only.

    With overflow connections the burst opened extra backends and closed them on return: under
    load that churn cost more CPU than the wait (docs/performance.md)."""
    storage = Storage(db.create_engine(pg_url, pool_size=3))

    async def hold() -> int:
        async with storage.engine.connect() as connection:
            pid = await connection.execute(text("SELECT pg_backend_pid(), pg_sleep(0.05)"))
            return int(pid.first()[0])  # type: ignore[index]

    try:
        pids = await asyncio.gather(*(hold() for _ in range(20)))
    finally:
        await storage.dispose()
    assert len(pids) == 20
    assert len(set(pids)) == 3
