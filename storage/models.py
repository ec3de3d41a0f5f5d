"""SQLAlchemy 2 models: the one schema for PostgreSQL (production) and SQLite (embedded).

Raw platform ids of citizens live only in ``contacts``. Survey responses carry a pseudonymous
respondent key. Datetimes are stored timezone-aware (UTC) on both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints keep Alembic migrations identical on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on PostgreSQL and SQLite alike.

    SQLite keeps no offset, so values are normalised to UTC before storing and the zone is
    re-attached on the way out (the SQLAlchemy "TZDateTime" recipe).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OutboxStatus(StrEnum):
    """Where an outgoing message stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent error; the reason is kept


class DeliveryStatus(StrEnum):
    """What the platform reported after accepting a message (WhatsApp status webhooks).

    Reports arrive out of order; only a higher rank replaces the stored one, so ``read`` is
    never overwritten by a late ``delivered``. ``failed`` outranks ``sent`` only: a message
    reported delivered or read did reach the citizen.
    """

    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    READ = "read"

    @property
    def rank(self) -> int:
        return _DELIVERY_RANK[self]


_DELIVERY_RANK = {
    DeliveryStatus.SENT: 1,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Opd(Base):
    """Organisasi Perangkat Daerah: a regional government unit."""

    __tablename__ = "opds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A public phone number or office where citizens reach a person (help names it).
    contact: Mapped[str | None] = mapped_column(String(200))


class Unit(Base):
    """A public-service unit (unit pelayanan) whose service citizens rate."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opds.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(30))
    service_types: Mapped[list[str]] = mapped_column(JsonDocument)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UnitPopulation(Base):
    """A unit's service population for one period (``2026``, ``2026-S1``, ``2026-Q1``...)."""

    __tablename__ = "unit_populations"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    population: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("population > 0", name="positive"),)


class Recipient(Base):
    """A government officer or head who receives digests or complaints for an OPD."""

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opds.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="id")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # WhatsApp: the business-scoped user id of someone registered by phone number, learnt
    # from the first payload that showed both; recognises them once Meta hides the phone.
    bsuid: Mapped[str | None] = mapped_column(String(160), index=True)

    __table_args__ = (
        UniqueConstraint("opd_id", "role", "channel", "address", name="uq_recipients_identity"),
        CheckConstraint("role IN ('head', 'officer')", name="role"),
    )


class Contact(Base):
    """A citizen's platform identity: the only table with raw platform ids.

    ``address`` is the primary key the channel chose (on WhatsApp the business-scoped user id
    when Meta has shown one, else the phone number); ``phone`` is the WhatsApp phone number
    whenever Meta has shown it, so the person is found by either and never split in two
    (docs/whatsapp.md). ``respondent_key`` is the pseudonym of their survey responses, kept
    when the address changes.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(160))
    language: Mapped[str] = mapped_column(String(5), default="id")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # WhatsApp: when the approved template last went out because the 24-hour window had
    # closed; one invitation per closed window, however many messages were waiting.
    template_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone: Mapped[str | None] = mapped_column(String(32))
    parent_address: Mapped[str | None] = mapped_column(String(160))  # WhatsApp parent BSUID
    respondent_key: Mapped[str | None] = mapped_column(String(32))
    # The survey profile (age bracket, gender, education, occupation codes) the citizen asked
    # us to remember, so the next survey skips it; erased with the contact (``/hapus``).
    saved_profile: Mapped[dict[str, str] | None] = mapped_column(JsonDocument)
    # The citizen asked for erasure but chose to keep what their open complaints need: the
    # purge job erases the contact once none is open (docs/privacy.md).
    erase_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_contacts_channel_address"),
        Index(
            "uq_contacts_channel_phone",
            "channel",
            "phone",
            unique=True,
            postgresql_where=text("phone IS NOT NULL"),
            sqlite_where=text("phone IS NOT NULL"),
        ),
    )


class Conversation(Base):
    """The state of one contact's conversation; locked for each inbound event."""

    __tablename__ = "conversations"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboundEvent(Base):
    """Every inbound event once: a platform redelivery hits the unique key and is dropped.

    ``event_id`` is a keyed hash of the platform's id (``storage.base.keyed_event_id``), never
    the id itself; the rows go with their contact on erasure and are pruned by age."""

    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("channel", "event_id", name="uq_inbound_events_key"),)


class SurveyResponse(Base):
    """One submitted SKM questionnaire, pseudonymous."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    service_type: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="chat")  # chat | paper
    respondent_key: Mapped[str | None] = mapped_column(String(64))
    profile: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    suggestion: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="id")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        Index("ix_survey_responses_unit_date", "unit_id", "local_date"),
        Index("ix_survey_responses_respondent", "respondent_key", "local_date"),
    )


class ResponseScore(Base):
    """The score (1..4) a response gave one element, keyed by element code (U1..U9, extras)."""

    __tablename__ = "response_scores"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    element_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 4", name="range"),)


class OutboxMessage(Base):
    """An outgoing message, written in the same transaction as the state it answers."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="message")
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 = reply; higher = later
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(500))
    # What the platform reported after accepting it (see DeliveryStatus), by platform id.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
        Index("ix_outbox_platform_message_id", "platform_message_id"),
    )


class WhatsAppFlow(Base):
    """A questionnaire form published as a WhatsApp Flow, one per language.

    ``json_sha256`` is the hash of the Flow JSON uploaded: when the questionnaire's wording
    changes, the JSON the bot would publish differs and the stored Flow is stale."""

    __tablename__ = "whatsapp_flows"

    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    json_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
