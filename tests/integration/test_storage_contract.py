"""The storage contract: the same behaviour from SQLite (embedded) and PostgreSQL (production).

Every test here runs on both backends through the ``storage`` fixture (STYLE.md habit 5).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import StatementError

from storage import Storage
from storage.conversations import SavedConversation
from storage.directory_import import ImportReport, OpdSpec, RecipientSpec, apply_directory
from storage.errors import ConstraintViolation, StorageUnavailable
from storage.models import (
    Contact,
    Conversation,
    InboundEvent,
    Opd,
    OutboxMessage,
    OutboxStatus,
    Recipient,
    ResponseScore,
    SurveyResponse,
    Unit,
    UnitPopulation,
)
from storage.outbox import ClaimFor
from survey_flows.types import SubmitResponse
from tests.support.directory import SMALL_DIRECTORY, load_small_directory
from tests.support.dispatcher import T0

WIT = ZoneInfo("Asia/Jayapura")
LEASE = timedelta(minutes=2)
NINE_SCORES = {
    "U1": 4,
    "U2": 3,
    "U3": 2,
    "U4": 1,
    "U5": 4,
    "U6": 3,
    "U7": 2,
    "U8": 1,
    "U9": 4,
}


def submission(
    unit_code: str = "dukcapil-mpp",
    *,
    scores: dict[str, int] | None = None,
    local_date: date = date(2026, 11, 25),
    submitted_at: datetime = T0,
) -> SubmitResponse:
    return SubmitResponse(
        unit_code=unit_code,
        service_type="KTP-el",
        scores=dict(NINE_SCORES if scores is None else scores),
        profile={"age": "26-35", "gender": "L", "occupation": "WIRAUSAHA"},
        suggestion="Antrean lebih tertib — terima kasih 🙏",
        language="id",
        started_at=submitted_at - timedelta(minutes=4),
        submitted_at=submitted_at,
        local_date=local_date,
    )


async def new_contact(storage: Storage, address: str, channel: str = "console") -> int:
    async with storage.transaction() as tx:
        return (await tx.contact_for(channel, address, "id", T0)).id


async def count(storage: Storage, model: Any, *where: Any) -> int:
    async with storage.sessions() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int((await session.execute(query)).scalar_one())


async def enqueue(
    storage: Storage,
    contact_id: int | None,
    prefix: str,
    texts: list[str],
    *,
    priority: int = 0,
    channel: str = "console",
    now: datetime = T0,
) -> list[int]:
    """Queue ``texts``; returns the ids of the rows actually added."""
    async with storage.transaction() as tx:
        queued = await tx.enqueue(
            channel=channel,
            messages=[("message", {"text": t}) for t in texts],
            dedupe_prefix=prefix,
            now=now,
            contact_id=contact_id,
            priority=priority,
        )
    return [message.id for message in queued]


# --- inbound events and contacts -----------------------------------------------------------


async def test_record_inbound_is_true_once_per_channel_and_event(storage: Storage) -> None:
    async with storage.transaction() as tx:
        assert await tx.record_inbound("telegram", "upd-1", T0) is True
    async with storage.transaction() as tx:
        assert await tx.record_inbound("telegram", "upd-1", T0 + timedelta(seconds=5)) is False
    async with storage.transaction() as tx:
        assert await tx.record_inbound("whatsapp", "upd-1", T0) is True
        assert await tx.record_inbound("telegram", "upd-2", T0) is True
    assert await count(storage, Contact) == 0  # recording an event creates nothing else


async def test_record_inbound_tells_long_event_ids_apart(storage: Storage) -> None:
    """Two different platform events must never be mistaken for a redelivery."""
    prefix = "e" * 200
    async with storage.transaction() as tx:
        assert await tx.record_inbound("whatsapp", prefix + "-first", T0) is True
    async with storage.transaction() as tx:
        assert await tx.record_inbound("whatsapp", prefix + "-second", T0) is True
    async with storage.transaction() as tx:
        assert await tx.record_inbound("whatsapp", prefix + "-first", T0) is False


async def test_record_inbound_rolled_back_with_its_transaction(storage: Storage) -> None:
    """An event whose processing failed is not remembered: the redelivery gets processed."""
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            assert await tx.record_inbound("telegram", "upd-9", T0) is True
            raise RuntimeError("step crashed")
    async with storage.transaction() as tx:
        assert await tx.record_inbound("telegram", "upd-9", T0) is True


async def test_contact_for_is_idempotent_and_distinct_per_channel(storage: Storage) -> None:
    async with storage.transaction() as tx:
        first = await tx.contact_for("telegram", "5550001", "id", T0)
    async with storage.transaction() as tx:
        again = await tx.contact_for("telegram", "5550001", "en", T0 + timedelta(hours=1))
        other_channel = await tx.contact_for("whatsapp", "5550001", "id", T0)
    assert again.id == first.id
    assert again.language == "id"  # the stored contact wins over a new hint
    assert other_channel.id != first.id
    assert (first.channel, first.address, first.consent_at, first.blocked) == (
        "telegram",
        "5550001",
        None,
        False,
    )
    assert await count(storage, Contact) == 2


# --- conversations -------------------------------------------------------------------------


async def test_lock_conversation_creates_the_row_and_state_round_trips(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-json")
    async with storage.transaction() as tx:
        assert await tx.lock_conversation(contact_id, T0) is None
    assert await count(storage, Conversation, Conversation.contact_id == contact_id) == 1

    state = {
        "v": 1,
        "step": "q:U1",
        "answers": {"age": "17-25", "U1": 4, "nested": {"deep": [1, 2, {"x": None}]}},
        "history": ["profile:age", "profile:gender"],
        "unicode": "Timika — Papua Tengah · ñ 日本語 🙂",
        "editing": False,
        "ratio": 0.5,
    }
    expires = datetime(2026, 11, 25, 10, 30, tzinfo=WIT)
    async with storage.transaction() as tx:
        await tx.save_conversation(contact_id, state, expires, T0 + timedelta(minutes=1))
    async with storage.transaction() as tx:
        assert await tx.lock_conversation(contact_id, T0 + timedelta(minutes=2)) == state

    async with storage.sessions() as session:
        row = (
            await session.execute(select(Conversation).where(Conversation.contact_id == contact_id))
        ).scalar_one()
    assert row.expires_at == expires and row.expires_at.tzinfo == UTC
    # Taking the lock again does not touch the row: only save_conversation writes it.
    assert row.updated_at == T0 + timedelta(minutes=1)


async def test_save_conversation_none_clears_the_state(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-clear")
    async with storage.transaction() as tx:
        await tx.lock_conversation(contact_id, T0)
        await tx.save_conversation(contact_id, {"step": "menu"}, None, T0)
    async with storage.transaction() as tx:
        assert await tx.lock_conversation(contact_id, T0) == {"step": "menu"}
        await tx.save_conversation(contact_id, None, None, T0)
    async with storage.transaction() as tx:
        assert await tx.lock_conversation(contact_id, T0) is None


async def test_aware_datetimes_come_back_as_equal_utc(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-tz")
    consent_wit = datetime(2026, 11, 25, 9, 15, 30, 123456, tzinfo=WIT)
    async with storage.transaction() as tx:
        await tx.record_consent(contact_id, consent_wit, "2026-1")
    async with storage.transaction() as tx:
        contact = await tx.contact_for("console", "c-tz", "id", T0)
    assert contact.consent_at == consent_wit
    assert contact.consent_at is not None and contact.consent_at.tzinfo == UTC
    assert contact.consent_at.hour == 0  # 09:15 WIT is 00:15 UTC
    async with storage.sessions() as session:
        row = (await session.execute(select(Contact).where(Contact.id == contact_id))).scalar_one()
    assert (row.consent_version, row.created_at, row.created_at.tzinfo) == ("2026-1", T0, UTC)


async def test_a_naive_datetime_is_refused(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-naive")
    with pytest.raises((ValueError, StatementError)):
        async with storage.transaction() as tx:
            await tx.record_consent(contact_id, datetime(2026, 11, 25, 9, 0), "2026-1")  # noqa: DTZ001
    async with storage.transaction() as tx:
        assert (await tx.contact_for("console", "c-naive", "id", T0)).consent_at is None


# --- survey responses ----------------------------------------------------------------------


async def test_insert_response_reads_back_keyed_by_element_code(storage: Storage) -> None:
    await load_small_directory(storage)
    submitted = datetime(2026, 11, 25, 18, 45, tzinfo=WIT)
    async with storage.transaction() as tx:
        response_id = await tx.insert_response(
            submission(submitted_at=submitted), channel="telegram", respondent_key="k" * 32
        )
    async with storage.transaction() as tx:
        await tx.insert_response(
            submission("rsud-igd", scores={f"U{i}": 1 for i in range(1, 10)}),
            channel="whatsapp",
            respondent_key=None,
        )

    first, second = await storage.responses()
    assert first.id == response_id
    assert first.unit_code == "dukcapil-mpp"
    assert first.scores == NINE_SCORES
    assert first.profile == {"age": "26-35", "gender": "L", "occupation": "WIRAUSAHA"}
    assert first.suggestion == "Antrean lebih tertib — terima kasih 🙏"
    assert (first.channel, first.respondent_key, first.service_type) == (
        "telegram",
        "k" * 32,
        "KTP-el",
    )
    assert first.submitted_at == submitted and first.submitted_at.tzinfo == UTC
    assert first.local_date == date(2026, 11, 25)
    assert second.scores == {f"U{i}": 1 for i in range(1, 10)}
    assert second.respondent_key is None
    assert [r.id for r in await storage.responses("rsud-igd")] == [second.id]
    assert await storage.responses("no-such-unit") == []


async def test_units_answered_since_respects_the_local_date(storage: Storage) -> None:
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        await tx.insert_response(
            submission("dukcapil-mpp", local_date=date(2026, 11, 24)),
            channel="console",
            respondent_key="alice",
        )
        await tx.insert_response(
            submission("rsud-igd", local_date=date(2026, 11, 25)),
            channel="console",
            respondent_key="alice",
        )
        await tx.insert_response(
            submission("dukcapil-kantor", local_date=date(2026, 11, 25)),
            channel="console",
            respondent_key="bob",
        )
    async with storage.transaction() as tx:
        assert await tx.units_answered_since("alice", date(2026, 11, 24)) == {
            "dukcapil-mpp",
            "rsud-igd",
        }
        assert await tx.units_answered_since("alice", date(2026, 11, 25)) == {"rsud-igd"}
        assert await tx.units_answered_since("alice", date(2026, 11, 26)) == frozenset()
        assert await tx.units_answered_since("carol", date(2026, 1, 1)) == frozenset()


@pytest.mark.parametrize("bad_score", [0, 5])
async def test_score_check_constraint_rejects_out_of_range(
    storage: Storage, bad_score: int
) -> None:
    await load_small_directory(storage)
    scores = {**NINE_SCORES, "U3": bad_score}
    with pytest.raises(ConstraintViolation):
        async with storage.transaction() as tx:
            await tx.insert_response(
                submission(scores=scores), channel="console", respondent_key="x"
            )
    # The whole unit of work rolled back: no response without its scores.
    assert await count(storage, SurveyResponse) == 0
    assert await count(storage, ResponseScore) == 0


# --- the outbox ----------------------------------------------------------------------------


async def test_enqueue_is_idempotent_per_prefix_and_keeps_order(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-out")
    first = await enqueue(storage, contact_id, "in:console:e1", ["satu", "dua", "tiga"])
    assert len(first) == 3 and first == sorted(first)
    assert await enqueue(storage, contact_id, "in:console:e1", ["satu", "dua", "tiga"]) == []
    other = await enqueue(storage, contact_id, "in:console:e2", ["empat"])
    assert len(other) == 1 and other[0] > first[-1]
    assert await count(storage, OutboxMessage) == 4

    claimed = await storage.claim_outbox("console", T0)
    assert [m.payload["text"] for m in claimed] == ["satu", "dua", "tiga", "empat"]
    assert [m.id for m in claimed] == [*first, *other]
    assert {m.address for m in claimed} == {"c-out"}
    assert {m.contact_id for m in claimed} == {contact_id}


async def test_enqueue_with_claim_leases_the_rows_to_the_caller(storage: Storage) -> None:
    """The dispatcher's fast path: rows queued already leased, sent right after the commit."""
    contact_id = await new_contact(storage, "c-fast")
    async with storage.transaction() as tx:
        claimed = await tx.enqueue(
            channel="console",
            messages=[("answered", {"answer": "Sesuai"}), ("message", {"text": "Pertanyaan 2"})],
            dedupe_prefix="in:console:fast-1",
            now=T0,
            contact_id=contact_id,
            claim=ClaimFor(address="c-fast", lease=LEASE),
        )
    assert [m.kind for m in claimed] == ["answered", "message"]
    assert [m.payload for m in claimed] == [{"answer": "Sesuai"}, {"text": "Pertanyaan 2"}]
    assert {(m.address, m.channel, m.contact_id, m.attempts) for m in claimed} == {
        ("c-fast", "console", contact_id, 1)
    }
    assert await storage.outbox_counts() == {OutboxStatus.SENDING.value: 2}
    # Leased: no sweeper takes them while the caller may still be sending ...
    assert await storage.claim_outbox("console", T0 + LEASE - timedelta(seconds=1)) == []
    # ... but if the caller died, they are not lost.
    swept = await storage.claim_outbox("console", T0 + LEASE + timedelta(seconds=1))
    assert [m.id for m in swept] == [m.id for m in claimed]
    assert {m.address for m in swept} == {"c-fast"}


