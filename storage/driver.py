"""PostgreSQL: the hot statements run on the asyncpg connection itself (issue 18).

SQLAlchemy's execution context costs about as much CPU per statement as asyncpg's own work
(building the context, processing parameters and rows, the adapter's cursor). The few statements
every inbound event runs are compiled here once, from the very statement objects of
``storage.statements``, into the SQL SQLAlchemy itself would send, with the same bind
processors (``UTCDateTime``, JSONB's serialiser), and run with ``fetch`` on
the driver connection under the pooled SQLAlchemy connection, in the same transaction.
asyncpg prepares each once per connection (named prepared statements, its statement cache).

Driver errors are translated here as ``storage.errors`` does for SQLAlchemy's, and a
connection that broke is invalidated, so the pool replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.errors import StorageError, StorageUnavailable, translate_driver

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Row(asyncpg.Record):  # type: ignore[misc]
    """A driver row read like SQLAlchemy's: by attribute (``row.id``) or by position."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as asyncpg receives it: the SQL, its positional parameters' names and
    bind processors, and the values the statement carries itself (``blocked_at = NULL``)."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``values`` (by bind name), processed as SQLAlchemy
        would process them."""
        arguments = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = values[name] if name in values else self.fixed[name]
            arguments.append(value if process is None or value is None else process(value))
        return arguments


def driver_statement(statement: Any) -> DriverStatement:
    """``statement`` compiled once for asyncpg (the SQL SQLAlchemy sends for it)."""
    compiled = statement.compile(dialect=_DIALECT)
    names = tuple(compiled.positiontup or ())
    processors = tuple(
        compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for name in names
    )
    # Only the values the statement itself holds: a value the caller forgets is a KeyError.
    fixed = {n: v for n, v in compiled.params.items() if not compiled.binds[n].required}
    return DriverStatement(str(compiled), names, processors, fixed)


async def driver_connection(connection: AsyncConnection, *, begin: bool) -> asyncpg.Connection:
    """The asyncpg connection under ``connection``; with ``begin``, its transaction started
    as SQLAlchemy starts it (the adapter's BEGIN, which SQLAlchemy's COMMIT then ends)."""
    pooled = await connection.get_raw_connection()
    if begin:
        adapter: Any = pooled.dbapi_connection
        # The adapter begins lazily, on its first statement; the hot statements bypass it.
        if adapter._transaction is None:
            try:
                await adapter._start_transaction()
            except connection.dialect.loaded_dbapi.Error as exc:  # the adapter's own errors
                raise await _translated(connection, exc.__cause__ or exc) from exc
    return pooled.driver_connection


async def fetch(
    connection: AsyncConnection,
    driver: asyncpg.Connection,
    statement: DriverStatement,
    values: Mapping[str, Any],
) -> list[Row]:
    """Run ``statement`` with ``values``; its rows. Errors as ``storage.errors``."""
    try:
        rows: list[Row] = await driver.fetch(
            statement.sql, *statement.arguments(values), record_class=Row
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ConnectionError) as exc:
        raise await _translated(connection, exc) from exc
    return rows


async def _translated(connection: AsyncConnection, exc: BaseException) -> StorageError:
    error = translate_driver(exc)
    if isinstance(error, StorageUnavailable):
        # The connection may be dead or mid-protocol: the pool must not hand it out again.
        await connection.invalidate()
    return error
