"""The outbox: replies and notices queued in the transaction that produced them, then claimed,
sent and receipted (handlers/outbox.py sends); delivery reports, the prompt payloads a tap is
checked against, waking staff messages, and WhatsApp's 24-hour window of a contact."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.base import StorageBase, TxBase
from storage.conversations import SavedConversation, save_conversation
from storage.errors import StorageUnavailable
from storage.models import Contact, DeliveryStatus, OutboxMessage, OutboxStatus, Recipient
from storage.statements import MARK_SENT, PG_ENQUEUE_SCALARS

# Outbox kinds never sent twice: after a crash mid-send they are marked failed, not resent.
AT_MOST_ONCE_KINDS = ("digest", "digest_photo")
UNCONFIRMED = "unconfirmed: the send started but was never confirmed; not resent (at most once)"

CONTACT_WINDOW = select(Contact.last_inbound_at, Contact.template_sent_at).where(
    Contact.id == bindparam("contact_id")
)


def _still_claimed(attempt: int | None) -> tuple[Any, ...]:
    """Conditions for "the claim with this attempt number still holds the row"."""
    if attempt is None:
        return ()
    return (
        OutboxMessage.status == OutboxStatus.SENDING.value,
        OutboxMessage.attempts == attempt,
    )


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """An outbox row claimed for delivery."""

    id: int
    channel: str
    address: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    contact_id: int | None


@dataclass(frozen=True, slots=True)
class ClaimFor:
    """Lease freshly queued messages to the caller, who sends them to ``address``."""

    address: str
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """The outbox row a delivery report belongs to; ``applied`` when it raised the status."""

    outbox_id: int
    contact_id: int | None
    applied: bool


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """When a contact last wrote, and when the template last invited them back (WhatsApp)."""

    last_inbound_at: datetime | None
    template_sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """Messages of one channel in one unsent status, and when the oldest was queued."""

    channel: str
    status: str
    count: int
    oldest_created_at: datetime | None


@dataclass(slots=True)
class _ReceiptBatch:
    """Receipts waiting to be written together (see :meth:`Storage.mark_sent`)."""

    rows: list[dict[str, Any]]
    written: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class OutboxTx(TxBase):
    """A transaction's operations on the outbox."""

    async def enqueue(
        self,
        *,
        channel: str,
        messages: Sequence[tuple[str, dict[str, Any]]],
        dedupe_prefix: str,
        now: datetime,
        contact_id: int | None = None,
        recipient_id: int | None = None,
        priority: int = 0,
        claim: ClaimFor | None = None,
        save: SavedConversation | None = None,
    ) -> list[PendingMessage]:
        """Queue ``(kind, payload)`` messages in order, in one statement.

        The dedupe key makes enqueueing idempotent: the same prefix twice adds nothing. With
        ``claim``, the rows are leased to the caller at once (the fast path that sends right
        after the commit); if the caller dies, the lease runs out and the sweeper sends them.
        With ``save``, a conversation's new state is written too (on PostgreSQL in the same
        statement: the last round trip of an inbound event before its commit).
        """
        if save is not None and (self.dialect != "postgresql" or not messages):
            await save_conversation(self, save.contact_id, save.state, save.expires_at, now)
            save = None
        if not messages:
            return []
        status = OutboxStatus.SENDING if claim else OutboxStatus.PENDING
        rows: list[dict[str, Any]] = [
            {
                "contact_id": contact_id,
                "recipient_id": recipient_id,
                "channel": channel,
                "kind": kind,
                "payload": payload,
                "priority": priority,
                "dedupe_key": f"{dedupe_prefix}:{index}",
                "status": status.value,
                "attempts": 1 if claim else 0,
                "next_attempt_at": now,
                "lease_until": now + claim.lease if claim else None,
                "created_at": now,
            }
            for index, (kind, payload) in enumerate(messages)
        ]
        if self.dialect == "postgresql":
            # One statement: the messages as one JSON array, the conversation saved alongside.
            first = rows[0]
            assert self.hot.driver is not None
            found = await self.driver_fetch(
                self.hot.driver.enqueue,
                {
                    **{k: first[k] for k in PG_ENQUEUE_SCALARS},
                    "now": now,
                    "prefix": dedupe_prefix,
                    "messages": [{"kind": r["kind"], "payload": r["payload"]} for r in rows],
                    "save_contact_id": save.contact_id if save else None,
                    "state": save.state if save else None,
                    "expires_at": save.expires_at if save else None,
                },
            )
            inserted = {row.dedupe_key: row.id for row in found}
        else:
            # Parameters as a list, not .values(rows): the statement then compiles once and
            # is cached (SQLAlchemy's "insertmanyvalues" still sends one INSERT ... RETURNING);
            # a multi-row .values() is compiled anew on every call.
            result = await self.connection.execute(self.hot.enqueue, rows)
            inserted = {key: row_id for row_id, key in result.all()}
        return [
            PendingMessage(
                id=inserted[row["dedupe_key"]],
                channel=channel,
                address=claim.address if claim else "",
                kind=row["kind"],
                payload=row["payload"],
                attempts=row["attempts"],
                contact_id=contact_id,
            )
            for row in rows
            if row["dedupe_key"] in inserted
        ]

    async def claim_outbox(
        self,
        channel: str,
        now: datetime,
        *,
        ids: Sequence[int] | None,
        limit: int,
        lease: timedelta,
    ) -> list[PendingMessage]:
        # At-most-once kinds (digests): a send started but never confirmed is not repeated.
        await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status == OutboxStatus.SENDING.value,
                OutboxMessage.lease_until < now,
                OutboxMessage.kind.in_(AT_MOST_ONCE_KINDS),
            )
            .values(status=OutboxStatus.FAILED.value, last_error=UNCONFIRMED)
        )
        due = or_(
            and_(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
            ),
            and_(
                OutboxMessage.status == OutboxStatus.SENDING.value,
                OutboxMessage.lease_until < now,
            ),
        )
        query: Select[OutboxMessage] = (
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, due)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        rows = list((await self.session.execute(query)).scalars())
        if not rows:
            return []
        attempts = {r.id: r.attempts + 1 for r in rows}  # read before the UPDATE syncs them
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(
                status=OutboxStatus.SENDING.value,
                lease_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        addresses = await self._addresses(rows)
        return [
            PendingMessage(
                id=r.id,
                channel=r.channel,
                address=addresses.get(r.id, ""),
                kind=r.kind,
                payload=dict(r.payload),
                attempts=attempts[r.id],
                contact_id=r.contact_id,
            )
            for r in rows
        ]

    async def _addresses(self, rows: Sequence[OutboxMessage]) -> dict[int, str]:
        """Each row's platform address: its contact's (the phone number whenever one is
        known, else the address), or its recipient's (officers, heads: as registered)."""
        addresses: dict[int, str] = {}
        owners: tuple[tuple[str, Any, Any], ...] = (
            ("contact_id", Contact.id, func.coalesce(Contact.phone, Contact.address)),
            ("recipient_id", Recipient.id, Recipient.address),
        )
        for owner, id_column, address_column in owners:
            ids = {getattr(r, owner) for r in rows} - {None}
            if not ids:
                continue
            found = await self.session.execute(
                select(id_column, address_column).where(id_column.in_(ids))
            )
            by_id: dict[int, str] = {row_id: address for row_id, address in found.all()}
            addresses.update(
                (r.id, by_id[getattr(r, owner)]) for r in rows if getattr(r, owner) in by_id
            )
        return addresses

    async def record_delivery(
        self,
        channel: str,
        platform_message_id: str,
        status: DeliveryStatus,
        at: datetime,
        error: str | None = None,
    ) -> DeliveryRecord | None:
        """Record a delivery report on the outbox row with that platform id.

        Reports arrive out of order and more than once: the stored status only ever rises
        (see :class:`DeliveryStatus`). None when no row has that id.
        """
        row = (
            await self.session.execute(
                select(OutboxMessage.id, OutboxMessage.contact_id, OutboxMessage.delivery_status)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.platform_message_id == platform_message_id,
                )
                .order_by(OutboxMessage.id)
                .limit(1)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        known = {s.value for s in DeliveryStatus}
        current = DeliveryStatus(row[2]) if row[2] in known else None
        applied = current is None or status.rank > current.rank
        if applied:
            values: dict[str, Any] = {"delivery_status": status.value, "delivery_status_at": at}
            if error is not None:
                values["delivery_error"] = error[:500]
            await self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row[0]).values(**values)
            )
        return DeliveryRecord(outbox_id=row[0], contact_id=row[1], applied=applied)

    async def prompt_payload(
        self, channel: str, contact_id: int, prompt_token: str, *, recent: int = 20
    ) -> dict[str, Any] | None:
        """The payload of the prompt with this token among the contact's latest messages.

        Found by the token, not the platform id, so a tap that arrives before the send is
        recorded still finds it; a token older than the latest ``recent`` messages is stale.
        """
        rows = await self.session.execute(
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.contact_id == contact_id,
                OutboxMessage.kind == "message",
            )
            .order_by(OutboxMessage.id.desc())
            .limit(recent)
        )
        for payload in rows.scalars():
            if isinstance(payload, dict) and payload.get("prompt_token") == prompt_token:
                return dict(payload)
        return None

    async def wake_waiting_staff_messages(
        self, channel: str, address: str, now: datetime, *, phone: str | None = None
    ) -> int:
        """Someone who is a recipient just wrote: messages waiting for their 24-hour window
        (digests on WhatsApp) are due now. Returns how many.

        ``address`` is the sender's key (a BSUID on WhatsApp when the payload has one) and
        ``phone`` the phone number the payload shows: staff registered by phone are found
        by it, and the BSUID is remembered for when Meta hides the phone (one round trip
        on PostgreSQL)."""
        values = {"on_channel": channel, "sender": address, "phone": phone, "now": now}
        if self.dialect != "postgresql" and phone is not None:
            await self.connection.execute(self.hot.remember_staff_bsuid, values)
        result = await self.connection.execute(self.hot.wake_staff_messages, values)
        return int(getattr(result, "rowcount", 0) or 0)


