"""The statements of the per-update transaction, built once per dialect (the hot path).

They are kept together because one survey tap runs them all, and the load bench's floor
(bench/load.py) measures this very SQL through :func:`hot_path_statements`. The aggregates
(contacts, conversations, responses, outbox) execute them through ``tx.hot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    Table,
    bindparam,
    distinct,
    exists,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.driver import DriverStatement, driver_statement
from storage.models import (
    Contact,
    Conversation,
    InboundEvent,
    OutboxMessage,
    OutboxStatus,
    Recipient,
    SurveyResponse,
    Unit,
    UTCDateTime,
)

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]

MARK_SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("message_id"))
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("sent_at"),
        platform_message_id=bindparam("platform_id"),
        lease_until=None,
    )
)


class HotStatements:
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
            .values(
                channel=bindparam("channel"),
                event_id=bindparam("event_id"),
                received_at=bindparam("received_at", type_=UTCDateTime()),
                contact_id=_known_contact(contacts),
            )
            .on_conflict_do_nothing(index_elements=["channel", "event_id"])
            .returning(inbound.c.id, inbound.c.contact_id)
        )
        self.link_inbound = (
            update(inbound)
            .where(inbound.c.id == bindparam("event_row"))
            .values(contact_id=bindparam("event_contact"))
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
        self.begin_event = _begin_event(inbound, contacts, units, responses, conversations)
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
        self.driver = (
            DriverStatements(driver_statement(self.begin_event), driver_statement(PG_ENQUEUE))
            if dialect == "postgresql"
            else None
        )


def _begin_event(
    inbound: Any, contacts: Any, units: Any, responses: Any, conversations: Any
) -> Select[Any]:
    """PostgreSQL: record the event, upsert its contact, read the units the respondent
    answered recently and lock the contact's conversation, in one round trip. No row when the
    event was seen before.

    The conversation is locked (``FOR UPDATE``) as ``lock_conversation`` locks it, and
    ``locked`` says whether it was there to lock (a new contact has none yet: the
    conversation is then created and locked by statements of its own). The lock returns the
    row's latest committed state even after waiting for another event of the contact (READ
    COMMITTED re-reads a row it waited for), so each event still sees the state the
    previous one committed."""
    event = (
        postgresql.insert(inbound)
        .values(
            channel=bindparam("channel"),
            event_id=bindparam("event_id"),
            received_at=bindparam("received_at"),
            contact_id=_known_contact(contacts),
        )
        .on_conflict_do_nothing(index_elements=["channel", "event_id"])
        .returning(inbound.c.id, inbound.c.contact_id)
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
    conversation = (
        select(conversations.c.contact_id, conversations.c.state)
        .where(conversations.c.contact_id == contact.c.id)
        .with_for_update(of=conversations)
        .cte("conversation")
    )
    return select(
        *contact.c,
        event.c.id.label("event_row"),
        event.c.contact_id.label("event_contact"),
        recent.label("recent"),
        exists(select(conversation.c.contact_id)).label("locked"),
        select(conversation.c.state).scalar_subquery().label("state"),
    ).select_from(contact.join(event, true()))  # one row each: no cartesian warning


def _known_contact(contacts: Any) -> Any:
    """The id of the contact already at ``(:channel, :address)``: an event is linked to its
    contact as it is recorded (NULL for a contact's very first event, linked afterwards by
    ``link_inbound``), so erasure deletes it with the contact."""
    return (
        select(contacts.c.id)
        .where(
            contacts.c.channel == bindparam("channel"),
            contacts.c.address == bindparam("address"),
        )
        .scalar_subquery()
    )


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
        contacts.c.saved_profile,
    )


# PostgreSQL's enqueue: the messages arrive as one JSON array (ids follow its order), and the
# conversation is saved by a CTE when ``save_contact_id`` is not NULL.
PG_ENQUEUE = text(
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
PG_ENQUEUE_SCALARS = (
    "contact_id",
    "recipient_id",
    "channel",
    "priority",
    "status",
    "attempts",
    "lease_until",
)


@dataclass(frozen=True, slots=True)
class DriverStatements:
    """PostgreSQL: the statements every inbound event runs, compiled for asyncpg itself
    (``storage.driver``): recording the event (and locking its conversation), and queueing
    the replies with the new state."""

    begin_event: DriverStatement
    enqueue: DriverStatement


_HOT: dict[str, HotStatements] = {}


def hot_path_statements() -> dict[str, Any]:
    """The statements one survey tap runs on PostgreSQL, as executed here: for the load
    bench's floor (bench/load.py), which must measure the very same SQL."""
    statements = hot("postgresql")
    return {
        "begin_event": statements.begin_event,
        "lock_conversation": statements.lock_conversation,
        "enqueue": PG_ENQUEUE,
        "mark_sent": MARK_SENT,
    }


def hot(dialect: str) -> HotStatements:
    statements = _HOT.get(dialect)
    if statements is None:
        statements = _HOT[dialect] = HotStatements(dialect)
    return statements
