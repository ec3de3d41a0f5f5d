"""Erasure that erases, on SQLite and PostgreSQL: every column that can hold a citizen's
personal data, checked after ``/hapus``; open complaints kept until they close when the citizen
chooses so; the retention purge (docs/privacy.md).

The inventory is derived from ``storage/models.py``: every column of every table must be
classified below, so a new column fails :func:`test_every_column_is_classified` until someone
decides whether it can hold personal data (and the erasure covers it).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

import storage.complaint_models  # noqa: F401  (registers the complaint tables)
from bot.jobs import privacy_purge
from handlers.dispatcher import respondent_key
from storage import Storage
from storage.base import keyed_event_id
from storage.complaint_models import Complaint, ComplaintMedia, JobClaim
from storage.conversations import SavedConversation
from storage.models import Base, Contact, InboundEvent, OutboxMessage, SurveyResponse
from storage.privacy import Purged, Retention, purge_expired
from storage.rtl import opt_in
from storage.rtl_models import FollowUpOptIn
from survey_flows.complaints import Action, ComplaintStatus
from survey_flows.desk import InsertComplaint, NotifyCitizen, NotifyRecipient
from survey_flows.personal_data import ERASED
from survey_flows.types import EraseContact, InboundKind, Outbound, SubmitResponse
from tests.support.cli import run_cli
from tests.support.complaint_chat import Chat, view
from tests.support.complaints import (
    T0,
    TICKET,
    WIT,
    apply,
    filed,
    move,
    prepared,
)
from tests.support.dispatcher import PSEUDONYM_SECRET

# --- the inventory ---------------------------------------------------------------------------

# Columns that can hold a citizen's personal data (or link to it): checked after erasure.
PERSONAL = {
    "contacts": {"address", "phone", "parent_address", "respondent_key", "language",
                 "consent_at", "consent_version", "blocked_at", "created_at",
                 "last_inbound_at", "template_sent_at", "erase_requested_at", "saved_profile"},
    "conversations": {"state", "expires_at", "updated_at"},
    "inbound_events": {"event_id", "received_at"},
    "survey_responses": {"respondent_key", "suggestion"},
    "complaints": {"description", "latitude", "longitude", "last_answer"},
    "complaint_media": {"media_ref"},
    "complaint_events": {"note"},
    "outbox": {"payload", "dedupe_key", "platform_message_id", "last_error", "delivery_error"},
    # "You said, we did": who asked for news of which unit and quarter (docs/rtl.md).
    "followup_optins": {"contact_id", "unit_id", "period", "created_at"},
}  # fmt: skip
# Kept after erasure, unlinked (re-keyed at random): answers count in the statistics.
KEPT_UNLINKED = {
    "survey_responses": {"profile", "service_type", "language", "started_at", "submitted_at",
                         "local_date", "channel", "source", "unit_id"},
    "response_scores": {"response_id", "element_code", "score"},
}  # fmt: skip
# Officers and heads (registered from the directory file, not citizens: docs/privacy.md).
# The web console's people are staff too: admins, their sign-in links and sessions (tokens
# stored hashed), and the audit log of what they did.
STAFF = {
    "recipients": {"address", "name", "bsuid", "language", "channel", "role", "active"},
    "web_admins": {"name", "language", "active", "created_at"},
    "web_login_links": {"principal_kind", "principal_id", "token_sha256", "created_at",
                        "expires_at", "used_at"},
    "web_sessions": {"principal_kind", "principal_id", "token_sha256", "created_at",
                     "last_seen_at", "ended_at"},
    "web_audit": {"actor", "actor_name", "role", "opd_code", "target", "detail"},
    # The follow-up plan's people: an officer named responsible, the head who approved.
    "rtl_items": {"responsible", "approved_by"},
    # Evidence files: who uploaded one, its name, its bytes. A photo of a counter may show
    # people: staff material, kept with its item, only in the console (docs/privacy.md).
    "rtl_evidence": {"uploaded_by", "name", "data"},
}  # fmt: skip
# Not personal: keys, links, codes, states, timestamps of a complaint's handling.
NOT_PERSONAL = {
    "contacts": {"id", "channel"},
    "conversations": {"contact_id"},
    "inbound_events": {"id", "channel", "contact_id"},
    "survey_responses": {"id"},
    "complaints": {"id", "ticket", "unit_id", "opd_id", "contact_id", "channel", "kind",
                   "anonymous", "confidential", "language", "status", "created_at",
                   "updated_at", "verify_by", "answer_by", "verified_at", "answered_at",
                   "closed_at", "reopen_until", "rejection_reason", "rating", "rated_at",
                   "content_erased_at"},
    "complaint_media": {"id", "complaint_id", "channel", "position"},
    "complaint_events": {"id", "complaint_id", "at", "actor", "recipient_id", "action",
                         "from_status", "to_status"},
    "outbox": {"id", "contact_id", "recipient_id", "channel", "kind", "priority", "status",
               "attempts", "next_attempt_at", "lease_until", "created_at", "sent_at",
               "delivery_status", "delivery_status_at"},
    "recipients": {"id", "opd_id"},
    "web_admins": {"id"},
    "web_login_links": {"id"},
    "web_sessions": {"id"},
    "web_audit": {"id", "at", "action", "outcome"},
    # Staff's plan and evidence about a unit's service (docs/rtl.md), no citizen's.
    "followup_optins": {"id"},
    "rtl_items": {"id", "unit_id", "period", "element_code", "nrr", "status", "action",
                  "due_date", "approved_at", "evidence_link", "evidence_note", "reason",
                  "created_at", "updated_at", "done_at"},
    "rtl_evidence": {"id", "item_id", "content_type", "size", "sha256", "uploaded_at"},
    "opds": {"id", "code", "name", "short_name", "active", "position", "updated_at",
             "contact"},  # a public office or number, not a citizen's
    "units": {"id", "code", "opd_id", "name", "short_name", "service_types", "active",
              "position", "updated_at"},
    "unit_populations": {"unit_id", "period", "population"},
    "holidays": {"day", "name"},
    "publications": {"period", "first_published_at"},  # when a period's figures went public
    "job_claims": {"id", "kind", "target", "period", "claimed_at", "status", "note"},
    "whatsapp_flows": {"language", "flow_id", "json_sha256", "status", "updated_at"},
}  # fmt: skip


def test_every_column_is_classified() -> None:
    classified: dict[str, set[str]] = {}
    for group in (PERSONAL, KEPT_UNLINKED, STAFF, NOT_PERSONAL):
        for table, columns in group.items():
            overlap = classified.setdefault(table, set()) & columns
            assert not overlap, f"{table}: classified twice: {sorted(overlap)}"
            classified[table] |= columns
    actual = {t.name: {c.name for c in t.columns} for t in Base.metadata.sorted_tables}
    for table, columns in actual.items():
        missing = columns - classified.get(table, set())
        assert not missing, (
            f"classify {table}.{sorted(missing)} in tests/integration/test_privacy.py"
        )
    assert set(classified) == set(actual), "a classified table no longer exists"


# --- a citizen with data everywhere ----------------------------------------------------------

PHONE = "6281299998888"
BSUID = "ID.1234567890abcdef"
PARENT = "ID.parent0987654321"
RAW_EVENT = "wamid.SENTINEL-RAW-EVENT"
SUGGESTION = "Hubungi saya di 0812-9999-8888 atau budi.santoso@contoh.id"
STATE_TEXT = "jawaban-sementara-budi"
DESCRIPTION = "Budi Santoso, Jl. Cendrawasih 12, antrean KTP-el panjang"
PHOTO = "AgAD-SENTINEL-PHOTO"
LATITUDE = -4.123456
ANSWER = "Pak Budi Santoso, loket tambahan dibuka"
SENT_ID = "wamid.SENTINEL-SENT-ID"
NEIGHBOUR_DESCRIPTION = "Tetangga: lampu jalan mati"


REMEMBERED = "NELAYAN"  # the remembered profile's occupation (issue 14, item 16)


@dataclass(frozen=True, slots=True)
class Seeded:
    contact_id: int
    key: str
    neighbour_id: int


def sentinels(seeded: Seeded) -> list[str]:
    return [
        PHONE, BSUID, PARENT, RAW_EVENT, "0812-9999-8888", "budi.santoso@contoh.id",
        STATE_TEXT, "Budi Santoso", "Cendrawasih", PHOTO, str(LATITUDE), SENT_ID, seeded.key,
        REMEMBERED,
        keyed_event_id(PSEUDONYM_SECRET, "whatsapp", RAW_EVENT),
    ]  # fmt: skip


async def seed(storage: Storage, ticket: str = TICKET) -> Seeded:
    """A WhatsApp citizen (BSUID, phone, parent), an answered survey with a suggestion, a
    conversation, a complaint (photo, location, staff notice, officer's answer) and a
    delivered reply; and a neighbour whose data must stay."""
    neighbour_id = await prepared(storage)
    key = respondent_key(PSEUDONYM_SECRET, "whatsapp", BSUID)
    async with storage.transaction() as tx:
        begun = await tx.begin_event(
            "whatsapp",
            keyed_event_id(PSEUDONYM_SECRET, "whatsapp", RAW_EVENT),
            BSUID,
            T0,
            language="id",
            respondent_key=key,
            answered_since=None,
            phone=PHONE,
            parent=PARENT,
            pseudonym=functools.partial(respondent_key, PSEUDONYM_SECRET, "whatsapp"),
        )
        assert begun is not None
        contact_id = begun[0].id
        await tx.lock_conversation(contact_id, T0)
        await tx.remember_profile(contact_id, {"age": "26-35", "occupation": REMEMBERED})
        assert await opt_in(tx, contact_id, "dukcapil-mpp", "2026-Q1", T0)
        await tx.enqueue(
            channel="whatsapp",
            messages=[("message", {"text": f"Terima kasih {STATE_TEXT}"})],
            dedupe_prefix="in:whatsapp:reply",
            now=T0,
            contact_id=contact_id,
            save=SavedConversation(contact_id, {"step": "x", "note": STATE_TEXT}, None),
        )
        await tx.insert_response(
            SubmitResponse("dukcapil-mpp", "KTP-el", {"U1": 4}, {"age": "a"}, SUGGESTION,
                           "id", T0, T0, date(2026, 3, 16)),
            channel="whatsapp",
            respondent_key=key,
        )  # fmt: skip
    complaint = filed(ticket)
    complaint = type(complaint)(**{**_fields(complaint), "description": DESCRIPTION,
                                   "photos": (PHOTO,), "location": (LATITUDE, 136.88)})  # fmt: skip
    await apply(
        storage,
        InsertComplaint(complaint, contact_id, "whatsapp"),
        NotifyRecipient(1, "whatsapp", (Outbound(f"Pengaduan baru {ticket}: {DESCRIPTION}"),),
                        f"r1:new:{ticket}"),
        NotifyCitizen(contact_id, "whatsapp", (Outbound(f"Tiket {ticket}"),), f"c:{ticket}"),
        move(Action.VERIFY, ComplaintStatus.DITERIMA, ComplaintStatus.DIVERIFIKASI),
        move(Action.ANSWER, ComplaintStatus.DIVERIFIKASI, ComplaintStatus.DITINDAKLANJUTI,
             note=ANSWER),
    )  # fmt: skip
    neighbour = type(complaint)(**{**_fields(filed("ADU-NNNN-NNNN")),
                                   "description": NEIGHBOUR_DESCRIPTION})  # fmt: skip
    await apply(storage, InsertComplaint(neighbour, neighbour_id, "whatsapp"))
    async with storage.sessions() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.contact_id == contact_id)
            .values(status="sent", sent_at=T0, platform_message_id=SENT_ID)
        )
        await session.commit()
    return Seeded(contact_id, key, neighbour_id)


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__dataclass_fields__}


async def personal_values(storage: Storage) -> dict[str, list[str]]:
    """Every value of every personal column, as text, by ``table.column``."""
    found: dict[str, list[str]] = {}
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    async with storage.sessions() as session:
        for table, columns in PERSONAL.items():
            for column in sorted(columns):
                rows = await session.execute(select(tables[table].c[column]))
                found[f"{table}.{column}"] = [
                    json.dumps(v) if isinstance(v, dict | list) else str(v)
                    for v in rows.scalars()
                    if v is not None
                ]
    return found


async def count(storage: Storage, model: type, *where: Any) -> int:
    async with storage.sessions() as session:
        statement = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(statement) or 0)


# --- erasure ---------------------------------------------------------------------------------


async def test_erasure_leaves_no_personal_data_in_any_column(storage: Storage) -> None:
    seeded = await seed(storage)
    before = await personal_values(storage)
    marks = sentinels(seeded)
    # The seed is not vacuous: before erasure, each sentinel is somewhere.
    for mark in marks:
        stored = any(mark in v for vs in before.values() for v in vs)
        # The raw event id is never stored, only its keyed hash.
        assert stored is (mark != RAW_EVENT), f"{mark}: stored {stored}"

    assert await count(storage, FollowUpOptIn) == 1
    async with storage.transaction() as tx:
        await tx.forget_contact(seeded.contact_id, seeded.key, now=T0)

    after = await personal_values(storage)
    assert await count(storage, FollowUpOptIn) == 0
    for column, values in after.items():
        for mark in marks:
            assert not any(mark in value for value in values), f"{mark} left in {column}"
    # What is kept: the neighbour, untouched; the complaint's ticket and status; the answers.
    assert NEIGHBOUR_DESCRIPTION in after["complaints.description"]
    assert ERASED in after["complaints.description"]
    assert await count(storage, Contact) == 1
    assert await count(storage, SurveyResponse) == 1
    assert await count(storage, ComplaintMedia) == 2, "the neighbour's two photos"
    async with storage.sessions() as session:
        status = await session.scalar(select(Complaint.status).where(Complaint.ticket == TICKET))
    assert status == ComplaintStatus.DITINDAKLANJUTI.value


async def test_kept_for_the_open_complaint_then_erased_once_it_is_finished(
    storage: Storage,
) -> None:
    seeded = await seed(storage)
    async with storage.transaction() as tx:
        await tx.forget_contact(seeded.contact_id, seeded.key, now=T0, keep_open_complaints=True)
    # What the open complaint needs stays: the contact (its address) and the complaint.
    values = await personal_values(storage)
    assert values["contacts.address"].count(BSUID) == 1
    assert DESCRIPTION in values["complaints.description"]
    assert PHOTO in values["complaint_media.media_ref"]
    # The rest went now: answers unlinked, conversation, events, messages already sent.
    for column in ("survey_responses.respondent_key", "contacts.respondent_key"):
        assert seeded.key not in values[column]
    assert not any(STATE_TEXT in v for v in values["conversations.state"])
    assert values["contacts.saved_profile"] == []  # the remembered profile is not needed
    assert values["followup_optins.contact_id"] == []  # nor the follow-up news
    assert await count(storage, InboundEvent, InboundEvent.contact_id == seeded.contact_id) == 0
    assert SENT_ID not in values["outbox.platform_message_id"]
    retention = Retention(*(timedelta(days=3650),) * 4)

    # Still open: the purge keeps it.
    async with storage.transaction() as tx:
        assert (await purge_expired(tx, retention, T0 + timedelta(days=1))).contacts == 0
    assert BSUID in (await personal_values(storage))["contacts.address"]

    # Meanwhile the citizen answers another survey: it is unlinked with the rest at the end.
    async with storage.transaction() as tx:
        begun = await tx.begin_event(
            "whatsapp", "later-event", BSUID, T0, language="id",
            respondent_key=seeded.key, answered_since=None,
        )  # fmt: skip
        assert begun is not None and begun[0].respondent_key == seeded.key
        await tx.insert_response(
            SubmitResponse("dukcapil-mpp", "KTP-el", {"U1": 3}, {}, None, "id", T0, T0,
                           date(2026, 3, 17)),
            channel="whatsapp", respondent_key=seeded.key,
        )  # fmt: skip
    assert seeded.key in (await personal_values(storage))["survey_responses.respondent_key"]

    # Finished, no reopening window left: the purge erases the contact and the content.
    await apply(
        storage,
        move(Action.FINISH, ComplaintStatus.DITINDAKLANJUTI, ComplaintStatus.SELESAI),
    )
    async with storage.transaction() as tx:
        purged = await purge_expired(tx, retention, T0 + timedelta(days=2))
    assert purged.contacts == 1
    after = await personal_values(storage)
    for column, column_values in after.items():
        for mark in sentinels(seeded):
            assert not any(mark in v for v in column_values), f"{mark} left in {column}"


# --- retention ---------------------------------------------------------------------------------


async def test_the_purge_removes_each_kind_after_its_period_and_runs_once_a_day(
    storage: Storage,
) -> None:
    seeded = await seed(storage)
    await apply(
        storage,
        move(Action.FINISH, ComplaintStatus.DITINDAKLANJUTI, ComplaintStatus.SELESAI),
    )
    retention = Retention(
        inbound_events=timedelta(days=14),
        outbox_payloads=timedelta(days=30),
        complaint_content=timedelta(days=365),
        complaint_photos=timedelta(days=90),
    )

    def clock_at(days: int) -> Any:
        return lambda: T0 + timedelta(days=days, hours=1)

    # Day 13: nothing is old enough.
    assert await privacy_purge(storage, retention, WIT, clock_at(13)) == Purged()
    assert await count(storage, InboundEvent) == 1
    # Day 15: the dedupe keys go; run again the same day: claimed already.
    assert (await privacy_purge(storage, retention, WIT, clock_at(15))).inbound_events == 1  # type: ignore[union-attr]
    assert await privacy_purge(storage, retention, WIT, clock_at(15)) is None
    assert await count(storage, JobClaim, JobClaim.kind == "privacy-purge") == 2
    # Day 31: delivered payloads (the citizen's replies) are emptied.
    purged = await privacy_purge(storage, retention, WIT, clock_at(31))
    assert purged is not None and purged.outbox_payloads >= 1
    assert not any(STATE_TEXT in v for v in (await personal_values(storage))["outbox.payload"])
    # Day 91: the closed complaint's photos; day 366: its content (ticket and status stay).
    assert (await privacy_purge(storage, retention, WIT, clock_at(91))).complaint_photos == 1  # type: ignore[union-attr]
    assert DESCRIPTION in (await personal_values(storage))["complaints.description"]
    assert (await privacy_purge(storage, retention, WIT, clock_at(366))).complaint_contents == 1  # type: ignore[union-attr]
    values = await personal_values(storage)
    assert DESCRIPTION not in values["complaints.description"]
    assert NEIGHBOUR_DESCRIPTION in values["complaints.description"], "still open: kept"
    assert await count(storage, Contact, Contact.id == seeded.contact_id) == 1


# --- the citizen's choice (pure: survey_flows) -------------------------------------------------


def erase_prompt(chat: Chat) -> tuple[str, list[str], str]:
    asked = chat.say("hapus").outbound[-1]
    return asked.text, [c.label for c in asked.choices], asked.prompt_token or ""


def test_with_an_open_complaint_erasure_says_what_happens_and_offers_the_choice() -> None:
    text, labels, token = erase_prompt(Chat((view(ComplaintStatus.DIVERIFIKASI),)))
    assert "pengaduan yang belum selesai" in text and "tidak dapat lagi" in text
    assert labels == ["Hapus sekarang", "Simpan pengaduan", "Tidak"]
    # A finished complaint needs nothing: the plain question.
    text, labels, _ = erase_prompt(Chat((view(ComplaintStatus.SELESAI),)))
    assert labels == ["Ya, hapus", "Tidak"] and "isi pengaduan" in text


def test_each_choice_has_its_effect_and_its_words() -> None:
    for choice, effect, words in (
        ("now", EraseContact(keep_open_complaints=False), "tidak dapat lagi menghubungi"),
        ("keep", EraseContact(keep_open_complaints=True), "tetap menerima jawaban unit"),
        ("no", None, "tidak dihapus"),
    ):
        chat = Chat((view(ComplaintStatus.DITINDAKLANJUTI),))
        _, _, token = erase_prompt(chat)
        result = chat.send(InboundKind.CHOICE, choice_id=choice, prompt_token=token)
        erased = [e for e in result.effects if isinstance(e, EraseContact)]
        assert erased == ([effect] if effect else [])
        assert words in result.outbound[0].text
    # Typed, the number works too; a wrong one is asked again, nothing erased.
    chat = Chat((view(ComplaintStatus.DITERIMA),))
    erase_prompt(chat)
    again = chat.say("7")
    assert not any(isinstance(e, EraseContact) for e in again.effects)
    assert chat.say("2").effects == (EraseContact(keep_open_complaints=True),)


@pytest.mark.slow  # a subprocess
def test_the_purge_runs_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'skm.sqlite3'}"}
    assert run_cli("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = run_cli("db", "purge", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "inbound events: 0, outbox payloads: 0, complaint contents: 0, complaint photos: 0, "
        "contacts: 0, web audit: 0"
    )
