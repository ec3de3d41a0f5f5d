"""The seam every aggregate of ``storage`` builds on: the engine and one transaction.

:class:`StorageBase` owns the engine (units of work, autocommit, cross-process locks, the
health ping); :class:`TxBase` is one unit of work (the Core connection, its dialect, the hot
statements built once per dialect, and an ORM session opened on demand). The aggregates
(``storage.contacts``, ``conversations``, ``responses``, ``outbox``, ``directory``) add their
operations as mixins of these two classes; ``storage.Storage`` and ``storage.Tx`` compose them.
Driver errors are translated in ``storage.errors``. Nothing outside ``storage/`` touches a
connection or a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.driver import DriverStatement, Row, driver_connection, fetch
from storage.errors import translated
from storage.statements import hot

# Per process, which contact a phone-only WhatsApp payload belongs to once settled:
# (channel, phone) -> that contact's address (see storage.contacts). Shared by transactions.
PhoneOwners = OrderedDict[tuple[str, str], str]


def event_key(event_id: str) -> str:
    """A platform event id as stored: itself when short, else a digest that keeps it unique."""
    if len(event_id) <= 120:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


def keyed_event_id(secret: bytes, channel: str, event_id: str) -> str:
    """An inbound event id as stored in ``inbound_events``: an HMAC-SHA256 with the
    deployment's secret, so the same id gives the same key (dedupe) but nobody without the
    secret can read it back (a WhatsApp ``wamid`` encodes the sender's phone number).

    Computed over :func:`event_key`'s form, which is what rows before migration 0007 hold:
    the migration hashes them into the same keys."""
    message = f"{channel}:{event_key(event_id)}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class TxBase:
    """One unit of work: the connection it runs on, and what every aggregate needs of it."""

    def __init__(
        self,
        connection: AsyncConnection,
        dialect: str,
        sessions: async_sessionmaker[AsyncSession],
        phone_owners: PhoneOwners | None = None,
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self.hot = hot(dialect)
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._phone_owners = phone_owners if phone_owners is not None else OrderedDict()
        # Conversations this transaction already holds locked, by contact id, with the state
        # read as they were locked (``begin_event`` locks the contact's on PostgreSQL).
        self._locked: dict[int, Any] = {}
        self._driver: asyncpg.Connection | None = None

    async def driver_fetch(
        self, statement: DriverStatement, values: Mapping[str, Any]
    ) -> list[Row]:
        """PostgreSQL: run a hot statement on the asyncpg connection of this transaction,
        without SQLAlchemy's execution context (``storage.driver``)."""
        if self._driver is None:
            self._driver = await driver_connection(self.connection, begin=True)
        return await fetch(self.connection, self._driver, statement, values)

    @property
    def session(self) -> AsyncSession:
        """An ORM session in this transaction, made on first use: most inbound events need
        only the Core statements, and a session costs CPU to open and close."""
        if self._session is None:
            # Joins the connection's transaction; committing it stays with the connection.
            self._session = self._sessions(bind=self.connection)
        return self._session

    async def finish(self) -> None:
        """Write what the ORM session holds before the transaction commits."""
        if self._session is not None:
            await self._session.flush()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


AnyTx = TypeVar("AnyTx", bound=TxBase)


class StorageBase:
    """The database: the engine, and units of work on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.dialect = engine.dialect.name
        # SQLite allows one writer at a time; serialising here avoids "database is locked".
        self._writer = asyncio.Lock() if self.dialect == "sqlite" else None
        self._phone_owners: PhoneOwners = OrderedDict()

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _unit_of_work(self, make: Callable[..., AnyTx]) -> AsyncIterator[AnyTx]:
        """A ``make(...)`` transaction: commits on success, rolls back on any exception."""
        if self._writer is not None:
            async with self._writer, self._begin(make) as tx:
                yield tx
        else:
            async with self._begin(make) as tx:
                yield tx

    @asynccontextmanager
    async def _begin(self, make: Callable[..., AnyTx]) -> AsyncIterator[AnyTx]:
        async with translated(), self.engine.begin() as connection:
            tx = make(connection, self.dialect, self.sessions, self._phone_owners)
            try:
                yield tx
                await tx.finish()
            finally:
                await tx.close()

    @asynccontextmanager
    async def _read(self, make: Callable[..., AnyTx]) -> AsyncIterator[AnyTx]:
        """A ``make(...)`` for reading: never takes SQLite's writer lock, never commits."""
        async with translated(), self.engine.connect() as connection:
            tx = make(connection, self.dialect, self.sessions, self._phone_owners)
            try:
                yield tx
            finally:
                await tx.close()

    @asynccontextmanager
    async def _core_autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection in autocommit mode: each statement is its own transaction."""
        async with contextlib.AsyncExitStack() as stack:
            if self._writer is not None:
                await stack.enter_async_context(self._writer)
            await stack.enter_async_context(translated())
            connection = await stack.enter_async_context(self.engine.connect())
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """Try to hold a lock named ``name`` across processes while inside; yields success.

        PostgreSQL: a session advisory lock on a connection kept for the duration. SQLite: an
        ``flock`` on a file beside the database.
        """
        if self.dialect == "postgresql":
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            async with self.engine.connect() as connection:
                got = (
                    await connection.execute(select(func.pg_try_advisory_lock(key)))
                ).scalar_one()
                try:
                    yield bool(got)
                finally:
                    if got:
                        await connection.execute(select(func.pg_advisory_unlock(key)))
                    await connection.commit()
            return
        database = self.engine.url.database or "skm-bot"
        path = f"{database}.{hashlib.sha256(name.encode()).hexdigest()[:12]}.lock"
        with open(path, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            async with self.sessions() as session:
                await session.execute(select(1))
        except (OSError, DBAPIError, ConnectionError):
            return False
        return True
