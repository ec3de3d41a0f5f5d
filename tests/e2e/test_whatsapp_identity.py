"""One person, one contact on WhatsApp: phone number and business-scoped user id (BSUID).

Since April 2026 Meta's webhooks carry the BSUID (``user_id``) beside the phone number
(``wa_id``) while the phone is visible. A citizen first known by phone stays one contact
when the BSUID appears (promoted in place), a pair split by an older version is merged, staff
registered by phone are recognised, and messages go to the phone whenever one is known.

The conversation tests post real webhook payloads through ``WhatsAppUpdates``, the
dispatcher and storage, on SQLite and PostgreSQL; the sending tests run the service against
the fake Graph API on PostgreSQL, like tests/e2e/test_whatsapp_e2e.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.dispatcher import respondent_key
from handlers.outbox import PermanentSendError, TransientSendError
from handlers.whatsapp import (
    GraphClient,
    WhatsAppSender,
    WhatsAppUpdates,
    page_id,
    parse_payload,
    reply_id,
)
from storage import Storage, db
from storage.complaint_models import Complaint
from storage.directory import recipients_by_address
from storage.models import Contact, Conversation, Opd, OutboxMessage, Recipient, Unit
from storage.outbox import PendingMessage
from survey_flows.types import Inbound, Outbound, SubmitResponse
from tests.support.directory import load_small_directory
from tests.support.dispatcher import PSEUDONYM_SECRET, T0, Bot, Clock, RecordingSender, make_bot
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, fixture
from tests.support.migrations import _downgrade, columns, indexes
from tests.support.whatsapp_service import TOKEN, Service, settled_rows

PHONE = "6281234567890"
BSUID = "ID.1349120865530274"
MARIA = Citizen(user_id=BSUID, wa_id=PHONE)
KELLY = Citizen(user_id="ID.5512093384410076", wa_id=None, name="Kelly")
PHONE_NUMBER_ID = MARIA.phone_number_id
# Typed answers through the whole survey of dukcapil-mpp (consent to the final "submit").
SURVEY = ["1", "2", "1", "4", "5", "1", *["4", "3", "4", "3", "4", "3", "4", "3", "4"], "1", "1"]


def phone_only(payload: dict[str, Any]) -> dict[str, Any]:
    """The same payload as Meta sent it before April 2026: the phone number only."""
    value = payload["entry"][0]["changes"][0]["value"]
    for contact in value["contacts"]:
        contact.pop("user_id", None)
    for message in value["messages"]:
        message.pop("from_user_id", None)
    return payload


def key_of(address: str) -> str:
    return respondent_key(PSEUDONYM_SECRET, "whatsapp", address)


@dataclass
class Harness:
    """Webhook payloads through the real parser, dispatcher and storage; replies recorded."""

    storage: Storage
    bot: Bot
    updates: WhatsAppUpdates

    @property
    def sender(self) -> RecordingSender:
        return self.bot.sender

    async def say(self, payload: dict[str, Any]) -> str:
        """Post a payload; returns the texts of the bot's replies to it, joined."""
        before = len(self.sender.texts())
        await self.updates.process(payload)
        replies = self.sender.texts()[before:]
        assert replies, "the bot answered"
        return "\n".join(replies)


@pytest_asyncio.fixture
async def harness(storage: Storage) -> Harness:
    await load_small_directory(storage)
    bot = make_bot(storage, sender=RecordingSender("whatsapp"), clock=Clock(T0))
    updates = WhatsAppUpdates(
        storage, bot.dispatcher.handle, bot.dispatcher.outbox, PHONE_NUMBER_ID
    )
    return Harness(storage, bot, updates)


