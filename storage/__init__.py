"""Storage: the only package with SQL. It speaks in domain objects, not ORM rows.

``Storage`` owns the engine; ``Storage.transaction()`` yields a :class:`Tx` for one unit of
work (one inbound event), ``Storage.reading()`` one for reads. Both are composed here from the
aggregates' mixins over the seam (``storage.base``): contacts, conversations, responses, the
outbox and the directory. Dialect differences (upserts, row locks, SQLite's single writer) are
handled inside this package and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.contacts import ContactsStorage, ContactsTx
from storage.conversations import ConversationsTx
from storage.directory import DirectoryStorage
from storage.outbox import OutboxStorage, OutboxTx
from storage.responses import ResponsesStorage, ResponsesTx


class Tx(ContactsTx, ConversationsTx, ResponsesTx, OutboxTx):
    """Every operation of one transaction (``tx.begin_event``, ``tx.enqueue``...)."""


class Storage(ContactsStorage, ResponsesStorage, DirectoryStorage, OutboxStorage):
    """The database: the engine, units of work, and the operations outside them."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self._unit_of_work(Tx) as tx:
            yield tx

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Tx]:
        """Reads outside a write: no SQLite writer lock; nothing is committed."""
        async with self._read(Tx) as tx:
            yield tx


__all__ = ["Storage", "Tx"]
