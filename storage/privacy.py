"""Erasure of complaints' personal content and the retention purge (docs/privacy.md).

A complaint keeps what the statistics and the audit need (ticket, unit, kind, status, dates,
rating); its personal content (description, location, photos, officers' answers and notes,
the staff notices that quote it) is erased on ``/hapus`` or, once closed, after the retention
period. A contact that asked for erasure but kept its open complaints is erased in full by
the purge once none is open any more.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update

from storage.base import TxBase
from storage.complaint_models import Complaint, ComplaintEvent, ComplaintMedia
from storage.models import Contact, InboundEvent, OutboxMessage, OutboxStatus, SurveyResponse
from storage.rtl_models import FollowUpOptIn
from storage.web_directory import purge_audit
from survey_flows.complaints import OPEN_STATUSES
from survey_flows.personal_data import ERASED, mask_personal_data

COMPLAINTS: Table = Complaint.__table__  # type: ignore[assignment]
MEDIA: Table = ComplaintMedia.__table__  # type: ignore[assignment]
EVENTS: Table = ComplaintEvent.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
INBOUND: Table = InboundEvent.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
RESPONSES: Table = SurveyResponse.__table__  # type: ignore[assignment]

OPEN = sorted(status.value for status in OPEN_STATUSES)
DONE = (OutboxStatus.SENT.value, OutboxStatus.FAILED.value)
_CHUNK = 200


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of personal data is kept (settings, docs/privacy.md)."""

    inbound_events: timedelta
    outbox_payloads: timedelta
    complaint_content: timedelta
    complaint_photos: timedelta
    web_audit: timedelta = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Purged:
    """What one purge run removed, per kind (for the log and the tests)."""

    inbound_events: int = 0
    outbox_payloads: int = 0
    complaint_contents: int = 0
    complaint_photos: int = 0
    contacts: int = 0
    web_audit: int = 0


async def unlink_responses(tx: TxBase, respondent_key: str) -> None:
    """Each survey response of ``respondent_key`` takes a random key (nobody can link it to
    the person again) and personal data typed into its suggestion is masked."""
    rows = (
        await tx.connection.execute(
            select(RESPONSES.c.id, RESPONSES.c.suggestion).where(
                RESPONSES.c.respondent_key == respondent_key
            )
        )
    ).all()
    for response_id, suggestion in rows:
        await tx.connection.execute(
            update(RESPONSES)
            .where(RESPONSES.c.id == response_id)
            .values(
                respondent_key=secrets.token_hex(16),
                suggestion=mask_personal_data(suggestion) if suggestion else suggestion,
            )
        )


