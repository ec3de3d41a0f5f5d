"""The follow-up plan (Rencana Tindak Lanjut, RTL) of issue 17: one row per weak element of a
unit in a closed quarter, from its proposal to done (or not done, with the reason).

No citizen's data: the plan, its person responsible (an officer's name), its evidence (a link
or a note written by staff, and files: ``rtl_evidence``). Every change is also a line in
``web_audit``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId, UTCDateTime

RTL_STATUSES = "status IN ('direncanakan', 'berjalan', 'selesai', 'tidak_dilaksanakan')"


class RtlItem(Base):
    """One planned follow-up of one unit's weak element in one quarter."""

    __tablename__ = "rtl_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(16))  # "2026-Q4"
    element_code: Mapped[str] = mapped_column(String(16))
    nrr: Mapped[str | None] = mapped_column(String(12))  # the element's NRR when proposed
    status: Mapped[str] = mapped_column(String(24), default="direncanakan")
    action: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(120))
    due_date: Mapped[date | None] = mapped_column(Date)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    evidence_link: Mapped[str | None] = mapped_column(String(500))
    evidence_note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was not carried out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(RTL_STATUSES, name="status"),
        UniqueConstraint("unit_id", "period", "element_code", name="uq_rtl_items_unit_period"),
        Index("ix_rtl_items_period", "period"),
    )


class RtlEvidence(Base):
    """An evidence file of an RTL item (a photo or a PDF uploaded in the console), its bytes
    in the database: every process behind the load balancer serves it, backups hold it, and
    the upload commits with its audit line; nothing is ever written under a web root.

    ``data`` is loaded only when the file is served (``deferred``); the listing reads the
    other columns. Kept with its item (staff material; a photo may show people: see
    docs/privacy.md)."""

    __tablename__ = "rtl_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("rtl_items.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(40))  # from the bytes, never the browser
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))  # the uploaded name, made safe
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    __table_args__ = (
        UniqueConstraint("item_id", "sha256", name="uq_rtl_evidence_item_sha256"),
        Index("ix_rtl_evidence_item", "item_id"),
    )


class FollowUpOptIn(Base):
    """A citizen who asked, at a survey's thank-you, to hear what the unit did with the
    quarter's results ("you said, we did"). Personal: erased by ``/hapus`` (and with the
    contact); one row per contact, unit and quarter."""

    __tablename__ = "followup_optins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(16))  # the quarter answered, "2026-Q4"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("contact_id", "unit_id", "period", name="uq_followup_optins_contact"),
        Index("ix_followup_optins_unit_period", "unit_id", "period"),
    )
