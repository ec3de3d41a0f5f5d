"""Repositories: the only place with SQL. They speak in domain objects, not ORM rows.

``Storage`` owns the engine; ``Storage.transaction()`` yields a :class:`Tx` for one unit of
work (one inbound event). Dialect differences (upserts, row locks, SQLite's single writer)
are handled here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    distinct,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.complaint_models import Complaint
from storage.errors import StorageUnavailable, translated
from storage.models import (
    Contact,
    Conversation,
    DeliveryStatus,
    InboundEvent,
    Opd,
    OutboxMessage,
    OutboxStatus,
    Recipient,
    ResponseScore,
    SurveyResponse,
    Unit,
    UTCDateTime,
)
from survey_flows.directory import Directory, OpdInfo, UnitInfo
from survey_flows.types import SubmitResponse


def event_key(event_id: str) -> str:
    """A platform event id as stored: itself when short, else a digest that keeps it unique."""
    if len(event_id) <= 120:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


# Outbox kinds never sent twice: after a crash mid-send they are marked failed, not resent.
AT_MOST_ONCE_KINDS = ("digest", "digest_photo")
UNCONFIRMED = "unconfirmed: the send started but was never confirmed; not resent (at most once)"

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
COMPLAINTS: Table = Complaint.__table__  # type: ignore[assignment]


_CONTACT_WINDOW = select(Contact.last_inbound_at, Contact.template_sent_at).where(
    Contact.id == bindparam("contact_id")
)

_MARK_SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("message_id"))
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("sent_at"),
        platform_message_id=bindparam("platform_id"),
        lease_until=None,
    )
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
class ContactRecord:
    """A contact as the dispatcher needs it."""

    id: int
    channel: str
    address: str
    language: str
    consent_at: datetime | None
    blocked: bool
    phone: str | None = None  # WhatsApp: the phone number, when Meta has shown it
    respondent_key: str | None = None  # the pseudonym of the contact's responses, once stored
    parent_address: str | None = None  # WhatsApp: the parent BSUID, when Meta sends one

    @property
    def reply_address(self) -> str:
        """Where replies go: the phone number whenever one is known (Meta's advice), else
        the address (a business-scoped user id on WhatsApp)."""
        return self.phone or self.address


# A respondent key for an address (HMAC with the deployment's secret, handlers/dispatcher.py):
# storage keeps no secret, so whoever merges contacts passes it.
Pseudonym = Callable[[str], str]

# Storage remembers, per process, which contact a phone-only payload belongs to once settled:
# (channel, phone) -> that contact's address (its BSUID), so such payloads do not settle again
# on every message. Erasure clears it, and a number that moves to another BSUID leaves it.
_PHONE_OWNERS_MAX = 10_000


def is_phone(address: str) -> bool:
    """True for a WhatsApp phone number (wa_id: digits only); a BSUID is ``CC.<id>``."""
    return address.isascii() and address.isdigit()


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
class SavedConversation:
    """A conversation's state to write with the replies it produced."""

    contact_id: int
    state: dict[str, Any] | None
    expires_at: datetime | None


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
class StoredResponse:
    """A survey response read back (for tests, exports and reports)."""

    id: int
    unit_code: str
    service_type: str | None
    channel: str
    respondent_key: str | None
    profile: dict[str, str]
    scores: dict[str, int]
    suggestion: str | None
    submitted_at: datetime
    local_date: date


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


class Storage:
    """The database: engine, sessions, and the repositories built on them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.dialect = engine.dialect.name
        # SQLite allows one writer at a time; serialising here avoids "database is locked".
        self._writer = asyncio.Lock() if self.dialect == "sqlite" else None
        self._receipts_lock = asyncio.Lock()
        self._open_receipts: _ReceiptBatch | None = None
        self._phone_owners: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One unit of work: commits on success, rolls back on any exception."""
        if self._writer is not None:
            async with self._writer, self._session() as tx:
                yield tx
        else:
            async with self._session() as tx:
                yield tx

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[Tx]:
        async with translated(), self.engine.begin() as connection:
            tx = Tx(connection, self.dialect, self.sessions, self._phone_owners)
            try:
                yield tx
                await tx.finish()
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

    async def mark_blocked(self, channel: str, address: str, now: datetime) -> None:
        """The platform says this contact blocked the bot: stop sending to them."""
        async with self.transaction() as tx:
            await tx.session.execute(
                update(Contact)
                .where(Contact.channel == channel, Contact.address == address)
                .values(blocked_at=now)
            )

    # --- reads outside a conversation ------------------------------------------------------

    async def directory(self) -> Directory:
        async with self.sessions() as session:
            return await load_directory(session)

    async def responses(self, unit_code: str | None = None) -> list[StoredResponse]:
        async with self.sessions() as session:
            query = (
                select(SurveyResponse, Unit.code)
                .join(Unit, Unit.id == SurveyResponse.unit_id)
                .order_by(SurveyResponse.id)
            )
            if unit_code:
                query = query.where(Unit.code == unit_code)
            rows = (await session.execute(query)).all()
            ids = [r.id for r, _ in rows]
            scores: dict[int, dict[str, int]] = {i: {} for i in ids}
            if ids:
                score_rows = await session.execute(
                    select(ResponseScore).where(ResponseScore.response_id.in_(ids))
                )
                for score in score_rows.scalars():
                    scores[score.response_id][score.element_code] = score.score
            return [
                StoredResponse(
                    id=r.id,
                    unit_code=code,
                    service_type=r.service_type,
                    channel=r.channel,
                    respondent_key=r.respondent_key,
                    profile=dict(r.profile),
                    scores=scores[r.id],
                    suggestion=r.suggestion,
                    submitted_at=r.submitted_at,
                    local_date=r.local_date,
                )
                for r, code in rows
            ]

    # --- the outbox, outside the inbound transaction ---------------------------------------

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
        async with self.transaction() as tx:
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
                    await connection.execute(_MARK_SENT, batch.rows)
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
        async with self.transaction() as tx:
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
        async with self.transaction() as tx:
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
        async with self.transaction() as tx:
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
        async with self.transaction() as tx:
            await tx.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(last_error=note[:500])
            )

    # --- the 24-hour window of a contact (WhatsApp) ---------------------------------------

    async def contact_window(self, contact_id: int) -> ContactWindow | None:
        """When the contact last wrote and was last sent the template; None when erased.

        Read before every WhatsApp reply: one statement in autocommit, one round trip."""
        async with self._core_autocommit() as connection:
            row = (await connection.execute(_CONTACT_WINDOW, {"contact_id": contact_id})).first()
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
        async with self.transaction() as tx:
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
        async with self.transaction() as tx:
            rows = (await tx.session.execute(query)).all()
        return [OutboxBacklog(c, s, n, oldest) for c, s, n, oldest in rows]

    async def outbox_counts(self) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            return {status: count for status, count in rows.all()}


