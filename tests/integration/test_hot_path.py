"""The per-update transaction's fast path (issue 18): the conversation lock taken by
``begin_event`` on PostgreSQL, and all-or-nothing on both databases.

The lock is checked from a second connection (``FOR UPDATE NOWAIT`` must fail while an event's
transaction is open), and a second event of the same contact must see the state the first
committed, though its ``begin_event`` started while the first still held the lock.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from storage import Storage, Tx, db
from storage.conversations import SavedConversation
from storage.errors import ConstraintViolation, StorageUnavailable
from storage.models import Contact, Conversation, InboundEvent, OutboxMessage
from storage.outbox import ClaimFor
from tests.support.dispatcher import T0


async def begin(tx: Tx, event_id: str, address: str = "citizen-1") -> Any:
    begun = await tx.begin_event(
        "console",
        event_id,
        address,
        T0,
        language="id",
        respondent_key=f"key-{address}",
        answered_since=date(2026, 1, 1),
    )
    assert begun is not None
    return begun[0]


async def first_event(storage: Storage, state: dict[str, Any]) -> int:
    """A contact with a conversation holding ``state``."""
    async with storage.transaction() as tx:
        contact = await begin(tx, "e0")
        assert await tx.lock_conversation(contact.id, T0) is None
        await tx.save_conversation(contact.id, state, None, T0)
    return int(contact.id)


async def reply_and_save(tx: Tx, contact_id: int, event: str, state: dict[str, Any]) -> None:
    """What a step writes last: its reply (claimed for sending) and the new state."""
    await tx.enqueue(
        channel="console",
        messages=[("message", {"text": "Pertanyaan berikutnya"})],
        dedupe_prefix=event,
        now=T0,
        contact_id=contact_id,
        claim=ClaimFor(address="citizen-1"),
        save=SavedConversation(contact_id, state, None),
    )


async def locked_elsewhere(url: str, contact_id: int) -> bool:
    """True when another connection cannot lock the contact's conversation right now."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.fetch(
                "SELECT 1 FROM conversations WHERE contact_id = $1 FOR UPDATE NOWAIT", contact_id
            )
    except asyncpg.LockNotAvailableError:
        return True
    finally:
        await connection.close()
    return False


@pytest.mark.postgres
async def test_begin_event_holds_the_conversation_lock_until_commit(
    pg_storage: Storage, pg_url: str
) -> None:
    contact_id = await first_event(pg_storage, {"step": "q:U1"})
    assert not await locked_elsewhere(pg_url, contact_id)
    async with pg_storage.transaction() as tx:
        contact = await begin(tx, "e1")
        assert await locked_elsewhere(pg_url, contact_id), "locked by begin_event itself"
        assert await tx.lock_conversation(contact.id, T0) == {"step": "q:U1"}
        assert await locked_elsewhere(pg_url, contact_id)
    assert not await locked_elsewhere(pg_url, contact_id)


@pytest.mark.postgres
async def test_a_double_tap_waits_and_sees_the_state_the_first_tap_committed(
    pg_storage: Storage,
) -> None:
    contact_id = await first_event(pg_storage, {"step": "q:U1"})
    first_locked = asyncio.Event()
    second_begun = asyncio.Event()

    async def first_tap() -> None:
        async with pg_storage.transaction() as tx:
            contact = await begin(tx, "tap-1")
            assert await tx.lock_conversation(contact.id, T0) == {"step": "q:U1"}
            first_locked.set()
            # The second tap must not get past begin_event while this one is open.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(second_begun.wait(), timeout=0.5)
            await reply_and_save(tx, contact.id, "tap-1", {"step": "q:U2"})

    async def second_tap() -> dict[str, Any] | None:
        await first_locked.wait()
        async with pg_storage.transaction() as tx:
            contact = await begin(tx, "tap-2")
            second_begun.set()
            return await tx.lock_conversation(contact.id, T0)

    _, seen = await asyncio.gather(first_tap(), second_tap())
    assert seen == {"step": "q:U2"}, "the second tap sees what the first committed"
    assert contact_id > 0


async def test_a_transaction_failing_midway_leaves_nothing_behind(storage: Storage) -> None:
    contact_id = await first_event(storage, {"step": "q:U1"})
    with pytest.raises(RuntimeError, match="step failed"):
        async with storage.transaction() as tx:
            contact = await begin(tx, "e-fails")
            assert await tx.lock_conversation(contact.id, T0) == {"step": "q:U1"}
            await reply_and_save(tx, contact.id, "e-fails", {"step": "q:U2"})
            raise RuntimeError("step failed")
    async with storage.sessions() as session:
        events = await session.scalar(select(func.count()).select_from(InboundEvent))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
        state = await session.scalar(
            select(Conversation.state).where(Conversation.contact_id == contact_id)
        )
        contacts = await session.scalar(select(func.count()).select_from(Contact))
    assert (events, outbox, state, contacts) == (1, 0, {"step": "q:U1"}, 1)
    async with storage.transaction() as tx:  # the event was not recorded: it runs again
        contact = await begin(tx, "e-fails")
        assert await tx.lock_conversation(contact.id, T0) == {"step": "q:U1"}


async def test_a_new_contact_gets_its_conversation_created_and_locked(storage: Storage) -> None:
    async with storage.transaction() as tx:
        contact = await begin(tx, "n1", address="someone-new")
        assert await tx.lock_conversation(contact.id, T0) is None
        await tx.save_conversation(contact.id, {"step": "consent"}, None, T0)
        # Locking again in the same transaction reads this transaction's own write.
        assert await tx.lock_conversation(contact.id, T0) == {"step": "consent"}
    async with storage.transaction() as tx:
        contact = await begin(tx, "n2", address="someone-new")
        assert await tx.lock_conversation(contact.id, T0) == {"step": "consent"}


async def test_a_broken_constraint_on_the_fast_path_is_a_constraint_violation(
    storage: Storage,
) -> None:
    """Replies queued for a contact that does not exist: the foreign key refuses them (on
    PostgreSQL through the driver's own error, translated as SQLAlchemy's would be)."""
    with pytest.raises(ConstraintViolation):
        async with storage.transaction() as tx:
            await begin(tx, "e-orphan")
            await tx.enqueue(
                channel="console",
                messages=[("message", {"text": "to nobody"})],
                dedupe_prefix="e-orphan",
                now=T0,
                contact_id=999_999,
            )
    async with storage.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 0


@pytest.mark.postgres
async def test_a_connection_dropped_under_the_fast_path_is_unavailable_then_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)  # no ping: the statement meets it
    storage = Storage(db.create_engine(pg_url, pool_size=1))
    try:
        async with storage.engine.connect() as connection:
            first = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        with pytest.raises(StorageUnavailable):
            async with storage.transaction() as tx:
                await begin(tx, "e-dropped", address="dropped")
        async with storage.transaction() as tx:  # the pool replaced the connection
            contact = await begin(tx, "e-dropped", address="dropped")
            assert await tx.lock_conversation(contact.id, T0) is None
    finally:
        await storage.dispose()