async def contacts(storage: Storage) -> list[tuple[int, str, str | None, str | None]]:
    async with storage.sessions() as session:
        rows = await session.execute(
            select(Contact.id, Contact.address, Contact.phone, Contact.respondent_key)
            .where(Contact.channel == "whatsapp")
            .order_by(Contact.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


# --- the webhook: every identifier on the event ---------------------------------------------


def parsed(name: str) -> Inbound:
    [event] = parse_payload(fixture(name), PHONE_NUMBER_ID, T0)
    assert isinstance(event, Inbound)
    return event


def test_events_carry_the_bsuid_as_key_and_the_phone_beside_it() -> None:
    both = parsed("text")
    assert (both.contact, both.phone, both.parent_id) == (BSUID, PHONE, None)
    username = parsed("bsuid_only")
    assert (username.contact, username.phone) == ("ID.5512093384410076", None)
    older = parsed("phone_only")
    assert (older.contact, older.phone) == (PHONE, PHONE)
    linked = parsed("parent_bsuid")
    assert (linked.contact, linked.phone, linked.parent_id) == (
        BSUID,
        PHONE,
        "ID.ENT.4417730092518836",
    )


def test_the_phone_comes_from_contacts_when_the_message_lacks_from() -> None:
    payload = fixture("text")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    [event] = parse_payload(payload, PHONE_NUMBER_ID, T0)
    assert isinstance(event, Inbound) and (event.contact, event.phone) == (BSUID, PHONE)


# --- one person, one contact ----------------------------------------------------------------


async def test_a_citizen_whose_payloads_gain_user_id_mid_survey_stays_one_contact(
    harness: Harness,
) -> None:
    assert "Sebelum mulai" in await harness.say(phone_only(MARIA.text("SKM dukcapil-mpp")))
    for answer in SURVEY[:4]:  # consent, age, gender, education: the phone only
        await harness.say(phone_only(MARIA.text(answer)))
    for answer in SURVEY[4:]:  # Meta now sends the BSUID too
        last = await harness.say(MARIA.text(answer))
    assert last.startswith("Terima kasih!")
    texts = harness.sender.texts()
    assert sum("Sebelum mulai" in t for t in texts) == 1, "consent asked once"
    [(_, address, phone, key)] = await contacts(harness.storage)
    # Promoted in place: the BSUID is the key now, the pseudonym is the phone's as before.
    assert (address, phone, key) == (BSUID, PHONE, key_of(PHONE))
    [response] = await harness.storage.responses()
    assert response.respondent_key == key_of(PHONE)
    assert {m.address for m in harness.sender.sent} == {PHONE}, "every reply to the phone"
    # The once-a-day limit holds, also once Meta hides the phone (a username).
    hidden = Citizen(user_id=BSUID, wa_id=None)
    assert "sudah mengisi survei" in await harness.say(hidden.text("SKM dukcapil-mpp"))
    assert harness.sender.sent[-1].address == PHONE, "the known phone, not the BSUID"
    assert len(await contacts(harness.storage)) == 1


async def test_a_phone_only_payload_finds_the_contact_keyed_by_its_bsuid(
    harness: Harness,
) -> None:
    await harness.say(MARIA.text("SKM dukcapil-mpp"))
    await harness.say(phone_only(MARIA.text("1")))  # consent, phone only
    assert "usia" in harness.sender.texts()[-1], "the same conversation went on"
    await harness.say(phone_only(MARIA.text("2")))
    assert [(a, p) for _, a, p, _ in await contacts(harness.storage)] == [(BSUID, PHONE)]


async def test_a_page_of_a_long_list_follows_the_identity_rules_and_is_sent_once(
    harness: Harness,
) -> None:
    """Maria answered by phone only; her tap on "Berikutnya" carries the BSUID too. The page
    goes to the same contact (promoted, not a new one), and a redelivered tap sends nothing."""
    for answer in ["SKM dukcapil-mpp", *SURVEY[:-1]]:
        await harness.say(phone_only(MARIA.text(answer)))
    summary = Outbound.from_json(harness.sender.sent[-1].payload)
    assert "edit" in [c.id for c in summary.choices]
    edit_tap = {"id": reply_id(summary.prompt_token, "edit"), "title": "Ubah"}
    await harness.say(phone_only(MARIA.tap(edit_tap, None, kind="button")))
    edit_list = harness.sender.sent[-1].payload
    token = Outbound.from_json(edit_list).prompt_token
    assert len(Outbound.from_json(edit_list).choices) > 10, "a list WhatsApp shows in pages"
    page_tap = MARIA.tap({"id": page_id(token, 1), "title": "Berikutnya"}, None)
    sent_before = len(harness.sender.sent)
    report = await harness.updates.process(page_tap)
    assert (report.pages, report.duplicates) == (1, 0)
    [page] = harness.sender.sent[sent_before:]
    assert page.payload == {**edit_list, "wa_page": 1}, "the same prompt, at page two"
    assert page.address == PHONE
    [(contact_id, address, phone, _)] = await contacts(harness.storage)
    assert (address, phone) == (BSUID, PHONE), "promoted in place, not a second contact"
    assert page.contact_id == contact_id
    again = await harness.updates.process(page_tap)  # Meta redelivers the webhook
    assert (again.pages, again.duplicates) == (1, 1)
    assert len(harness.sender.sent) == sent_before + 1, "the page went out once"


async def test_a_page_of_an_unknown_list_re_asks_the_current_question(harness: Harness) -> None:
    await harness.say(MARIA.text("SKM dukcapil-mpp"))
    consent = harness.sender.sent[-1].payload
    foreign = MARIA.tap({"id": page_id("not-a-token", 1), "title": "Berikutnya"}, None)
    sent_before = len(harness.sender.sent)
    await harness.updates.process(foreign)
    replies = harness.sender.sent[sent_before:]
    assert not any("wa_page" in m.payload for m in replies), "no page of a list never shown"
    assert replies[-1].payload["prompt_token"] == consent["prompt_token"], "asked again"


async def split_pair(harness: Harness) -> tuple[int, int]:
    """What the older version left: Maria answered by phone (contact A, older), then wrote
    with her BSUID (contact B, newer, no phone) and filed a complaint from it."""
    for answer in ["SKM dukcapil-mpp", *SURVEY]:
        await harness.say(phone_only(MARIA.text(answer)))
    later = T0 + timedelta(hours=1)
    async with harness.storage.transaction() as tx:
        b = await tx.contact_for("whatsapp", BSUID, "id", later, respondent_key=key_of(BSUID))
        await tx.lock_conversation(b.id, later)
        session = tx.session
        unit = (await session.execute(select(Unit).where(Unit.code == "dukcapil-mpp"))).scalar_one()
        session.add(
            Complaint(
                ticket="ADU-TEST-0001",
                unit_id=unit.id,
                opd_id=unit.opd_id,
                contact_id=b.id,
                channel="whatsapp",
                kind="pengaduan",
                description="Antrean terlalu lama",
                status="DITERIMA",
                created_at=later,
                updated_at=later,
                verify_by=later + timedelta(days=3),
                answer_by=later + timedelta(days=10),
            )
        )
    [(a_id, *_), (b_id, *_)] = await contacts(harness.storage)
    assert b_id == b.id
    return a_id, b_id


async def test_an_already_split_pair_is_merged_on_the_next_payload_with_both_ids(
    harness: Harness,
) -> None:
    a_id, b_id = await split_pair(harness)
    harness.bot.clock.advance(timedelta(hours=2))
    # Both ids: the pair is one person again, and her answer of this morning still counts.
    assert "sudah mengisi survei" in await harness.say(MARIA.text("SKM dukcapil-mpp"))
    assert await contacts(harness.storage) == [(a_id, BSUID, PHONE, key_of(PHONE))]
    async with harness.storage.sessions() as session:
        complaint_owner = await session.scalar(select(Complaint.contact_id))
        conversations = (await session.execute(select(Conversation.contact_id))).scalars().all()
    assert complaint_owner == a_id, "the complaint followed"
    assert list(conversations) == [a_id]
    assert harness.sender.sent[-1].address == PHONE


async def test_merge_contacts_keeps_the_latest_conversation_the_first_consent(
    storage: Storage,
) -> None:
    await load_small_directory(storage)
    early, late = T0, T0 + timedelta(hours=3)
    async with storage.transaction() as tx:
        keep = await tx.contact_for("whatsapp", PHONE, "id", early)
        gone = await tx.contact_for("whatsapp", BSUID, "en", late, respondent_key="b" * 32)
        await tx.record_consent(keep.id, early, "v1")
        await tx.record_consent(gone.id, late, "v2")
        await tx.set_language(gone.id, "en")
        for contact, at, step in ((keep, early, "old"), (gone, late, "new")):
            await tx.lock_conversation(contact.id, at)
            await tx.save_conversation(contact.id, {"step": step}, None, at)
        await tx.enqueue(
            channel="whatsapp",
            messages=[("message", Outbound("Halo").to_json())],
            dedupe_prefix="merge-test",
            now=late,
            contact_id=gone.id,
        )
        answered = SubmitResponse(
            unit_code="dukcapil-mpp",
            service_type="KTP-el",
            scores={"U1": 4},
            profile={},
            suggestion=None,
            language="en",
            started_at=late,
            submitted_at=late,
            local_date=late.date(),
        )
        await tx.insert_response(answered, channel="whatsapp", respondent_key="b" * 32)
    async with storage.transaction() as tx:
        await tx.merge_contacts(keep.id, gone.id, key_of)
    async with storage.sessions() as session:
        [contact] = (await session.execute(select(Contact))).scalars().all()
        [conversation] = (await session.execute(select(Conversation))).scalars().all()
        outbox_owner = await session.scalar(select(OutboxMessage.contact_id))
    assert contact.id == keep.id and contact.address == PHONE
    assert (contact.consent_at, contact.consent_version) == (early, "v1"), "the first consent"
    assert contact.language == "en", "the language of the latest activity"
    assert contact.last_inbound_at == late and contact.respondent_key == key_of(PHONE)
    assert conversation.contact_id == keep.id and conversation.state == {"step": "new"}
    assert outbox_owner == keep.id
    [response] = await storage.responses()
    assert response.respondent_key == key_of(PHONE), "the moved responses take the kept key"


async def test_a_number_that_moved_to_another_bsuid_is_not_merged(harness: Harness) -> None:
    await harness.say(MARIA.text("Halo"))
    newcomer = Citizen(user_id="ID.9988776655443322", wa_id=PHONE, name="Pemilik baru")
    await harness.say(newcomer.text("Halo"))
    found = [(a, p) for _, a, p, _ in await contacts(harness.storage)]
    assert found == [(BSUID, None), ("ID.9988776655443322", PHONE)]


# --- staff registered by phone --------------------------------------------------------------

OFFICER_PHONE = "6281211112222"
OFFICER_BSUID = "ID.3300112244556677"


async def register(storage: Storage, role: str, phone: str) -> int:
    async with storage.transaction() as tx:
        opd_id = await tx.session.scalar(select(Opd.id).where(Opd.code == "disdukcapil"))
        recipient = Recipient(
            opd_id=opd_id, role=role, channel="whatsapp", address=phone, name="Staf (contoh)"
        )
        tx.session.add(recipient)
        await tx.session.flush()
        return recipient.id


async def test_an_officer_registered_by_phone_is_recognised_by_the_bsuid(
    storage: Storage,
) -> None:
    await load_small_directory(storage)
    officer_id = await register(storage, "officer", OFFICER_PHONE)
    async with storage.transaction() as tx:
        assert await recipients_by_address(tx, "whatsapp", OFFICER_BSUID) == []
        [found] = await recipients_by_address(tx, "whatsapp", OFFICER_BSUID, phone=OFFICER_PHONE)
    assert found.id == officer_id and found.role == "officer"
    async with storage.transaction() as tx:
        bsuid = await tx.session.scalar(select(Recipient.bsuid).where(Recipient.id == officer_id))
        # Remembered: recognised once Meta hides the phone as well.
        [again] = await recipients_by_address(tx, "whatsapp", OFFICER_BSUID)
    assert bsuid == OFFICER_BSUID and again.id == officer_id


async def test_a_heads_reply_with_user_id_releases_the_waiting_digest(harness: Harness) -> None:
    storage = harness.storage
    head_id = await register(storage, "head", OFFICER_PHONE)
    waiting_until = T0 + timedelta(days=7)
    async with storage.transaction() as tx:
        [row] = await tx.enqueue(
            channel="whatsapp",
            messages=[("digest", Outbound("Ringkasan mingguan").to_json())],
            dedupe_prefix="digest-test",
            now=T0,
            recipient_id=head_id,
        )
    digest = row.id

    async def due_at() -> Any:
        async with storage.sessions() as session:
            return await session.scalar(
                select(OutboxMessage.next_attempt_at).where(OutboxMessage.id == digest)
            )

    async def wait_again() -> None:
        async with storage.transaction() as tx:
            await tx.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == digest)
                .values(next_attempt_at=waiting_until)
            )

    await wait_again()
    head = Citizen(user_id=OFFICER_BSUID, wa_id=OFFICER_PHONE, name="Kepala")
    harness.bot.clock.advance(timedelta(hours=1))
    await harness.updates.process(head.text("Selamat pagi"))
    assert await due_at() == harness.bot.clock(), "the head wrote: the digest is due now"
    async with storage.sessions() as session:
        bsuid = await session.scalar(select(Recipient.bsuid).where(Recipient.id == head_id))
    assert bsuid == OFFICER_BSUID
    # Later the head hides the phone (a username): still recognised by the BSUID.
    await wait_again()
    harness.bot.clock.advance(timedelta(hours=1))
    await harness.updates.process(Citizen(user_id=OFFICER_BSUID, wa_id=None).text("Halo"))
    assert await due_at() == harness.bot.clock()