class _HotStatements:
    """The statements of the per-update transaction, built once per dialect.

    Building a statement with SQLAlchemy's generative API costs more CPU than running it
    (~0.1-0.2 ms each, measured): on the path every inbound event takes they are built once,
    with bind parameters, and executed on the session's Core connection.
    """

    def __init__(self, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        inbound: Any = InboundEvent.__table__
        contacts: Any = Contact.__table__
        conversations: Any = Conversation.__table__
        self.record_inbound = (
            insert(inbound)
            .on_conflict_do_nothing(index_elements=["channel", "event_id"])
            .returning(inbound.c.id)
        )
        contact_insert = insert(contacts)
        self.contact_for = contact_insert.on_conflict_do_update(
            index_elements=["channel", "address"],
            set_=_contact_upsert(contacts, contact_insert),
        ).returning(*_contact_columns(contacts))
        self.lock_conversation = (
            select(conversations.c.state)
            .where(conversations.c.contact_id == bindparam("contact_id"))
            .with_for_update()
        )
        self.create_conversation = insert(conversations).on_conflict_do_nothing(
            index_elements=["contact_id"]
        )
        self.save_conversation = (
            update(conversations)
            .where(conversations.c.contact_id == bindparam("key_contact_id"))
            .values(
                state=bindparam("state", type_=conversations.c.state.type),
                expires_at=bindparam("expires_at"),
                updated_at=bindparam("updated_at"),
            )
        )
        responses: Any = SurveyResponse.__table__
        units: Any = Unit.__table__
        self.units_answered_since = (
            select(units.c.code)
            .join(responses, responses.c.unit_id == units.c.id)
            .where(responses.c.respondent_key == bindparam("respondent_key"))
            .where(responses.c.local_date >= bindparam("since"))
            .distinct()
        )
        self.enqueue = (
            insert(OUTBOX)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OUTBOX.c.id, OUTBOX.c.dedupe_key)
        )
        self.begin_event = _begin_event(inbound, contacts, units, responses)
        recipients: Any = Recipient.__table__
        # Runs on every WhatsApp message (a head's reply opens their window for a digest).
        # The head is found by the address they are registered with (a phone number), or by
        # the business-scoped user id learnt from an earlier payload that showed both.
        wake: Any = (
            update(OUTBOX)
            .where(
                OUTBOX.c.status == OutboxStatus.PENDING.value,
                OUTBOX.c.channel == bindparam("on_channel"),
                OUTBOX.c.recipient_id.in_(
                    select(recipients.c.id).where(
                        recipients.c.channel == bindparam("on_channel"),
                        or_(
                            recipients.c.address == bindparam("sender"),
                            recipients.c.address == bindparam("phone"),
                            recipients.c.bsuid == bindparam("sender"),
                        ),
                    )
                ),
            )
            .values(next_attempt_at=bindparam("now", type_=UTCDateTime()))
        )
        # Staff registered by phone: remember the BSUID the payload carries with the phone.
        self.remember_staff_bsuid = (
            update(recipients)
            .where(
                recipients.c.channel == bindparam("on_channel"),
                recipients.c.address == bindparam("phone"),
                recipients.c.address != bindparam("sender"),
                or_(recipients.c.bsuid.is_(None), recipients.c.bsuid != bindparam("sender")),
            )
            .values(bsuid=bindparam("sender"))
        )
        if dialect == "postgresql":  # both in one round trip
            wake = wake.add_cte(self.remember_staff_bsuid.returning(recipients.c.id).cte("learnt"))
        self.wake_staff_messages = wake


