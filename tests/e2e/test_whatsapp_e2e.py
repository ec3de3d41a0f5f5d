"""The WhatsApp channel end to end: `run_service` against the fake Graph API on 127.0.0.1.

Signed webhook payloads (the named fixtures in ``tests/fixtures/whatsapp``) are posted to the
running aiohttp app; the bot's replies arrive at the fake Graph API; responses, delivery
statuses and inbound events are read back from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, select, update

from handlers.dispatcher import utc_now
from storage import Storage
from storage.models import Contact, InboundEvent
from survey_flows.catalog import MESSAGES
from tests.support.fakes.graph_api import (
    Citizen,
    FakeGraphApi,
    fixture,
    signature_header,
    status_payload,
)
from tests.support.whatsapp_service import (
    APP_SECRET,
    MARIA,
    TEMPLATE,
    VERIFY_TOKEN,
    Service,
    numbered,
    option,
    settled_rows,
)

KELLY = Citizen(user_id="ID.5512093384410076", wa_id=None, name="Kelly")

# Choice ids through the whole questionnaire of the unit with three service types.
SURVEY_CHOICES = [
    "yes",  # consent
    "26-35",
    "P",
    "skip",  # education
    "WIRAUSAHA",
    "s:1",  # Kartu Keluarga
    "4",  # U1
    "3",  # U2
    "3",  # U3
    "4",  # U4
    "3",  # U5
    "3",  # U6
    "4",  # U7
    "3",  # U9 (asked 8th)
    "4",  # U8 (asked 9th)
    "skip",  # suggestion
    "submit",
]
EXPECTED_SCORES = {"U1": 4, "U2": 3, "U3": 3, "U4": 4, "U5": 3, "U6": 3, "U7": 4, "U9": 3, "U8": 4}


async def count(storage: Storage, model: Any) -> int:
    async with storage.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- a whole survey --------------------------------------------------------------------------


async def test_a_citizen_taps_from_skm_code_to_a_stored_response(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    consent = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    assert "Sebelum mulai" in consent.text
    assert consent.interactive["type"] == "button"  # agree, decline, cancel
    # Meta showed her phone number: replies go to it (``to``), not to her BSUID.
    assert consent.body["to"] == MARIA.wa_id and "recipient" not in consent.body
    for choice in SURVEY_CHOICES:
        reply = await whatsapp_service.tap(MARIA, choice)
    assert "Terima kasih" in reply.text
    question = next(m for m in graph_api.sent if "Pertanyaan 7 dari 9" in m.text)
    assert question.interactive["type"] == "list"
    assert numbered(question)[4] == "Sangat sopan dan ramah"
    assert all(c.status == 200 for c in graph_api.calls), "every send fitted WhatsApp's limits"
    # "answered" notices are not sent on WhatsApp: one API call per reply.
    assert len(graph_api.message_calls()) == len(SURVEY_CHOICES) + 1
    [response] = await pg_storage.responses()
    assert response.unit_code == "dukcapil-mpp"
    assert response.channel == "whatsapp"
    assert response.scores == EXPECTED_SCORES
    assert response.profile == {"age": "26-35", "gender": "P", "occupation": "WIRAUSAHA"}
    assert response.service_type == "Kartu Keluarga"
    assert response.respondent_key and MARIA.user_id not in response.respondent_key
    assert MARIA.wa_id not in response.respondent_key
    async with pg_storage.sessions() as session:
        [(address, phone, last_inbound)] = (
            await session.execute(select(Contact.address, Contact.phone, Contact.last_inbound_at))
        ).all()
    assert (address, phone) == (MARIA.user_id, MARIA.wa_id) and last_inbound is not None


async def test_typed_numbers_and_labels_work_like_taps(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    # Any other first message shows the main menu.
    menu = await whatsapp_service.say(MARIA, MARIA.text("Selamat pagi"))
    assert "Selamat datang" in menu.text
    consent = await whatsapp_service.say(MARIA, MARIA.text("  skm   DUKCAPIL-MPP "))
    assert "Sebelum mulai" in consent.text
    message = await whatsapp_service.say(MARIA, MARIA.text("1"))  # 1. Setuju
    for _ in range(30):
        if "Ringkasan" in message.text:
            break
        labels = numbered(message)
        if "Pertanyaan" in message.text:
            typed = "3"  # every question: the third answer
        elif "saran" in message.text.lower() and len(labels) == 1:
            typed = "Antrean sudah tertib, terima kasih."
        else:
            typed = labels[1]  # the first option, typed out in full
        message = await whatsapp_service.say(MARIA, MARIA.text(typed))
    assert "Ringkasan" in message.text
    thanks = await whatsapp_service.say(MARIA, MARIA.text("kirim"))
    assert "Terima kasih" in thanks.text
    [response] = await pg_storage.responses()
    assert set(response.scores.values()) == {3} and len(response.scores) == 9
    assert response.suggestion == "Antrean sudah tertib, terima kasih."
    assert response.service_type == "KTP-el"


async def test_ya_tidak_and_three_choices_are_buttons_with_navigation_typed(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    """Issue 13, item 4: gender (L, P, Lewati) and the summary (Kirim, Ubah) are reply
    buttons, one tap each; KEMBALI and BATAL are named in the footer and work typed."""
    await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-kantor"))
    await whatsapp_service.tap(MARIA, "yes")
    gender = await whatsapp_service.tap(MARIA, "26-35")
    assert gender.interactive["type"] == "button"
    assert [r["id"].split("|")[-1] for r in gender.replies()] == ["L", "P", "skip"]
    assert gender.interactive["footer"]["text"] == "Ketik angka 1–3. KEMBALI · BATAL · BANTUAN"
    age = await whatsapp_service.say(MARIA, MARIA.text("kembali"))  # typed: back to the age
    assert MESSAGES["id"]["profile.age.prompt"] in age.text.split("\n")[:2]
    await whatsapp_service.tap(MARIA, "36-45")
    message = await whatsapp_service.say(MARIA, MARIA.text("2"))  # typed digit: 2. Perempuan
    while "Ringkasan" not in message.text:
        message = await whatsapp_service.say(MARIA, MARIA.text("1"))
    assert message.interactive["type"] == "button"
    # Kirim, Kirim & ingat data (issue 14, item 16), Ubah jawaban: still three buttons.
    assert [r["id"].split("|")[-1] for r in message.replies()] == [
        "submit",
        "submit_remember",
        "edit",
    ]
    thanks = await whatsapp_service.tap(MARIA, "submit")
    assert "Terima kasih" in thanks.text
    [response] = await pg_storage.responses()
    assert response.profile["age"] == "36-45" and response.profile["gender"] == "P"


async def test_the_complaint_links_text_opens_the_units_complaint_form(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    """Issue 13: the poster's complaint link (wa.me, prefilled "PENGADUAN <unit code>")
    reaches the unit's complaint form in one message; an unknown code is ordinary text."""
    kind = await whatsapp_service.say(MARIA, MARIA.text("PENGADUAN dukcapil-mpp"))
    assert kind.text.startswith("Laporan untuk Loket Disdukcapil MPP.")
    assert [r["id"].split("|")[-1] for r in kind.replies()] == [
        "pengaduan",
        "aspirasi",
        "informasi",
    ]
    again = await whatsapp_service.say(
        MARIA, MARIA.text("pengaduan DUKCAPIL-MPP")
    )  # the link again
    assert again.text == kind.text
    opds = await whatsapp_service.say(KELLY, KELLY.text("PENGADUAN no-such-unit"), replies=2)
    unknown = graph_api.messages_to(KELLY.reply_address)[-2]
    assert "no-such-unit" in unknown.text and "OPD" in opds.text  # said, then the OPDs
    # Typed where text is the answer (the suggestion), it stays the suggestion.
    await whatsapp_service.say(KELLY, KELLY.text("SKM dukcapil-kantor"))
    message = await whatsapp_service.tap(KELLY, "yes")
    while message.interactive["footer"]["text"] != MESSAGES["id"]["nav.hint.text"]:
        message = await whatsapp_service.say(KELLY, KELLY.text("1"))  # up to the suggestion
    summary = await whatsapp_service.say(KELLY, KELLY.text("pengaduan dukcapil-mpp"))
    assert "Ringkasan" in summary.text and "pengaduan dukcapil-mpp" in summary.text