class OutboxStorage(StorageBase):
    """The outbox outside the inbound transaction: the sweeper, receipts, retries, windows."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._receipts_lock = asyncio.Lock()
        self._open_receipts: _ReceiptBatch | None = None

    async def claim_outbox(
        self,
        channel: str,
        now: datetime,
        *,
        ids: Sequence[int] | None = None,
        limit: int = 50,
        lease: timedelta = timedelta(minutes=2),
    ) -> list[PendingMessage]:
        """Claim due messages for ``channel`` (replies first); each is leased to one sender."""
        async with self._unit_of_work(OutboxTx) as tx:
            return await tx.claim_outbox(channel, now, ids=ids, limit=limit, lease=lease)

    async def mark_sent(self, receipts: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record delivered messages, ``(outbox id, platform message id)``.

        Group commit: while one write is in flight, receipts from other deliveries gather and
        go together in the next write, so under load many deliveries cost one round trip and
        an idle system adds no wait. Returns once this call's receipts are written.
        """
        if not receipts:
            return
        rows = [
            {"message_id": message_id, "platform_id": platform, "sent_at": now}
            for message_id, platform in receipts
        ]
        batch = self._open_receipts
        if batch is not None:  # a batch is waiting for the write in flight: join it
            batch.rows.extend(rows)
            await asyncio.shield(batch.written)
            return
        batch = self._open_receipts = _ReceiptBatch(rows)
        try:
            async with self._receipts_lock:
                self._open_receipts = None  # later callers start the next batch
                # Autocommit: each receipt stands alone; BEGIN/COMMIT would be two more trips.
                async with self._core_autocommit() as connection:
                    await connection.execute(MARK_SENT, batch.rows)
        except BaseException as exc:
            if self._open_receipts is batch:
                self._open_receipts = None
            failure = exc if isinstance(exc, Exception) else StorageUnavailable("cancelled")
            batch.written.set_exception(failure)
            batch.written.exception()  # retrieved: the callers that joined see it
            raise
        batch.written.set_result(None)

    async def mark_retry(
        self,
        message_id: int,
        error: str,
        next_attempt_at: datetime,
        *,
        attempt: int | None = None,
    ) -> None:
        """Back to pending, due at ``next_attempt_at``. With ``attempt`` (the claim's attempt
        number), only while that claim still holds the row: a sender whose lease ran out must
        not undo a newer claim (the row would then go out once more)."""
        async with self._unit_of_work(OutboxTx) as tx:
            await tx.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, *_still_claimed(attempt))
                .values(
                    status=OutboxStatus.PENDING.value,
                    next_attempt_at=next_attempt_at,
                    lease_until=None,
                    last_error=error[:500],
                )
            )

    async def mark_failed(self, message_id: int, error: str, *, attempt: int | None = None) -> None:
        async with self._unit_of_work(OutboxTx) as tx:
            await tx.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, *_still_claimed(attempt))
                .values(status=OutboxStatus.FAILED.value, lease_until=None, last_error=error[:500])
            )

    async def retry_now(self, channel: str, now: datetime) -> int:
        """Make every pending retry of ``channel`` due now; returns how many.

        For when the platform is back after an outage: messages that backed off for a minute
        need not wait out their backoff.
        """
        async with self._unit_of_work(OutboxTx) as tx:
            result = await tx.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.status == OutboxStatus.PENDING.value,
                    OutboxMessage.attempts > 0,
                    OutboxMessage.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def note_outbox(self, message_id: int, note: str) -> None:
        """Keep a note on a row that was delivered differently (e.g. as a template)."""
        async with self._unit_of_work(OutboxTx) as tx:
            await tx.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(last_error=note[:500])
            )

    async def contact_window(self, contact_id: int) -> ContactWindow | None:
        """When the contact last wrote and was last sent the template; None when erased.

        Read before every WhatsApp reply: one statement in autocommit, one round trip."""
        async with self._core_autocommit() as connection:
            row = (await connection.execute(CONTACT_WINDOW, {"contact_id": contact_id})).first()
        return None if row is None else ContactWindow(row[0], row[1])

    async def address_window(self, channel: str, address: str) -> ContactWindow | None:
        """The 24-hour window of whoever writes from ``address`` (a head or officer who
        also chats with the bot is a contact too); None when they never wrote."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Contact.last_inbound_at, Contact.template_sent_at)
                    .where(
                        Contact.channel == channel,
                        or_(Contact.address == address, Contact.phone == address),
                    )
                    .order_by(Contact.address != address)
                    .limit(1)
                )
            ).one_or_none()
        return None if row is None else ContactWindow(row[0], row[1])

    async def mark_template_sent(self, contact_id: int, at: datetime) -> None:
        async with self._unit_of_work(OutboxTx) as tx:
            await tx.session.execute(
                update(Contact).where(Contact.id == contact_id).values(template_sent_at=at)
            )

    async def outbox_backlog(self) -> list[OutboxBacklog]:
        """What is waiting to go out (pending or being sent), per channel and status.

        Reads only unsent rows, through the ``ix_outbox_due`` index: cheap enough for every
        metrics scrape however large the history of sent messages grows.
        """
        waiting = [OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]
        query = (
            select(
                OutboxMessage.channel,
                OutboxMessage.status,
                func.count(),
                func.min(OutboxMessage.created_at),
            )
            .where(OutboxMessage.status.in_(waiting))
            .group_by(OutboxMessage.channel, OutboxMessage.status)
        )
        async with self._unit_of_work(OutboxTx) as tx:
            rows = (await tx.session.execute(query)).all()
        return [OutboxBacklog(c, s, n, oldest) for c, s, n, oldest in rows]

    async def outbox_counts(self) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            return {status: count for status, count in rows.all()}