def _begin_event(inbound: Any, contacts: Any, units: Any, responses: Any) -> Select[Any]:
    """PostgreSQL: record the event, upsert its contact and read the units the respondent
    answered recently, in one round trip. No row when the event was seen before."""
    event = (
        postgresql.insert(inbound)
        .values(
            channel=bindparam("channel"),
            event_id=bindparam("event_id"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["channel", "event_id"])
        .returning(inbound.c.id)
        .cte("event")
    )
    new_contact = select(
        bindparam("channel", type_=String()),
        bindparam("address", type_=String()),
        bindparam("language", type_=String()),
        bindparam("received_at", type_=UTCDateTime()),
        bindparam("received_at", type_=UTCDateTime()),
        bindparam("respondent_key", type_=String()),
    ).where(exists(select(event.c.id)))
    insert = postgresql.insert(contacts).from_select(
        ["channel", "address", "language", "created_at", "last_inbound_at", "respondent_key"],
        new_contact,
    )
    contact = (
        insert.on_conflict_do_update(
            index_elements=["channel", "address"], set_=_contact_upsert(contacts, insert)
        )
        .returning(*_contact_columns(contacts))
        .cte("contact")
    )
    # The contact's stored key: the pseudonym follows the person when the address changes.
    recent = (
        select(func.array_agg(distinct(units.c.code)))
        .select_from(units.join(responses, responses.c.unit_id == units.c.id))
        .where(
            responses.c.respondent_key == contact.c.respondent_key,
            responses.c.local_date >= bindparam("since"),
        )
        .scalar_subquery()
    )
    return select(*contact.c, recent.label("recent"))


def _contact_upsert(contacts: Any, insert: Any) -> dict[str, Any]:
    """What a message from a known contact changes: they wrote now; a message from someone
    who had blocked the bot means they are back; a contact from before the respondent key
    was stored gets it (the HMAC of its address, as it always was)."""
    return {
        "last_inbound_at": insert.excluded.last_inbound_at,
        "blocked_at": None,
        "respondent_key": func.coalesce(contacts.c.respondent_key, insert.excluded.respondent_key),
    }


def _contact_columns(contacts: Any) -> tuple[Any, ...]:
    return (
        contacts.c.id,
        contacts.c.language,
        contacts.c.consent_at,
        contacts.c.blocked_at,
        contacts.c.phone,
        contacts.c.respondent_key,
        contacts.c.parent_address,
    )


# PostgreSQL's enqueue: the messages arrive as one JSON array (ids follow its order), and the
# conversation is saved by a CTE when ``save_contact_id`` is not NULL.
_PG_ENQUEUE = text(
    """
    WITH saved AS (
        UPDATE conversations
        SET state = :state, expires_at = :expires_at, updated_at = :now
        WHERE contact_id = :save_contact_id
    )
    INSERT INTO outbox (
        contact_id, recipient_id, channel, kind, payload, priority, dedupe_key, status,
        attempts, next_attempt_at, lease_until, created_at
    )
    SELECT
        CAST(:contact_id AS BIGINT), CAST(:recipient_id AS INTEGER), CAST(:channel AS VARCHAR),
        m.message ->> 'kind', m.message -> 'payload', CAST(:priority AS INTEGER),
        CAST(:prefix AS VARCHAR) || ':' || (m.n - 1), CAST(:status AS VARCHAR),
        CAST(:attempts AS INTEGER), :now, :lease_until, :now
    FROM jsonb_array_elements(:messages) WITH ORDINALITY AS m(message, n)
    ORDER BY m.n
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, dedupe_key
    """
).bindparams(
    bindparam("state", type_=Conversation.__table__.c.state.type),
    bindparam("messages", type_=postgresql.JSONB()),
    bindparam("expires_at", type_=UTCDateTime()),
    bindparam("now", type_=UTCDateTime()),
    bindparam("lease_until", type_=UTCDateTime()),
    bindparam("save_contact_id", type_=BigInteger()),
)
_PG_ENQUEUE_SCALARS = (
    "contact_id",
    "recipient_id",
    "channel",
    "priority",
    "status",
    "attempts",
    "lease_until",
)

_HOT: dict[str, _HotStatements] = {}


def hot_path_statements() -> dict[str, Any]:
    """The statements one survey tap runs on PostgreSQL, as executed here: for the load
    bench's floor (bench/load.py), which must measure the very same SQL."""
    statements = _hot("postgresql")
    return {
        "begin_event": statements.begin_event,
        "lock_conversation": statements.lock_conversation,
        "enqueue": _PG_ENQUEUE,
        "mark_sent": _MARK_SENT,
    }


def _hot(dialect: str) -> _HotStatements:
    statements = _HOT.get(dialect)
    if statements is None:
        statements = _HOT[dialect] = _HotStatements(dialect)
    return statements


class Tx:
    """Repository operations inside one transaction."""

    def __init__(
        self,
        connection: AsyncConnection,
        dialect: str,
        sessions: async_sessionmaker[AsyncSession],
        phone_owners: OrderedDict[tuple[str, str], str] | None = None,
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self._hot = _hot(dialect)
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._phone_owners = phone_owners if phone_owners is not None else OrderedDict()

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

    # --- inbound ------------------------------------------------------------------------------

    async def record_inbound(self, channel: str, event_id: str, received_at: datetime) -> bool:
        """Record an inbound event; False when it was seen before (a redelivery)."""
        connection = self.connection
        result = await connection.execute(
            self._hot.record_inbound,
            {"channel": channel, "event_id": event_key(event_id), "received_at": received_at},
        )
        return result.scalar_one_or_none() is not None

    async def contact_for(
        self,
        channel: str,
        address: str,
        language: str,
        now: datetime,
        *,
        respondent_key: str | None = None,
    ) -> ContactRecord:
        """The contact for a platform address, created on first contact (one round trip).

        ``respondent_key`` is stored on a new contact (and on an old one that has none)."""
        connection = self.connection
        values = {
            "channel": channel,
            "address": address,
            "language": language,
            "created_at": now,
            "last_inbound_at": now,
            "respondent_key": respondent_key,
        }
        row = (await connection.execute(self._hot.contact_for, values)).one()
        return _contact_record(row, channel, address)

    async def begin_event(
        self,
        channel: str,
        event_id: str,
        address: str,
        now: datetime,
        *,
        language: str,
        respondent_key: str,
        answered_since: date | None,
        phone: str | None = None,
        parent: str | None = None,
        pseudonym: Pseudonym | None = None,
    ) -> tuple[ContactRecord, frozenset[str]] | None:
        """Record an inbound event and find (or create) its contact; None for a redelivery.

        Also returns the codes of the units the contact answered on or after
        ``answered_since`` (none when it is None), by the contact's stored respondent key;
        ``respondent_key`` (the HMAC of ``address``) is stored on a new contact. One round
        trip on PostgreSQL.

        WhatsApp: ``phone`` is the phone number the payload shows besides ``address`` (a
        business-scoped user id, or the phone itself), ``parent`` the parent BSUID. The
        person stays one contact: a contact keyed by the phone earlier is promoted to the
        BSUID, two contacts already split are merged (:meth:`merge_contacts`, which needs
        ``pseudonym``). That costs more statements only when the contact's stored phone
        differs from ``phone`` (the first such payload), never on the common path.
        """
        if phone is not None and address == phone:  # a phone-only payload
            address = self._phone_owners.get((channel, phone), address)
        if self.dialect != "postgresql":
            if not await self.record_inbound(channel, event_id, now):
                return None
            contact = await self.contact_for(
                channel, address, language, now, respondent_key=respondent_key
            )
            contact = await self._settle(contact, phone, parent, pseudonym)
            recent: frozenset[str] = frozenset()
            if answered_since is not None and contact.respondent_key is not None:
                recent = await self.units_answered_since(contact.respondent_key, answered_since)
            return contact, recent
        row = (
            await self.connection.execute(
                self._hot.begin_event,
                {
                    "channel": channel,
                    "event_id": event_key(event_id),
                    "received_at": now,
                    "address": address,
                    "language": language,
                    "respondent_key": respondent_key,
                    # No window: a date no response can be on or after.
                    "since": answered_since or date.max,
                },
            )
        ).one_or_none()
        if row is None:
            return None
        contact = _contact_record(row, channel, address)
        settled = await self._settle(contact, phone, parent, pseudonym)
        if settled is contact:
            return contact, frozenset(row.recent or ())
        recent = frozenset[str]()
        if answered_since is not None and settled.respondent_key is not None:
            recent = await self.units_answered_since(settled.respondent_key, answered_since)
        return settled, recent

    # --- one person, one contact (WhatsApp: phone number and business-scoped user id) ------

    async def _settle(
        self,
        contact: ContactRecord,
        phone: str | None,
        parent: str | None,
        pseudonym: Pseudonym | None,
    ) -> ContactRecord:
        """``contact`` once its stored phone and parent BSUID match the payload's.

        The contact itself when they already match (the common case: no statement). Else
        any other contact holding the phone is the same person and merged (a contact keyed
        by the phone earlier, or split by an older version), unless both are keyed by
        different business-scoped user ids: then the number moved to someone else (Meta
        gives a changed number a new BSUID) and only the phone moves.
        """
        if parent is not None and parent != contact.parent_address:
            await self.connection.execute(
                update(Contact).where(Contact.id == contact.id).values(parent_address=parent)
            )
            contact = _replace(contact, parent_address=parent)
        if phone is None or phone == contact.phone or pseudonym is None:
            return contact
        others = (
            await self.connection.execute(
                select(Contact.id, Contact.address)
                .where(
                    Contact.channel == contact.channel,
                    Contact.id != contact.id,
                    or_(Contact.address == phone, Contact.phone == phone),
                )
                .order_by(Contact.id)
                .with_for_update()
            )
        ).all()
        if not others:  # the first payload of someone new that shows their phone
            await self.connection.execute(
                update(Contact).where(Contact.id == contact.id).values(phone=phone)
            )
            return _replace(contact, phone=phone)
        keep_id, address = contact.id, contact.address
        for other_id, other_address in others:
            if not is_phone(other_address) and not is_phone(address):
                await self.connection.execute(
                    update(Contact).where(Contact.id == other_id).values(phone=None)
                )
                self._phone_owners.pop((contact.channel, phone), None)
                continue
            # Into the older contact (ids only grow): the one the earlier history belongs to.
            keep, gone = (other_id, keep_id) if other_id < keep_id else (keep_id, other_id)
            await self.merge_contacts(keep, gone, pseudonym)
            keep_id = keep
            address = address if not is_phone(address) else other_address
        await self.connection.execute(
            update(Contact).where(Contact.id == keep_id).values(address=address, phone=phone)
        )
        if is_phone(contact.address) and not is_phone(address):
            self._remember_phone_owner(contact.channel, phone, address)
        row = (
            await self.connection.execute(
                select(
                    Contact.id,
                    Contact.language,
                    Contact.consent_at,
                    Contact.blocked_at,
                    Contact.phone,
                    Contact.respondent_key,
                    Contact.parent_address,
                ).where(Contact.id == keep_id)
            )
        ).one()
        return _contact_record(row, contact.channel, address)

    def _remember_phone_owner(self, channel: str, phone: str, address: str) -> None:
        owners = self._phone_owners
        owners[(channel, phone)] = address
        owners.move_to_end((channel, phone))
        while len(owners) > _PHONE_OWNERS_MAX:
            owners.popitem(last=False)

    async def merge_contacts(self, keep: int, gone: int, pseudonym: Pseudonym) -> None:
        """Make contact ``gone`` part of contact ``keep`` (one person seen under two
        addresses), then delete ``gone``.

        Its complaints and outbox rows move to ``keep``; its survey responses take ``keep``'s
        respondent key (so the once-a-day limit and the reports see one respondent); the
        conversation with the latest activity stays; the earliest consent and the language
        of the most recently active contact are kept. ``keep``'s address is unchanged (the
        caller sets the one it wants).
        """
        connection = self.connection
        columns = (
            Contact.id,
            Contact.address,
            Contact.respondent_key,
            Contact.language,
            Contact.consent_at,
            Contact.consent_version,
            Contact.last_inbound_at,
            Contact.template_sent_at,
            Contact.blocked_at,
            Contact.parent_address,
        )
        rows = {
            row.id: row
            for row in await connection.execute(
                select(*columns).where(Contact.id.in_([keep, gone])).with_for_update()
            )
        }
        kept, merged = rows[keep], rows[gone]
        keep_key = kept.respondent_key or pseudonym(kept.address)
        gone_key = merged.respondent_key or pseudonym(merged.address)
        if gone_key != keep_key:
            await connection.execute(
                update(SurveyResponse)
                .where(SurveyResponse.respondent_key == gone_key)
                .values(respondent_key=keep_key)
            )
        for table in (COMPLAINTS, OUTBOX):
            await connection.execute(
                update(table).where(table.c.contact_id == gone).values(contact_id=keep)
            )
        await self._keep_latest_conversation(keep, gone)
        latest = max((kept, merged), key=lambda r: _sort_time(r.last_inbound_at))
        consents = [r for r in (kept, merged) if r.consent_at is not None]
        earliest = min(consents, key=lambda r: r.consent_at) if consents else None
        await connection.execute(delete(Contact).where(Contact.id == gone))
        await connection.execute(
            update(Contact)
            .where(Contact.id == keep)
            .values(
                respondent_key=keep_key,
                language=latest.language,
                consent_at=earliest.consent_at if earliest else None,
                consent_version=earliest.consent_version if earliest else None,
                last_inbound_at=latest.last_inbound_at,
                template_sent_at=max(
                    (kept.template_sent_at, merged.template_sent_at), key=_sort_time
                ),
                blocked_at=latest.blocked_at,
                parent_address=kept.parent_address or merged.parent_address,
            )
        )

    async def _keep_latest_conversation(self, keep: int, gone: int) -> None:
        """The conversation last written stays, as ``keep``'s."""
        connection = self.connection
        found = dict(
            (
                await connection.execute(
                    select(Conversation.contact_id, Conversation.updated_at).where(
                        Conversation.contact_id.in_([keep, gone])
                    )
                )
            ).all()
        )
        if gone not in found:
            return
        if keep in found and _sort_time(found[keep]) >= _sort_time(found[gone]):
            await connection.execute(delete(Conversation).where(Conversation.contact_id == gone))
            return
        await connection.execute(delete(Conversation).where(Conversation.contact_id == keep))
        await connection.execute(
            update(Conversation).where(Conversation.contact_id == gone).values(contact_id=keep)
        )

    async def lock_conversation(self, contact_id: int, now: datetime) -> dict[str, Any] | None:
        """Take the conversation row's lock (PostgreSQL ``FOR UPDATE``) and read its state.

        Concurrent events for one contact queue here, so each sees the state the previous
        one committed.
        """
        connection = self.connection
        key = {"contact_id": contact_id}
        found = (await connection.execute(self._hot.lock_conversation, key)).one_or_none()
        if found is None:  # first contact: create the row, then lock it like any other
            await connection.execute(
                self._hot.create_conversation,
                {"contact_id": contact_id, "state": None, "updated_at": now},
            )
            found = (await connection.execute(self._hot.lock_conversation, key)).one()
        state = found[0]
        return dict(state) if state else None

    async def save_conversation(
        self,
        contact_id: int,
        state: dict[str, Any] | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        connection = self.connection
        await connection.execute(
            self._hot.save_conversation,
            {
                "key_contact_id": contact_id,
                "state": state,
                "expires_at": expires_at,
                "updated_at": now,
            },
        )

    async def set_language(self, contact_id: int, language: str) -> None:
        await self.session.execute(
            update(Contact).where(Contact.id == contact_id).values(language=language)
        )

    async def record_consent(self, contact_id: int, at: datetime, version: str) -> None:
        await self.session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(consent_at=at, consent_version=version)
        )

    # --- survey responses ----------------------------------------------------------------------

    async def units_answered_since(self, respondent_key: str, since: date) -> frozenset[str]:
        """Codes of the units this respondent answered on or after ``since`` (local date)."""
        connection = self.connection
        rows = await connection.execute(
            self._hot.units_answered_since, {"respondent_key": respondent_key, "since": since}
        )
        return frozenset(rows.scalars())

    async def insert_response(
        self, response: SubmitResponse, *, channel: str, respondent_key: str | None
    ) -> int:
        unit_id = (
            await self.session.execute(select(Unit.id).where(Unit.code == response.unit_code))
        ).scalar_one()
        row = SurveyResponse(
            unit_id=unit_id,
            service_type=response.service_type,
            channel=channel,
            source="chat",
            respondent_key=respondent_key,
            profile=dict(response.profile),
            suggestion=response.suggestion,
            language=response.language,
            started_at=response.started_at,
            submitted_at=response.submitted_at,
            local_date=response.local_date,
        )
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(
            ResponseScore(response_id=row.id, element_code=code, score=score)
            for code, score in response.scores.items()
        )
        await self.session.flush()
        return row.id

    # --- the outbox ------------------------------------------------------------------------------

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
            await self.save_conversation(save.contact_id, save.state, save.expires_at, now)
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
            result = await self.connection.execute(
                _PG_ENQUEUE,
                {
                    **{k: first[k] for k in _PG_ENQUEUE_SCALARS},
                    "now": now,
                    "prefix": dedupe_prefix,
                    "messages": [{"kind": r["kind"], "payload": r["payload"]} for r in rows],
                    "save_contact_id": save.contact_id if save else None,
                    "state": save.state if save else None,
                    "expires_at": save.expires_at if save else None,
                },
            )
        else:
            # Parameters as a list, not .values(rows): the statement then compiles once and
            # is cached (SQLAlchemy's "insertmanyvalues" still sends one INSERT ... RETURNING);
            # a multi-row .values() is compiled anew on every call.
            result = await self.connection.execute(self._hot.enqueue, rows)
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
            await self.connection.execute(self._hot.remember_staff_bsuid, values)
        result = await self.connection.execute(self._hot.wake_staff_messages, values)
        return int(getattr(result, "rowcount", 0) or 0)

    async def forget_contact(self, contact_id: int) -> None:
        """Erase a contact's platform identity; cascades to conversation and pending outbox."""
        await self.session.execute(delete(Contact).where(Contact.id == contact_id))
        # Nothing in memory may link their phone number and BSUID any more (erasure is rare).
        self._phone_owners.clear()


async def load_directory(session: AsyncSession) -> Directory:
    """The whole directory, in display order."""
    opds = (await session.execute(select(Opd).order_by(Opd.position, Opd.id))).scalars().all()
    codes = {o.id: o.code for o in opds}
    units = (
        (await session.execute(select(Unit).order_by(Unit.opd_id, Unit.position, Unit.id)))
        .scalars()
        .all()
    )
    by_opd_position = {o.id: index for index, o in enumerate(opds)}
    units = sorted(units, key=lambda u: (by_opd_position[u.opd_id], u.position, u.id))
    return Directory.build(
        (OpdInfo(o.code, o.name, o.short_name, o.active) for o in opds),
        (
            UnitInfo(
                code=u.code,
                name=u.name,
                opd_code=codes[u.opd_id],
                service_types=tuple(u.service_types),
                short_name=u.short_name,
                active=u.active,
            )
            for u in units
        ),
    )


async def directory_in(tx: Tx) -> Directory:
    """The whole directory, read in ``tx`` (for callers that hold no session)."""
    return await load_directory(tx.session)


def _contact_record(row: Any, channel: str, address: str) -> ContactRecord:
    return ContactRecord(
        id=row.id,
        channel=channel,
        address=address,
        language=row.language,
        consent_at=row.consent_at,
        blocked=row.blocked_at is not None,
        phone=row.phone,
        respondent_key=row.respondent_key,
        parent_address=row.parent_address,
    )


def _replace(contact: ContactRecord, **changes: Any) -> ContactRecord:
    return dataclasses.replace(contact, **changes)


def _sort_time(value: datetime | None) -> datetime:
    return value if value is not None else datetime.min.replace(tzinfo=UTC)