async def test_a_long_list_pages_with_berikutnya(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    message = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    message = await whatsapp_service.tap(MARIA, "yes")
    while "Ringkasan" not in message.text:
        message = await whatsapp_service.say(MARIA, MARIA.text("1"))
    edit = await whatsapp_service.tap(MARIA, "edit")
    rows = edit.replies()
    assert len(rows) == 10 and rows[-1]["title"] == "Berikutnya"
    assert edit.interactive["action"]["button"] == "Pilih (1/2)"
    assert numbered(edit)[15] == "Saran", "the body numbers every answer, on every page"
    page_two = await whatsapp_service.say(MARIA, MARIA.tap(rows[-1], edit.wamid))
    assert page_two.interactive["action"]["button"] == "Pilih (2/2)"
    assert page_two.replies()[0]["title"] == "Sebelumnya"
    # The nine elements come first, as the summary numbers them (issue 14, item 6).
    question = await whatsapp_service.tap(MARIA, "e:profile:occupation")  # a row only on page two
    assert "Pekerjaan utama" in question.text
    summary = await whatsapp_service.tap(MARIA, "WIRAUSAHA")
    assert "Ringkasan" in summary.text
    await whatsapp_service.tap(MARIA, "submit")
    [response] = await pg_storage.responses()
    assert response.profile["occupation"] == "WIRAUSAHA" and response.scores["U1"] == 1


async def test_images_locations_and_keywords_never_crash(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    await whatsapp_service.say(MARIA, MARIA.text("SKM rsud-igd"))
    reply = await whatsapp_service.say(MARIA, MARIA.image(), replies=2)
    texts = [m.text for m in graph_api.messages_to(MARIA.reply_address)[-2:]]
    assert texts[0].startswith("Maaf, saya hanya dapat membaca teks")
    assert "Sebelum mulai" in reply.text  # the same question again
    await whatsapp_service.say(MARIA, MARIA.location(), replies=2)
    help_reply = await whatsapp_service.say(MARIA, MARIA.text("bantuan"), replies=2)
    assert help_reply.type == "interactive"
    menu = await whatsapp_service.say(MARIA, MARIA.text("batal"), replies=2)
    assert "Selamat datang" in menu.text
    assert all(c.status == 200 for c in graph_api.calls)
    assert await count(pg_storage, InboundEvent) == 5


# --- the webhook: verification, signatures, duplicates, batches ------------------------------


async def test_callback_verification_echoes_the_challenge_only_for_our_token(
    whatsapp_service: Service,
) -> None:
    async def get(params: dict[str, str]) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(whatsapp_service.url, params=params) as response,
        ):
            return response.status, await response.text()

    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    assert await get(good) == (200, "1158201444")
    assert (await get({**good, "hub.verify_token": "wrong"}))[0] == 403
    assert (await get({**good, "hub.mode": "unsubscribe"}))[0] == 403
    assert (await get({"hub.challenge": "1"}))[0] == 403


async def test_missing_or_bad_signatures_leave_no_trace(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    payload = MARIA.text("SKM dukcapil-mpp")
    body = json.dumps(payload).encode()
    assert await whatsapp_service.post(body, headers={}) == 401
    assert (
        await whatsapp_service.post(body, headers=signature_header("another-secret", body)) == 403
    )
    assert await whatsapp_service.post(body, headers={"X-Hub-Signature-256": "sha256=00"}) == 403
    # Signed over other bytes (e.g. JSON re-serialised with other spacing): refused.
    respaced = json.dumps(payload, indent=1).encode()
    assert await whatsapp_service.post(respaced, headers=signature_header(APP_SECRET, body)) == 403
    huge = b'{"object": "whatsapp_business_account", "x": "' + b"x" * (1024 * 1024) + b'"}'
    assert await whatsapp_service.post(huge) == 413
    assert await whatsapp_service.post(b"not json") == 400
    await asyncio.sleep(0.2)
    assert await count(pg_storage, InboundEvent) == 0
    assert await count(pg_storage, Contact) == 0
    assert graph_api.sent == []
    assert await whatsapp_service.post(body) == 200  # the same payload, signed as Meta signs it
    await graph_api.wait_for_sent(1)


async def test_a_wamid_delivered_twice_is_processed_once(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    payload = MARIA.text("SKM dukcapil-mpp")
    await whatsapp_service.say(MARIA, payload)
    assert await whatsapp_service.post(MARIA.same_message_again(payload)) == 200
    tap = MARIA.tap(option(graph_api.sent[-1], "yes"), graph_api.sent[-1].wamid, kind="button")
    await whatsapp_service.say(MARIA, tap)
    assert await whatsapp_service.post(tap) == 200
    await asyncio.sleep(0.3)
    assert len(graph_api.sent) == 2, "each redelivery was dropped"
    assert await count(pg_storage, InboundEvent) == 2


async def test_a_batch_with_several_entries_changes_messages_and_statuses(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    batch = fixture("batch")
    yohanes = "6281398765432"  # his phone number: Meta shows it, so replies go to it
    assert await whatsapp_service.post(batch) == 200
    # Maria gets the consent of rsud-igd; Yohanes the menu, then help and the menu again.
    await graph_api.wait_for(lambda: len(graph_api.messages_to(yohanes)) >= 3)
    await graph_api.wait_for(lambda: len(graph_api.messages_to(MARIA.reply_address)) >= 1)
    assert "Sebelum mulai" in graph_api.messages_to(MARIA.reply_address)[0].text
    assert await count(pg_storage, InboundEvent) == 3
    assert await count(pg_storage, Contact) == 2
    assert await whatsapp_service.post(batch) == 200  # redelivered whole: nothing twice
    await asyncio.sleep(0.3)
    assert len(graph_api.sent) == 4


async def test_a_user_with_a_username_and_no_phone_number(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    assert await whatsapp_service.post(fixture("bsuid_only")) == 200
    await graph_api.wait_for_sent(1)
    [menu] = graph_api.sent
    assert menu.body["recipient"] == KELLY.user_id and "to" not in menu.body
    assert menu.field == "recipient"
    reply = await whatsapp_service.say(KELLY, KELLY.text("SKM rsud-igd"))
    assert "Sebelum mulai" in reply.text
    async with pg_storage.sessions() as session:
        addresses = (await session.execute(select(Contact.address))).scalars().all()
    assert list(addresses) == [KELLY.user_id]


# --- delivery statuses -----------------------------------------------------------------------


async def test_statuses_out_of_order_keep_the_highest_and_never_reply(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    first = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    second = await whatsapp_service.tap(MARIA, "yes")
    sent_before = len(graph_api.sent)
    for status in ("read", "delivered", "sent"):  # the reverse of the real order
        assert (
            await whatsapp_service.post(status_payload(first.wamid, status, recipient=MARIA)) == 200
        )
    failed = status_payload(second.wamid, "failed", recipient=MARIA, error_code=131026)
    assert await whatsapp_service.post(failed) == 200
    unknown = status_payload("wamid.HBgNnot-ours", "delivered", recipient=MARIA)
    assert await whatsapp_service.post(unknown) == 200
    rows = {r.platform_message_id: r for r in await settled_rows(pg_storage)}
    assert rows[first.wamid].delivery_status == "read"
    assert rows[second.wamid].delivery_status == "failed"
    assert "131026" in (rows[second.wamid].delivery_error or "")
    # A report that the message arrived after all outranks the failure.
    assert await whatsapp_service.post(status_payload(second.wamid, "delivered")) == 200
    rows = {r.platform_message_id: r for r in await settled_rows(pg_storage)}
    assert rows[second.wamid].delivery_status == "delivered"
    await asyncio.sleep(0.3)
    assert len(graph_api.sent) == sent_before, "statuses never trigger replies"
    assert await count(pg_storage, InboundEvent) == 2


# --- Graph API errors ------------------------------------------------------------------------


async def test_throughput_limit_backs_off_then_succeeds(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    graph_api.fail_next(130429)
    started = time.monotonic()
    await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    calls = graph_api.message_calls()
    assert [c.status for c in calls] == [400, 200]
    assert calls[1].at - calls[0].at >= 0.9, "waited before retrying"
    assert time.monotonic() - started < 10, "retried soon, not after minutes"
    [row] = await settled_rows(pg_storage)
    assert row.status == "sent" and row.attempts == 2
    assert row.platform_message_id == graph_api.sent[0].wamid


async def test_re_engagement_error_sends_the_template_instead(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    graph_api.closed_windows.add(
        MARIA.reply_address
    )  # Meta says the window closed; we thought it open
    invitation = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    assert invitation.type == "template"
    assert invitation.body["template"] == {"name": TEMPLATE, "language": {"code": "id"}}
    assert [c.status for c in graph_api.message_calls()] == [400, 200]
    [row] = await settled_rows(pg_storage)
    assert row.status == "sent" and row.platform_message_id == invitation.wamid
    assert "131047" in (row.last_error or "") and TEMPLATE in (row.last_error or "")
    # The citizen answers the template: the window is open again.
    graph_api.closed_windows.clear()
    reply = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"), replies=2)
    assert reply.type == "interactive" and "Sebelum mulai" in reply.text  # resumed


async def test_a_late_131047_report_queues_the_template(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    message = await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    # Meta accepted the message, then reports it failed: the window had closed.
    async with pg_storage.transaction() as tx:
        await tx.session.execute(
            update(Contact).values(last_inbound_at=utc_now() - timedelta(hours=25))
        )
    failed = status_payload(message.wamid, "failed", recipient=MARIA, error_code=131047)
    assert await whatsapp_service.post(failed) == 200
    await graph_api.wait_for(lambda: graph_api.sent[-1].type == "template")
    assert await whatsapp_service.post(failed) == 200  # a redelivered report queues nothing more
    await asyncio.sleep(0.5)
    assert [m.type for m in graph_api.sent] == ["interactive", "template"]


async def test_outside_the_window_the_template_goes_out_directly(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    async with pg_storage.transaction() as tx:
        await tx.session.execute(
            update(Contact).values(last_inbound_at=utc_now() - timedelta(hours=25))
        )
        contact_id = await tx.session.scalar(select(Contact.id))
        # Messages queued later (a reminder, a status update), not replies to anything.
        await tx.enqueue(
            channel="whatsapp",
            messages=[
                ("message", {"text": "Pengingat survei", "choices": []}),
                ("message", {"text": "Pengingat kedua", "choices": []}),
            ],
            dedupe_prefix="reminder:1",
            now=utc_now(),
            contact_id=contact_id,
        )
    await graph_api.wait_for(lambda: len(graph_api.sent) == 2, timeout=5)
    assert graph_api.sent[-1].type == "template"
    rows = await settled_rows(pg_storage)
    assert [r.status for r in rows] == ["sent", "sent", "failed"]
    assert "superseded" in (rows[-1].last_error or ""), "one invitation per closed window"
    assert [c.status for c in graph_api.message_calls()] == [200, 200], "no free-form attempt"
    await asyncio.sleep(0.3)
    assert len(graph_api.sent) == 2


async def test_undeliverable_fails_with_the_reason_and_is_not_retried(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    graph_api.undeliverable.add(MARIA.reply_address)
    assert await whatsapp_service.post(MARIA.text("SKM dukcapil-mpp")) == 200
    await graph_api.wait_for(lambda: len(graph_api.message_calls()) == 1)
    [row] = await settled_rows(pg_storage)
    # Failed, not pending: the sweeper never picks it up again.
    assert row.status == "failed" and "131026" in (row.last_error or "")
    assert row.attempts == 1 and graph_api.sent == []


async def test_an_outage_delays_replies_and_loses_none(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    graph_api.set_down(True)
    assert await whatsapp_service.post(MARIA.text("SKM dukcapil-mpp")) == 200  # stored regardless
    await graph_api.wait_for(lambda: len(graph_api.message_calls()) >= 1)
    graph_api.set_down(False)
    await graph_api.wait_for(lambda: len(graph_api.sent) == 1, timeout=10)
    assert "Sebelum mulai" in graph_api.sent[0].text
    await asyncio.sleep(0.5)
    assert len(graph_api.sent) == 1, "delivered once"
