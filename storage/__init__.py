"""Storage: the only package with SQL. It speaks in domain objects, not ORM rows.

``Storage`` owns the engine; ``Storage.transaction()`` yields a :class:`Tx` for one unit of
work (one inbound event), ``Storage.reading()`` one for reads. Both are composed here from the
aggregates' mixins over the seam (``storage.base``): contacts, conversations, responses, the
outbox and the directory. Dialect differences (upserts, row locks, SQLite's single writer) are
handled inside this package and nowhere else.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from storage.contacts import ContactsStorage, ContactsTx
from storage.conversations import ConversationsTx
from storage.directory import DirectoryStorage
from storage.outbox import OutboxStorage, OutboxTx
from storage.publications import Publication  # noqa: F401  (registers the publications table)
from storage.responses import ResponsesStorage, ResponsesTx
from storage.rtl_models import RtlItem  # noqa: F401  (registers the follow-up plan table)
from storage.statements import hot_path_statements
from storage.web_models import WebAdmin  # noqa: F401  (registers the web console tables)


class Tx(ContactsTx, ConversationsTx, ResponsesTx, OutboxTx):
    """Every operation of one transaction (``tx.begin_event``, ``tx.enqueue``...)."""


class Storage(ContactsStorage, ResponsesStorage, DirectoryStorage, OutboxStorage):
    """The database: the engine, units of work, and the operations outside them."""

    # Plain methods returning the context manager: no extra generator layer on the hot path.
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """One unit of work: commits on success, rolls back on any exception."""
        return self._unit_of_work(Tx)

    def reading(self) -> AbstractAsyncContextManager[Tx]:
        """Reads outside a write: no SQLite writer lock; nothing is committed."""
        return self._read(Tx)


__all__ = ["Storage", "Tx", "hot_path_statements"]