async def erase_followups(tx: TxBase, contact_id: int) -> int:
    """The citizen's "you said, we did" opt-ins (BERHENTI, ``/hapus``); returns how many."""
    result = await tx.session.execute(
        delete(FollowUpOptIn).where(FollowUpOptIn.contact_id == contact_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def open_complaint_ids(tx: TxBase, contact_id: int) -> list[int]:
    rows = await tx.connection.execute(
        select(COMPLAINTS.c.id).where(
            COMPLAINTS.c.contact_id == contact_id, COMPLAINTS.c.status.in_(OPEN)
        )
    )
    return list(rows.scalars())


async def erase_complaint_content(
    tx: TxBase, where: Any, now: datetime, *, unlink: bool = True
) -> int:
    """Erase the personal content of the complaints ``where`` selects (a clause on
    ``complaints``) that still hold it; returns how many."""
    connection = tx.connection
    rows = (
        await connection.execute(
            select(COMPLAINTS.c.id, COMPLAINTS.c.ticket).where(
                where, COMPLAINTS.c.content_erased_at.is_(None)
            )
        )
    ).all()
    values: dict[str, Any] = {
        "description": ERASED,
        "latitude": None,
        "longitude": None,
        "last_answer": None,
        "content_erased_at": now,
    }
    if unlink:
        values["contact_id"] = None
    for start in range(0, len(rows), _CHUNK):  # bounded statements, however many are due
        chunk = rows[start : start + _CHUNK]
        ids = [row.id for row in chunk]
        await connection.execute(update(COMPLAINTS).where(COMPLAINTS.c.id.in_(ids)).values(values))
        await connection.execute(delete(MEDIA).where(MEDIA.c.complaint_id.in_(ids)))
        await connection.execute(
            update(EVENTS).where(EVENTS.c.complaint_id.in_(ids)).values(note=None)
        )
        # Staff notices are keyed "r<recipient>:<notice>:<ticket>...": they quote the complaint.
        await connection.execute(
            delete(OUTBOX).where(
                OUTBOX.c.recipient_id.is_not(None),
                or_(*(OUTBOX.c.dedupe_key.contains(f":{row.ticket}") for row in chunk)),
            )
        )
    return len(rows)


async def keep_for_open_complaints(tx: TxBase, contact_id: int, now: datetime) -> None:
    """Erasure asked for, open complaints kept: everything but what they need goes now.

    The contact row stays (the unit's answer must reach the citizen, STATUS must find the
    ticket), marked so the purge erases it once no complaint is open; its closed complaints'
    content, conversation, inbound events and the messages already sent go now."""
    connection = tx.connection
    await erase_complaint_content(
        tx,
        (COMPLAINTS.c.contact_id == contact_id) & COMPLAINTS.c.status.not_in(OPEN),
        now,
    )
    await connection.execute(
        delete(OUTBOX).where(OUTBOX.c.contact_id == contact_id, OUTBOX.c.status.in_(DONE))
    )
    await connection.execute(delete(INBOUND).where(INBOUND.c.contact_id == contact_id))
    await connection.execute(
        update(CONTACTS)
        .where(CONTACTS.c.id == contact_id)
        .values(erase_requested_at=now, respondent_key=None, saved_profile=None)
    )


async def contacts_due_for_erasure(tx: TxBase, now: datetime) -> Sequence[int]:
    """Contacts that kept open complaints at erasure and have none open any more (nor a
    reopening window, nor a message still to deliver)."""
    still_open = select(COMPLAINTS.c.id).where(
        COMPLAINTS.c.contact_id == CONTACTS.c.id,
        or_(COMPLAINTS.c.status.in_(OPEN), COMPLAINTS.c.reopen_until > now),
    )
    pending = select(OUTBOX.c.id).where(
        OUTBOX.c.contact_id == CONTACTS.c.id, OUTBOX.c.status.not_in(DONE)
    )
    rows = await tx.connection.execute(
        select(CONTACTS.c.id).where(
            CONTACTS.c.erase_requested_at.is_not(None), ~still_open.exists(), ~pending.exists()
        )
    )
    return list(rows.scalars())


async def purge_expired(tx: TxBase, retention: Retention, now: datetime) -> Purged:
    """One retention pass (the daily purge job): every kind older than its period goes."""
    connection = tx.connection
    events = await connection.execute(
        delete(INBOUND).where(INBOUND.c.received_at < now - retention.inbound_events)
    )
    payloads = await connection.execute(
        update(OUTBOX)
        .where(  # delivered, or given up for good: either way nobody will send it again
            OUTBOX.c.status.in_(DONE),
            func.coalesce(OUTBOX.c.sent_at, OUTBOX.c.created_at) < now - retention.outbox_payloads,
            OUTBOX.c.kind != "purged",
        )
        .values(payload={}, kind="purged")
    )
    closed_before = COMPLAINTS.c.closed_at.is_not(None) & COMPLAINTS.c.status.not_in(OPEN)
    contents = await erase_complaint_content(
        tx,
        closed_before & (COMPLAINTS.c.closed_at < now - retention.complaint_content),
        now,
        unlink=False,
    )
    photos = await connection.execute(
        delete(MEDIA).where(
            MEDIA.c.complaint_id.in_(
                select(COMPLAINTS.c.id).where(
                    closed_before, COMPLAINTS.c.closed_at < now - retention.complaint_photos
                )
            )
        )
    )
    audit = await purge_audit(tx, now - retention.web_audit)
    due = await contacts_due_for_erasure(tx, now)
    for contact_id in due:  # what they did after asking for erasure goes too
        key = await connection.scalar(
            select(CONTACTS.c.respondent_key).where(CONTACTS.c.id == contact_id)
        )
        if key is not None:
            await unlink_responses(tx, key)
        await erase_complaint_content(tx, COMPLAINTS.c.contact_id == contact_id, now)
        await connection.execute(delete(CONTACTS).where(CONTACTS.c.id == contact_id))
    return Purged(
        inbound_events=events.rowcount or 0,
        outbox_payloads=payloads.rowcount or 0,
        complaint_contents=contents,
        complaint_photos=photos.rowcount or 0,
        contacts=len(due),
        web_audit=audit,
    )