# --- sending: the phone whenever one is known -----------------------------------------------


async def test_the_outbox_sweeper_sends_to_the_contacts_phone(storage: Storage) -> None:
    async with storage.transaction() as tx:
        known = await tx.contact_for("whatsapp", BSUID, "id", T0)
        await tx.connection.execute(
            update(Contact).where(Contact.id == known.id).values(phone=PHONE)
        )
        hidden = await tx.contact_for("whatsapp", KELLY.user_id, "id", T0)
        for contact in (known, hidden):
            await tx.enqueue(
                channel="whatsapp",
                messages=[("message", Outbound("Halo").to_json())],
                dedupe_prefix=f"sweep-{contact.id}",
                now=T0,
                contact_id=contact.id,
            )
    claimed = await storage.claim_outbox("whatsapp", T0)
    assert {m.contact_id: m.address for m in claimed} == {
        known.id: PHONE,
        hidden.id: KELLY.user_id,
    }


async def test_replies_go_to_the_phone_and_to_the_bsuid_only_without_one(
    whatsapp_service: Service, graph_api: FakeGraphApi
) -> None:
    reply = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    assert (reply.field, reply.body["to"]) == ("to", PHONE) and "recipient" not in reply.body
    username = await whatsapp_service.say(KELLY, KELLY.text("SKM dukcapil-mpp"))
    assert username.field == "recipient" and username.body["recipient"] == KELLY.user_id
    assert "to" not in username.body
    # Maria adopts a username: Meta hides her phone, we still know it.
    hidden = Citizen(user_id=BSUID, wa_id=None)
    before = len(graph_api.messages_to(PHONE))
    assert await whatsapp_service.post(hidden.text("BANTUAN")) == 200
    await graph_api.wait_for(lambda: len(graph_api.messages_to(PHONE)) > before)
    assert graph_api.messages_to(hidden.user_id) == []


