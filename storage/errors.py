"""Driver errors translated at the storage boundary, in one place.

Code outside ``storage/`` never sees SQLAlchemy's or the drivers' exceptions: a database that
cannot be reached is :class:`StorageUnavailable` (retry later), a violated constraint is
:class:`ConstraintViolation` (the data conflicts: another process wrote first, or a value is out
of range). Anything else stays a :class:`StorageError` with the driver's error as its cause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

# SQLSTATEs that mean "the server is not there right now": connection exceptions (08),
# insufficient resources (53: too many connections, disk full, out of memory), operator
# intervention (57P: shutting down, starting up, database dropped), a database not accepting
# connections (55000, after ALTER DATABASE ... ALLOW_CONNECTIONS false), a read-only server
# (25006: a standby, during a failover). Retrying later is the answer to each.
_UNAVAILABLE_STATES = ("08", "53", "57P", "55000", "25006")


class StorageError(Exception):
    """A database failure, translated at the storage boundary."""


class StorageUnavailable(StorageError):
    """The database could not be reached or refused the connection: retry later."""


class ConstraintViolation(StorageError):
    """A write broke a constraint (unique, check, foreign key): nothing of it was kept."""


def _unavailable_state(state: object) -> bool:
    """True for a SQLSTATE that says the database cannot be reached right now."""
    return isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES)


def translate(exc: BaseException) -> StorageError | None:
    """The storage error for a driver or network exception; None for anything else."""
    if isinstance(exc, OSError | ConnectionError):
        return StorageUnavailable(str(exc))
    if isinstance(exc, IntegrityError):
        return ConstraintViolation(str(exc.orig))
    if isinstance(exc, OperationalError):
        return StorageUnavailable(str(exc.orig))
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or _unavailable_state(getattr(exc.orig, "sqlstate", None)):
            return StorageUnavailable(str(exc.orig))
        return StorageError(str(exc.orig))
    return None


def translate_driver(exc: BaseException) -> StorageError:
    """The storage error for an asyncpg (or network) exception raised outside SQLAlchemy, on
    the hot statements ``storage.driver`` runs: the same answers as :func:`translate`."""
    state = getattr(exc, "sqlstate", None)
    if not isinstance(state, str):  # not the server's answer: the connection is gone or broken
        return StorageUnavailable(str(exc))
    if state.startswith("23"):  # integrity constraint violation
        return ConstraintViolation(str(exc))
    if _unavailable_state(state):
        return StorageUnavailable(str(exc))
    return StorageError(str(exc))


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Re-raise driver and network errors raised inside as :class:`StorageError`."""
    try:
        yield
    except (OSError, ConnectionError, DBAPIError) as exc:
        error = translate(exc)
        if error is None:  # pragma: no cover - translate() knows every type caught here
            raise
        raise error from exc