async def test_claim_outbox_serves_replies_before_bulk(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-prio")
    bulk = await enqueue(storage, contact_id, "digest:1", ["digest a", "digest b"], priority=5)
    reply = await enqueue(storage, contact_id, "in:console:e1", ["jawaban"], priority=0)
    claimed = await storage.claim_outbox("console", T0)
    assert [m.id for m in claimed] == [*reply, *bulk]

    more_bulk = await enqueue(storage, contact_id, "digest:2", ["digest c"], priority=5)
    more_reply = await enqueue(storage, contact_id, "in:console:e2", ["jawaban 2"], priority=0)
    [only] = await storage.claim_outbox("console", T0, limit=1)
    assert only.id == more_reply[0]
    [rest] = await storage.claim_outbox("console", T0)
    assert rest.id == more_bulk[0]


async def test_claim_outbox_filters_by_channel_ids_and_due_time(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-filter")
    later = await enqueue(storage, contact_id, "later", ["nanti"], now=T0 + timedelta(hours=1))
    telegram = await enqueue(storage, contact_id, "tg", ["telegram"], channel="telegram")
    a, b = await enqueue(storage, contact_id, "pair", ["a", "b"])

    day = timedelta(days=1)
    assert [m.id for m in await storage.claim_outbox("console", T0, ids=[b], lease=day)] == [b]
    # `later` is not due yet
    assert [m.id for m in await storage.claim_outbox("console", T0, lease=day)] == [a]
    assert [m.id for m in await storage.claim_outbox("telegram", T0)] == telegram
    assert [m.id for m in await storage.claim_outbox("console", T0 + timedelta(hours=1))] == later


async def test_claimed_rows_are_leased_until_the_lease_expires(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-lease")
    ids = await enqueue(storage, contact_id, "in:console:e1", ["a", "b"])
    assert [m.id for m in await storage.claim_outbox("console", T0, lease=LEASE)] == ids
    assert await storage.claim_outbox("console", T0) == []
    assert await storage.claim_outbox("console", T0 + LEASE - timedelta(seconds=1)) == []

    reclaimed = await storage.claim_outbox("console", T0 + LEASE + timedelta(seconds=1))
    assert [m.id for m in reclaimed] == ids
    assert await storage.outbox_counts() == {OutboxStatus.SENDING.value: 2}


async def stored_attempts(storage: Storage, message_id: int) -> int:
    async with storage.sessions() as session:
        query = select(OutboxMessage.attempts).where(OutboxMessage.id == message_id)
        return int((await session.execute(query)).scalar_one())


async def test_claim_reports_the_attempt_number_the_row_records(storage: Storage) -> None:
    """The sender's backoff uses ``PendingMessage.attempts``: the first claim is attempt 1."""
    contact_id = await new_contact(storage, "c-attempts")
    [message_id] = await enqueue(storage, contact_id, "in:console:e1", ["a"])
    expected = []
    seen = []
    now = T0
    for _ in range(3):
        [claimed] = await storage.claim_outbox("console", now, lease=LEASE)
        seen.append(claimed.attempts)
        expected.append(await stored_attempts(storage, message_id))
        await storage.mark_retry(message_id, "HTTP 502", now)
        now += timedelta(seconds=1)
    assert expected == [1, 2, 3]
    assert seen == expected


async def test_mark_retry_sent_and_failed(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-retry")
    retry_id, failed_id, sent_id = await enqueue(storage, contact_id, "e", ["r", "f", "s"])
    assert len(await storage.claim_outbox("console", T0)) == 3

    retry_at = T0 + timedelta(seconds=30)
    await storage.mark_retry(retry_id, "HTTP 502 " + "x" * 1000, retry_at)
    await storage.mark_failed(failed_id, "403 bot was blocked by the user")
    await storage.mark_sent([(sent_id, "tg-77")], T0)

    # Due again only at next_attempt_at, even past the old lease.
    assert await storage.claim_outbox("console", retry_at - timedelta(seconds=1)) == []
    [again] = await storage.claim_outbox("console", retry_at)
    assert again.id == retry_id
    await storage.mark_sent([(retry_id, None)], retry_at)
    # Sent and failed rows never come back, however late.
    assert await storage.claim_outbox("console", T0 + timedelta(days=365)) == []

    assert await storage.outbox_counts() == {"sent": 2, "failed": 1}
    async with storage.sessions() as session:
        rows = {r.id: r for r in (await session.execute(select(OutboxMessage))).scalars().all()}
    assert rows[failed_id].last_error == "403 bot was blocked by the user"
    assert rows[failed_id].lease_until is None
    assert rows[retry_id].last_error is not None and len(rows[retry_id].last_error) == 500
    assert rows[sent_id].platform_message_id == "tg-77"
    assert rows[sent_id].sent_at == T0 and rows[sent_id].sent_at.tzinfo == UTC


async def test_retry_now_makes_backed_off_rows_due_and_leaves_the_rest(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-retry-now")
    backed_off, fresh, sent = await enqueue(storage, contact_id, "e", ["b", "f", "s"])
    await storage.claim_outbox("console", T0, ids=[backed_off, sent])
    await storage.mark_retry(backed_off, "HTTP 502", T0 + timedelta(minutes=5))
    await storage.mark_sent([(sent, "tg-1")], T0)
    assert await storage.retry_now("other-channel", T0) == 0
    assert await storage.retry_now("console", T0 + timedelta(seconds=10)) == 1
    due = await storage.claim_outbox("console", T0 + timedelta(seconds=10))
    # The row that had never been tried was due anyway; the sent row stays sent.
    assert sorted(m.id for m in due) == sorted([backed_off, fresh])
    assert await storage.retry_now("console", T0 + timedelta(seconds=10)) == 0


async def test_begin_event_records_once_upserts_the_contact_and_reads_recent_units(
    storage: Storage,
) -> None:
    """The dispatcher's first statement (one round trip on PostgreSQL, three on SQLite)."""
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        await tx.insert_response(submission(), channel="console", respondent_key="pseudo-1")
        await tx.insert_response(
            submission(local_date=date(2026, 11, 20)), channel="console", respondent_key="pseudo-1"
        )
    await storage.mark_blocked("console", "citizen-1", T0)  # no contact yet: nothing to block

    async def begin(event_id: str, since: date | None) -> Any:
        async with storage.transaction() as tx:
            return await tx.begin_event(
                "console",
                event_id,
                "citizen-1",
                T0,
                language="id",
                respondent_key="pseudo-1",
                answered_since=since,
            )

    first = await begin("e1", date(2026, 11, 25))
    assert first is not None
    contact, recent = first
    assert (contact.address, contact.language, contact.consent_at, contact.blocked) == (
        "citizen-1",
        "id",
        None,
        False,
    )
    assert recent == frozenset({"dukcapil-mpp"})
    assert await begin("e1", date(2026, 11, 25)) is None, "a redelivery is seen as one"

    await storage.mark_blocked("console", "citizen-1", T0)
    again = await begin("e2", None)
    assert again is not None
    assert again[0].id == contact.id and not again[0].blocked, "writing again unblocks"
    assert again[1] == frozenset(), "no window: nothing counts as recent"
    later = await begin("e3", date(2026, 11, 26))
    assert later is not None and later[1] == frozenset()
    assert await count(storage, InboundEvent) == 3


async def test_concurrent_receipts_are_written_together_and_all_recorded(
    storage: Storage,
) -> None:
    contact_id = await new_contact(storage, "c-group")
    ids = await enqueue(storage, contact_id, "e", [f"m{n}" for n in range(20)])
    await storage.claim_outbox("console", T0)
    writes: list[int] = []

    def count_receipt_writes(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            writes.append(1)

    event.listen(storage.engine.sync_engine, "before_cursor_execute", count_receipt_writes)
    try:
        await asyncio.gather(*(storage.mark_sent([(i, f"p-{i}")], T0) for i in ids))
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count_receipt_writes)
    # The first call writes alone; the other nineteen gather while it is in flight.
    assert len(writes) == 2
    async with storage.sessions() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert {r.id: (r.status, r.platform_message_id) for r in rows} == {
        i: ("sent", f"p-{i}") for i in ids
    }


async def test_a_failed_group_write_fails_every_caller_in_it(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact_id = await new_contact(storage, "c-group-fail")
    ids = await enqueue(storage, contact_id, "e", ["a", "b", "c"])
    await storage.claim_outbox("console", T0)
    real = storage._core_autocommit
    calls = 0

    def failing() -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second write: the batch the later callers joined
            raise StorageUnavailable("connection refused")
        return real()

    monkeypatch.setattr(storage, "_core_autocommit", failing)
    results = await asyncio.gather(
        *(storage.mark_sent([(i, None)], T0) for i in ids), return_exceptions=True
    )
    assert results[0] is None
    assert all(isinstance(r, StorageUnavailable) for r in results[1:])
    assert await storage.outbox_counts() == {"sent": 1, "sending": 2}
    await storage.mark_sent([(i, None) for i in ids[1:]], T0)  # the callers' retry
    assert await storage.outbox_counts() == {"sent": 3}


async def test_enqueue_saves_the_conversation_with_the_replies(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-save")
    expires = T0 + timedelta(minutes=30)

    async def step(prefix: str, state: dict[str, Any] | None, texts: list[str]) -> list[int]:
        async with storage.transaction() as tx:
            await tx.lock_conversation(contact_id, T0)
            save = SavedConversation(contact_id, state, expires if state else None)
            queued = await tx.enqueue(
                channel="console",
                messages=[("message", {"text": t}) for t in texts],
                dedupe_prefix=prefix,
                now=T0,
                contact_id=contact_id,
                claim=ClaimFor(address="c-save"),
                save=save,
            )
        return [m.id for m in queued]

    async def stored() -> tuple[Any, Any]:
        async with storage.sessions() as session:
            row = await session.get(Conversation, contact_id)
            assert row is not None
            return row.state, row.expires_at

    ids = await step("in:1", {"step": "q:U1", "seq": 1}, ["answered", "U2?", "help"])
    assert len(ids) == 3 and ids == sorted(ids), "ids follow the order of the messages"
    async with storage.sessions() as session:
        rows = await session.execute(select(OutboxMessage.id, OutboxMessage.payload))
        texts = {row_id: payload["text"] for row_id, payload in rows.all()}
    assert [texts[i] for i in ids] == ["answered", "U2?", "help"]
    assert await stored() == ({"step": "q:U1", "seq": 1}, expires)
    assert await step("in:2", {"step": "q:U2", "seq": 2}, []) == []
    assert await stored() == ({"step": "q:U2", "seq": 2}, expires), "saved with no replies"
    assert len(await step("in:3", None, ["bye"])) == 1
    assert await stored() == (None, None)
    assert await step("in:3", {"step": "again"}, ["bye"]) == [], "a replayed prefix adds nothing"


async def test_a_sender_whose_lease_ran_out_cannot_undo_a_newer_claim(storage: Storage) -> None:
    contact_id = await new_contact(storage, "c-stale")
    [message_id] = await enqueue(storage, contact_id, "e", ["a"])
    [first] = await storage.claim_outbox("console", T0, lease=LEASE)
    [second] = await storage.claim_outbox("console", T0 + LEASE * 2, lease=LEASE)  # re-claimed
    assert (first.attempts, second.attempts) == (1, 2)
    # The first sender's late failure changes nothing: the row belongs to the second claim.
    await storage.mark_retry(message_id, "timed out", T0, attempt=first.attempts)
    await storage.mark_failed(message_id, "rejected", attempt=first.attempts)
    assert await storage.outbox_counts() == {"sending": 1}
    await storage.mark_retry(message_id, "HTTP 502", T0, attempt=second.attempts)
    assert await storage.outbox_counts() == {"pending": 1}


# --- erasure -------------------------------------------------------------------------------


async def test_forget_contact_erases_identity_but_keeps_pseudonymous_responses(
    storage: Storage,
) -> None:
    await load_small_directory(storage)
    gone = await new_contact(storage, "6281234567890", channel="whatsapp")
    kept = await new_contact(storage, "6289999999999", channel="whatsapp")
    for contact_id in (gone, kept):
        async with storage.transaction() as tx:
            await tx.lock_conversation(contact_id, T0)
            await tx.save_conversation(contact_id, {"step": "q:U1"}, None, T0)
            await tx.insert_response(
                submission(), channel="whatsapp", respondent_key=f"pseudo-{contact_id}"
            )
        await enqueue(storage, contact_id, f"in:whatsapp:{contact_id}", ["a", "b"], channel="x")

    async with storage.transaction() as tx:
        await tx.forget_contact(gone)

    assert await count(storage, Contact, Contact.id == gone) == 0
    assert await count(storage, Conversation, Conversation.contact_id == gone) == 0
    assert await count(storage, OutboxMessage, OutboxMessage.contact_id == gone) == 0
    assert await storage.claim_outbox("x", T0) != []  # the other contact's messages remain
    assert await count(storage, Contact, Contact.id == kept) == 1
    assert await count(storage, Conversation, Conversation.contact_id == kept) == 1
    assert await count(storage, OutboxMessage, OutboxMessage.contact_id == kept) == 2
    responses = await storage.responses()
    assert sorted(r.respondent_key or "" for r in responses) == [f"pseudo-{gone}", f"pseudo-{kept}"]
    assert all(r.scores == NINE_SCORES for r in responses)


# --- directory import ----------------------------------------------------------------------


async def import_directory(
    storage: Storage, opds: tuple[OpdSpec, ...], now: datetime = T0
) -> ImportReport:
    async with storage.transaction() as tx:
        return await apply_directory(tx, opds, now)


async def test_directory_import_is_idempotent(storage: Storage) -> None:
    first = await import_directory(storage, SMALL_DIRECTORY)
    assert set(first.added) >= {
        "opd disdukcapil",
        "opd rsud",
        "opd dishub",
        "unit dukcapil-mpp",
        "unit dukcapil-kantor",
        "unit rsud-igd",
        "unit dishub-kir",
        "recipient disdukcapil/head/telegram",
    }
    assert first.changed == [] and first.deactivated == []

    second = await import_directory(storage, SMALL_DIRECTORY, T0 + timedelta(days=1))
    assert (second.added, second.changed, second.deactivated) == ([], [], [])
    assert not second.touched
    assert second.unchanged == 7  # 3 OPDs + 4 units
    async with storage.sessions() as session:
        stamps = (await session.execute(select(Unit.updated_at))).scalars().all()
    assert set(stamps) == {T0}  # an unchanged row is not rewritten

    directory = await storage.directory()
    assert [o.code for o in directory.opds] == ["disdukcapil", "rsud", "dishub"]
    mpp = directory.unit("dukcapil-mpp")
    assert mpp is not None
    assert mpp.service_types == ("KTP-el", "Kartu Keluarga", "Akta kelahiran")
    assert mpp.opd_code == "disdukcapil"
    dishub = directory.opd("dishub")
    assert dishub is not None and not dishub.active


async def test_directory_import_deactivates_renames_and_syncs(storage: Storage) -> None:
    await import_directory(storage, SMALL_DIRECTORY)
    disdukcapil, _rsud, dishub = SMALL_DIRECTORY
    mpp, _kantor = disdukcapil.units
    edited = (
        dataclasses.replace(
            disdukcapil,
            # dukcapil-kantor removed; dukcapil-mpp renamed with a new population period
            units=(
                dataclasses.replace(
                    mpp,
                    name="Loket Disdukcapil Mal Pelayanan Publik",
                    population={"2026": 25000, "2027": 26000},
                ),
            ),
            recipients=(RecipientSpec("officer", "whatsapp", "628111", "Petugas (contoh)"),),
        ),
        dishub,
        # rsud removed entirely
    )
    report = await import_directory(storage, edited, T0 + timedelta(days=1))
    assert "unit dukcapil-mpp" in report.changed
    assert set(report.deactivated) == {
        "opd rsud",
        "unit rsud-igd",
        "unit dukcapil-kantor",
        "recipient disdukcapil/head/telegram",
    }
    assert report.added == ["recipient disdukcapil/officer/whatsapp"]

    async with storage.sessions() as session:
        units = {u.code: u for u in (await session.execute(select(Unit))).scalars()}
        opds = {o.code: o for o in (await session.execute(select(Opd))).scalars()}
        populations = {
            (p.unit_id, p.period): p.population
            for p in (await session.execute(select(UnitPopulation))).scalars()
        }
        recipients = {
            (r.role, r.channel, r.address): r.active
            for r in (await session.execute(select(Recipient))).scalars()
        }
    # Deactivated, not deleted: responses refer to them.
    assert set(units) == {"dukcapil-mpp", "dukcapil-kantor", "rsud-igd", "dishub-kir"}
    assert not units["dukcapil-kantor"].active and not units["rsud-igd"].active
    assert not opds["rsud"].active and opds["disdukcapil"].active
    assert units["dukcapil-mpp"].name == "Loket Disdukcapil Mal Pelayanan Publik"
    assert units["dukcapil-mpp"].updated_at == T0 + timedelta(days=1)
    assert units["dukcapil-kantor"].updated_at == T0 + timedelta(days=1)
    mpp_id = units["dukcapil-mpp"].id
    assert {k: v for k, v in populations.items() if k[0] == mpp_id} == {
        (mpp_id, "2026"): 25000,
        (mpp_id, "2027"): 26000,
    }
    assert recipients == {
        ("head", "telegram", "100000001"): False,
        ("officer", "whatsapp", "628111"): True,
    }
    directory = await storage.directory()
    rsud_igd = directory.unit("rsud-igd")
    assert rsud_igd is not None and not directory.is_open(rsud_igd)

    # Putting the original back reactivates everything and reports it as changed.
    restored = await import_directory(storage, SMALL_DIRECTORY, T0 + timedelta(days=2))
    assert {"opd rsud", "unit rsud-igd", "unit dukcapil-kantor", "unit dukcapil-mpp"} <= set(
        restored.changed
    )
    assert "recipient disdukcapil/head/telegram" in restored.changed
    assert "recipient disdukcapil/officer/whatsapp" in restored.deactivated
    again = await import_directory(storage, SMALL_DIRECTORY, T0 + timedelta(days=3))
    assert not again.touched


async def test_directory_import_reports_a_population_only_change(storage: Storage) -> None:
    await import_directory(storage, SMALL_DIRECTORY)
    disdukcapil, rsud, dishub = SMALL_DIRECTORY
    igd = dataclasses.replace(rsud.units[0], population={"2026-S1": 900})
    report = await import_directory(
        storage, (disdukcapil, dataclasses.replace(rsud, units=(igd,)), dishub)
    )
    assert report.changed == ["unit rsud-igd"]
    assert report.added == [] and report.deactivated == []
    async with storage.sessions() as session:
        rows = (
            await session.execute(
                select(UnitPopulation.period, UnitPopulation.population)
                .join(Unit, Unit.id == UnitPopulation.unit_id)
                .where(Unit.code == "rsud-igd")
            )
        ).all()
    assert [tuple(r) for r in rows] == [("2026-S1", 900)]