async def test_a_graph_error_on_the_bsuid_path_fails_the_message_without_retry(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    graph_api.fail_next(131062)  # BSUIDs not supported for this message
    assert await whatsapp_service.post(KELLY.text("SKM dukcapil-mpp")) == 200
    await graph_api.wait_for(lambda: len(graph_api.message_calls()) == 1)
    [row] = await settled_rows(pg_storage)
    assert row.status == "failed" and "131062" in (row.last_error or "")
    assert row.attempts == 1
    await asyncio.sleep(0.3)
    assert len(graph_api.message_calls()) == 1 and graph_api.sent == []


async def test_a_server_error_is_retried_for_a_phone_but_not_for_a_bsuid(
    graph_api: FakeGraphApi,
) -> None:
    async with aiohttp.ClientSession() as session:
        client = GraphClient(
            session,
            access_token=TOKEN,
            phone_number_id=graph_api.phone_number_id,
            base_url=graph_api.base_url,
        )
        sender = WhatsAppSender(client)
        message = Outbound("Halo").to_json()
        for address, expected in ((PHONE, TransientSendError), (BSUID, PermanentSendError)):
            graph_api.fail_next(131000)
            with pytest.raises(expected):
                await sender.send(
                    PendingMessage(1, "whatsapp", address, "message", message, 1, None)
                )


# --- migration 0005 -------------------------------------------------------------------------


async def upgrade_0004_to_0005(engine: AsyncEngine) -> None:
    await db.upgrade(engine, "0004")
    insert_contact = sa.text(
        "INSERT INTO contacts (channel, address, language, created_at) VALUES (:c, :a, 'id', :t)"
    )
    async with engine.begin() as connection:
        for channel, address in (
            ("whatsapp", PHONE),
            ("whatsapp", BSUID),
            ("telegram", "5550001"),
        ):
            await connection.execute(insert_contact, {"c": channel, "a": address, "t": T0})
        await connection.execute(
            sa.text(
                "INSERT INTO conversations (contact_id, updated_at) SELECT id, :t FROM contacts"
            ),
            {"t": T0},
        )
    await db.upgrade(engine, "0005")
    async with engine.begin() as connection:
        assert {"phone", "parent_address", "respondent_key"} <= set(
            await connection.run_sync(columns, "contacts")
        )
        assert "bsuid" in await connection.run_sync(columns, "recipients")
        assert "uq_contacts_channel_phone" in await connection.run_sync(indexes, "contacts")
        rows = await connection.execute(
            sa.text("SELECT channel, address, phone FROM contacts ORDER BY id")
        )
        assert rows.all() == [
            ("whatsapp", PHONE, PHONE),  # keyed by phone: backfilled
            ("whatsapp", BSUID, None),
            ("telegram", "5550001", None),  # a Telegram chat id is no phone number
        ]
    with pytest.raises(sa.exc.IntegrityError):  # one phone, one contact
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO contacts (channel, address, phone, language, created_at) "
                    "VALUES ('whatsapp', 'ID.777', :p, 'id', :t)"
                ),
                {"p": PHONE, "t": T0},
            )
    await _downgrade(engine, "0004")
    async with engine.begin() as connection:
        assert "phone" not in await connection.run_sync(columns, "contacts")
        assert "bsuid" not in await connection.run_sync(columns, "recipients")
        # Dropping the columns kept the contacts and, through them, the conversations.
        assert await connection.scalar(sa.text("SELECT count(*) FROM conversations")) == 3
    await db.upgrade(engine, "0005")


async def test_migration_0005_on_sqlite(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        await upgrade_0004_to_0005(engine)
    finally:
        await engine.dispose()


async def test_migration_0005_on_postgresql(scratch_pg: str) -> None:
    engine = db.create_engine(scratch_pg)
    try:
        await upgrade_0004_to_0005(engine)
    finally:
        await engine.dispose()
