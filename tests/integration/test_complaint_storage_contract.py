"""The complaint storage contract (``storage.complaints``) on SQLite and PostgreSQL alike.

Complaints (insert, load, lock, moves and their audit rows, rating, reopening), recipients
(by address, of an OPD, roles, inactive ones ignored), claims of scheduled work (once, also
from two concurrent transactions on PostgreSQL) and the quoted-message lookup.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from storage import Storage
from storage.claims import claim_job
from storage.complaints import (
    apply_desk_effects,
    complaint_events,
    complaints_of_contact,
    load_complaint,
    load_deadline_context,
    load_desk_context,
)
from storage.models import OutboxMessage
from survey_flows.complaints import Action, Actor, ComplaintStatus
from survey_flows.desk import (
    ClaimOnce,
    DeskContext,
    InsertComplaint,
    MoveComplaint,
    NotifyCitizen,
    NotifyRecipient,
    RateComplaint,
)
from survey_flows.engine import FlowSettings
from survey_flows.types import Outbound
from survey_flows.workdays import WorkCalendar
from tests.support.complaints import (
    CITIZEN,
    HEAD,
    LEAVER,
    OFFICER,
    T0,
    TICKET,
    WIT,
    apply,
    filed,
    move,
    prepared,
)

SETTINGS = FlowSettings(timezone=WIT)


async def context(storage: Storage, **kwargs: object) -> DeskContext:
    async with storage.transaction() as tx:
        return await load_desk_context(
            tx, now=T0, settings=SETTINGS, calendar=WorkCalendar(), channel="whatsapp",
            **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip


async def trail(storage: Storage, ticket: str = TICKET) -> list[tuple[str, str | None, str]]:
    async with storage.transaction() as tx:
        return await complaint_events(tx, ticket)


async def outbox_keys(storage: Storage) -> list[str]:
    async with storage.sessions() as session:
        rows = await session.execute(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))
        return list(rows.scalars())


NOTE = Outbound("Status berubah")


async def test_a_complaint_is_stored_and_loaded_back(storage: Storage) -> None:
    contact_id = await prepared(storage)
    await apply(storage, InsertComplaint(filed(), contact_id, "whatsapp"))
    async with storage.transaction() as tx:
        loaded = await load_complaint(tx, TICKET, lock=True)
        mine = await complaints_of_contact(tx, contact_id)
        assert await load_complaint(tx, "ADU-2222-2222") is None
    assert loaded is not None
    assert (loaded.unit_name, loaded.status, loaded.contact_id) == (
        "Loket Disdukcapil MPP", ComplaintStatus.DITERIMA, contact_id,
    )  # fmt: skip
    assert (loaded.photos, loaded.location, loaded.rated) == (2, (-4.54, 136.88), False)
    assert loaded.verify_by == T0 + timedelta(days=3)
    assert [c.ticket for c in mine] == [TICKET]
    assert await trail(storage) == [("file", None, "DITERIMA")]


async def test_moves_write_their_audit_rows_and_a_stale_move_changes_nothing(
    storage: Storage,
) -> None:
    contact_id = await prepared(storage)
    await apply(storage, InsertComplaint(filed(), contact_id, "whatsapp"))
    told = NotifyCitizen(contact_id, "whatsapp", (NOTE,), "complaint:x")
    verify = move(
        Action.VERIFY, ComplaintStatus.DITERIMA, ComplaintStatus.DIVERIFIKASI, then=(told,)
    )
    assert await apply(storage, verify) == {"whatsapp"}
    assert await apply(storage, verify) == set()  # it moved on: no second row, no second notice
    until = T0 + timedelta(days=14)
    answer = move(Action.ANSWER, ComplaintStatus.DIVERIFIKASI, ComplaintStatus.DITINDAKLANJUTI,
                  note="Loket tambahan dibuka.", reopen_until=until)  # fmt: skip
    await apply(storage, answer)
    async with storage.transaction() as tx:
        loaded = await load_complaint(tx, TICKET)
    assert loaded is not None and loaded.status is ComplaintStatus.DITINDAKLANJUTI
    assert (loaded.answered_at, loaded.reopen_until) == (T0, until)
    assert await trail(storage) == [
        ("file", None, "DITERIMA"),
        ("verify", "DITERIMA", "DIVERIFIKASI"),
        ("answer", "DIVERIFIKASI", "DITINDAKLANJUTI"),
    ]
    assert await outbox_keys(storage) == ["complaint:x:0"]


async def test_a_rating_is_recorded_once_and_reopening_clears_it(storage: Storage) -> None:
    contact_id = await prepared(storage)
    await apply(storage, InsertComplaint(filed(), contact_id, "whatsapp"))
    await apply(storage, RateComplaint(TICKET, True, T0))  # not finished: ignored
    await apply(
        storage,
        move(Action.VERIFY, ComplaintStatus.DITERIMA, ComplaintStatus.DIVERIFIKASI),
        move(
            Action.ANSWER, ComplaintStatus.DIVERIFIKASI, ComplaintStatus.DITINDAKLANJUTI, note="ok"
        ),
        move(Action.FINISH, ComplaintStatus.DITINDAKLANJUTI, ComplaintStatus.SELESAI),
        RateComplaint(TICKET, False, T0),
        RateComplaint(TICKET, True, T0),
    )
    async with storage.transaction() as tx:
        rated = await load_complaint(tx, TICKET)
    assert rated is not None and rated.rated
    assert [a for a, _, _ in await trail(storage)] == ["file", "verify", "answer", "finish", "rate"]
    reopen = MoveComplaint(TICKET, Action.REOPEN, Actor.CITIZEN, ComplaintStatus.SELESAI,
                           ComplaintStatus.DIVERIFIKASI, T0)  # fmt: skip
    await apply(storage, reopen)
    async with storage.transaction() as tx:
        reopened = await load_complaint(tx, TICKET)
    assert reopened is not None and not reopened.rated
    assert reopened.status is ComplaintStatus.DIVERIFIKASI


async def test_recipients_by_address_and_of_an_opd_ignore_inactive_ones(storage: Storage) -> None:
    contact_id = await prepared(storage)
    await apply(storage, InsertComplaint(filed(), contact_id, "whatsapp"))
    officer = await context(storage, address=OFFICER, ticket=TICKET)
    assert sorted((s.role, s.language) for s in officer.sender) == [
        ("head", "id"),
        ("officer", "en"),
    ]
    assert len({s.opd_id for s in officer.sender}) == 2
    assert officer.complaint is not None
    assert sorted(s.role for s in officer.staff) == ["head", "officer"]  # the leaver is gone
    assert all(s.opd_id == officer.complaint.opd_id for s in officer.staff)
    leaver = await context(storage, address=LEAVER, ticket=TICKET)
    assert leaver.sender == ()
    citizen = await context(storage, address=CITIZEN, contact_id=contact_id, ticket=TICKET)
    assert citizen.sender == () and citizen.contact_id == contact_id
    new = await context(storage, unit_code="dukcapil-mpp")
    assert new.unit is not None and new.unit.name == "Loket Disdukcapil MPP"
    assert [s.role for s in new.staff] == [s.role for s in officer.staff]


async def test_a_claim_runs_its_effects_once(storage: Storage) -> None:
    contact_id = await prepared(storage)
    [head] = [s for s in (await context(storage, address=HEAD)).sender]
    notice = NotifyRecipient(head.id, "whatsapp", (NOTE,), f"r{head.id}:remind:{TICKET}:verify")
    claim = ClaimOnce("complaint-remind", TICKET, "verify", T0, (notice,))
    assert await apply(storage, claim) == {"whatsapp"}
    assert await apply(storage, claim) == set()
    other_stage = ClaimOnce("complaint-remind", TICKET, "answer", T0, ())
    await apply(storage, other_stage)
    assert await outbox_keys(storage) == [f"r{head.id}:remind:{TICKET}:verify:0"]
    assert contact_id > 0


async def test_two_concurrent_claims_one_wins(pg_storage: Storage) -> None:
    await prepared(pg_storage)
    async with pg_storage.transaction() as first:
        assert await claim_job(first, "complaint-escalate", TICKET, "verify", T0)

        async def second() -> bool:
            async with pg_storage.transaction() as tx:
                return await claim_job(tx, "complaint-escalate", TICKET, "verify", T0)

        # The second waits on the unique key until the first commits, then loses.
        racing = asyncio.create_task(second())
        await asyncio.sleep(0)
    assert await racing is False


async def test_a_loaded_complaint_stays_locked_until_the_step_commits(pg_storage: Storage) -> None:
    contact_id = await prepared(pg_storage)
    await apply(pg_storage, InsertComplaint(filed(), contact_id, "whatsapp"))
    async with pg_storage.transaction() as first:
        locked = await load_complaint(first, TICKET, lock=True)
        assert locked is not None

        async def second() -> ComplaintStatus | None:
            async with pg_storage.transaction() as tx:
                seen = await load_complaint(tx, TICKET, lock=True)
                return seen.status if seen else None

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0)
        verify = move(Action.VERIFY, ComplaintStatus.DITERIMA, ComplaintStatus.DIVERIFIKASI)
        await apply_desk_effects(first, (verify,), T0)
    # Blocked behind the lock, the second step sees the move, never the status before it.
    assert await waiting is ComplaintStatus.DIVERIFIKASI


async def test_a_quoted_notification_names_its_ticket_for_its_recipient_only(
    storage: Storage,
) -> None:
    contact_id = await prepared(storage)
    await apply(storage, InsertComplaint(filed(), contact_id, "whatsapp"))
    officer = [s for s in (await context(storage, address=OFFICER)).sender if s.role == "officer"]
    notice = NotifyRecipient(officer[0].id, "whatsapp", (NOTE,), f"r{officer[0].id}:new:{TICKET}")
    await apply(storage, notice)
    async with storage.sessions() as session:
        outbox_id = await session.scalar(select(func.max(OutboxMessage.id)))
    assert outbox_id is not None
    await storage.mark_sent([(outbox_id, "wamid.HBgL-notice")], T0)
    quoted = await context(storage, address=OFFICER, quoted_ref="wamid.HBgL-notice")
    assert quoted.quoted_ticket == TICKET
    assert quoted.complaint is not None and quoted.complaint.ticket == TICKET
    assert (
        await context(storage, address=HEAD, quoted_ref="wamid.HBgL-notice")
    ).quoted_ticket is None
    assert (
        await context(storage, address=CITIZEN, quoted_ref="wamid.HBgL-notice")
    ).quoted_ticket is None
    assert (await context(storage, address=OFFICER, quoted_ref="wamid.other")).quoted_ticket is None


async def test_the_deadline_context_holds_open_complaints_and_their_staff(storage: Storage) -> None:
    contact_id = await prepared(storage)
    await apply(
        storage,
        InsertComplaint(filed(), contact_id, "whatsapp"),
        InsertComplaint(filed("ADU-3333-3333"), contact_id, "whatsapp"),
    )
    rejected = MoveComplaint("ADU-3333-3333", Action.REJECT, Actor.HEAD, ComplaintStatus.DITERIMA,
                             ComplaintStatus.DITOLAK, T0, note="tidak_lengkap")  # fmt: skip
    await apply(storage, rejected)
    async with storage.transaction() as tx:
        loaded = await load_deadline_context(tx, now=T0, settings=SETTINGS, calendar=WorkCalendar())
    assert [c.ticket for c in loaded.complaints] == [TICKET]
    assert sorted(s.role for s in loaded.staff) == ["head", "officer"]
