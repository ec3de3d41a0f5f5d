"""Complaints end to end over Telegram (fake Bot API) and the deadline job on PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import import_holidays
from bot.holidays_file import bundled_holidays
from bot.jobs import complaint_deadlines
from reports.complaints_recap import write_recap
from reports.period import parse_period
from storage import Storage
from storage.complaint_models import Complaint
from storage.complaints import (
    apply_desk_effects,
    complaint_events,
    complaints_between,
    load_desk_context,
)
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from storage.models import OutboxMessage, Recipient
from survey_flows.complaints import Action
from survey_flows.desk import officer_step
from survey_flows.officer import OfficerRequest
from survey_flows.types import Channel, Inbound, InboundKind
from tests.support.complaint_media import PHOTO, data_of
from tests.support.dispatcher import Clock, RecordingSender, command_in, make_bot, text_in
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.telegram_service import TOKEN, Service, service_settings

WIT = ZoneInfo("Asia/Jayapura")
CITIZEN = 610000001
OTHER_CITIZEN = 610000002
OFFICER = 200000001
HEAD = 100000001
FOREIGN_OFFICER = 300000001

DIRECTORY = (
    OpdSpec(
        code="disdukcapil",
        name="Dinas Kependudukan dan Pencatatan Sipil",
        short_name="Disdukcapil",
        recipients=(
            RecipientSpec("head", "telegram", str(HEAD), "Kepala (contoh)"),
            RecipientSpec("officer", "telegram", str(OFFICER), "Petugas (contoh)"),
        ),
        units=(UnitSpec("dukcapil-mpp", "Loket Disdukcapil MPP", ("KTP-el", "KK")),),
    ),
    OpdSpec(
        code="rsud",
        name="RSUD Mimika",
        recipients=(RecipientSpec("officer", "telegram", str(FOREIGN_OFFICER), "Petugas RS"),),
        units=(UnitSpec("rsud-igd", "IGD RSUD Mimika", ("IGD",)),),
    ),
)
DESCRIPTION = "Antrean perekaman KTP-el sangat panjang dan loket tutup lebih awal dari jadwal."


async def load_directory(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await apply_directory(tx, DIRECTORY, datetime.now(UTC))
    for path in bundled_holidays():
        await import_holidays(storage, path)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN) as fake:
        yield fake


def texts(api: FakeTelegramApi, chat: int) -> list[str]:
    return [str(m.get("text", "")) for m in api.sent_messages(chat)]


async def wait_text(api: FakeTelegramApi, chat: int, fragment: str) -> dict[str, Any]:
    def found() -> bool:
        return any(fragment in t for t in texts(api, chat))

    await api.wait_for(found, timeout=10)
    return next(m for m in reversed(api.sent_messages(chat)) if fragment in m.get("text", ""))


async def tap(api: FakeTelegramApi, chat: int, message: dict[str, Any], label: str) -> None:
    api.push_update(api.make_callback_update(chat, message["message_id"], data_of(message, label)))


async def say(api: FakeTelegramApi, chat: int, body: str | None, **kwargs: Any) -> None:
    api.push_update(api.make_message_update(chat, body, **kwargs))


async def test_a_complaint_from_filing_to_rating(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        await say(api, CITIZEN, "/start c_dukcapil-mpp")
        kind = await wait_text(api, CITIZEN, "Pilih jenis laporan")
        await tap(api, CITIZEN, kind, "Pengaduan")
        await wait_text(api, CITIZEN, "Ceritakan masalahnya")
        await say(api, CITIZEN, "terlalu pendek")
        await wait_text(api, CITIZEN, "sedikit lebih rinci")
        await say(api, CITIZEN, DESCRIPTION)
        await wait_text(api, CITIZEN, "Kirim foto pendukung")
        await say(api, CITIZEN, None, extra=PHOTO)
        await wait_text(api, CITIZEN, "Foto diterima (1)")
        # The photo prompt is asked again after the receipt; tap "Lanjut" on the newest one.
        await api.wait_for(
            lambda: sum("Kirim foto pendukung" in t for t in texts(api, CITIZEN)) == 2, timeout=10
        )
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "Kirim foto pendukung"), "Lanjut")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "Kirim lokasi"), "Lewati")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "(anonim)"), "Tidak")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "Rahasiakan"), "Tidak")
        summary = await wait_text(api, CITIZEN, "Ringkasan laporan")
        assert "Foto: 1" in summary["text"]
        await tap(api, CITIZEN, summary, "Kirim")
        filed = await wait_text(api, CITIZEN, "Nomor tiket")
        ticket = re.search(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", filed["text"])[0]  # type: ignore[index]
        assert "Batas verifikasi" in filed["text"]

        # The officer is told, with the actions that fit; never the citizen's identity.
        notice = await wait_text(api, OFFICER, ticket)
        assert DESCRIPTION in notice["text"] and "1 foto" in notice["text"]
        assert str(CITIZEN) not in notice["text"]
        # The head (who may get the weekly digest meanwhile) is not told while officers act.
        assert not any(ticket in t for t in texts(api, HEAD))

        # Another OPD's officer and another citizen are refused, whatever they send.
        await say(api, FOREIGN_OFFICER, f"/verifikasi {ticket}")
        await wait_text(api, FOREIGN_OFFICER, "tidak berwenang")
        forged = api.make_callback_update(FOREIGN_OFFICER, 1, f"v1|o|ox:verify:{ticket}")
        api.push_update(forged)
        await say(api, OTHER_CITIZEN, f"/status {ticket}")
        await wait_text(api, OTHER_CITIZEN, "tidak ditemukan")
        async with pg_storage.sessions() as session:
            status = await session.scalar(select(Complaint.status))
        assert status == "DITERIMA"

        await tap(api, OFFICER, notice, "Verifikasi")
        await wait_text(api, CITIZEN, "sudah diverifikasi")
        await wait_text(api, OFFICER, "Diverifikasi")
        # The officer answers by replying to the notification.
        await say(api, OFFICER, "Loket tambahan dibuka mulai Senin.",
                  reply_to_message_id=notice["message_id"])  # fmt: skip
        await wait_text(api, CITIZEN, "Loket tambahan dibuka mulai Senin.")
        done = await wait_text(api, OFFICER, "Ditindaklanjuti")
        await tap(api, OFFICER, done, "Selesai")
        rating = await wait_text(api, CITIZEN, "ditangani dengan baik")
        await tap(api, CITIZEN, rating, "Ya, baik")
        await wait_text(api, CITIZEN, "Terima kasih atas penilaian")
        await say(api, CITIZEN, f"/status {ticket.lower()}")
        await wait_text(api, CITIZEN, "Status: Selesai")

    async with pg_storage.sessions() as session:
        complaint = (await session.execute(select(Complaint))).scalar_one()
    async with pg_storage.transaction() as tx:
        trail = await complaint_events(tx, ticket)
    assert complaint.rating == 1 and complaint.last_answer == "Loket tambahan dibuka mulai Senin."
    assert [action for action, _, _ in trail] == ["file", "verify", "answer", "finish", "rate"]
    assert [to for _, _, to in trail] == [
        "DITERIMA", "DIVERIFIKASI", "DITINDAKLANJUTI", "SELESAI", "SELESAI",
    ]  # fmt: skip


async def test_an_anonymous_complaint_and_a_rejection_with_its_reason(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        await say(api, CITIZEN, "/start c_dukcapil-mpp")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "jenis laporan"), "Aspirasi")
        await wait_text(api, CITIZEN, "Ceritakan")
        await say(api, CITIZEN, DESCRIPTION)
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "foto pendukung"), "Lanjut")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "Kirim lokasi"), "Lewati")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "(anonim)"), "Ya")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "Rahasiakan"), "Ya")
        await tap(api, CITIZEN, await wait_text(api, CITIZEN, "Ringkasan"), "Kirim")
        filed = await wait_text(api, CITIZEN, "Nomor tiket")
        ticket = re.search(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", filed["text"])[0]  # type: ignore[index]
        notice = await wait_text(api, OFFICER, ticket)
        assert "anonim" in notice["text"]
        await tap(api, OFFICER, notice, "Tolak")
        reasons = await wait_text(api, OFFICER, "Alasan penolakan")
        await tap(api, OFFICER, reasons, "Bukan kewenangan unit ini")
        await wait_text(api, CITIZEN, "tidak dapat diproses: Bukan kewenangan unit ini")


async def test_reminders_and_escalation_fire_once_each(pg_storage: Storage) -> None:
    await load_directory(pg_storage)
    # Filed on Friday 13 March 2026, 10:00 WIT: verification due at the end of 25 March.
    clock = Clock(datetime(2026, 3, 13, 1, 0, tzinfo=UTC))
    bot = make_bot(pg_storage, clock=clock)
    await bot.dispatcher.handle(command_in("warga", "start", "c_dukcapil-mpp"))
    for answer in ["1", DESCRIPTION, "1", "1", "2", "2", "1"]:
        await bot.dispatcher.handle(text_in("warga", answer))
    async with pg_storage.sessions() as session:
        complaint = (await session.execute(select(Complaint))).scalar_one()
    assert complaint.verify_by == datetime(2026, 3, 25, 15, 0, tzinfo=UTC)

    async def run_job_at(moment: datetime) -> None:
        clock.now = moment
        dispatcher = bot.dispatcher
        await complaint_deadlines(
            pg_storage, dispatcher.flow_settings, dispatcher.calendar, dispatcher.outbox, clock
        )

    async def recipient_texts(address: str) -> list[str]:
        async with pg_storage.sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.payload)
                .join(Recipient, Recipient.id == OutboxMessage.recipient_id)
                .where(Recipient.address == address)
                .order_by(OutboxMessage.id)
            )
            return [str(p["text"]) for p in rows.scalars()]

    await run_job_at(datetime(2026, 3, 17, 0, 0, tzinfo=UTC))  # Tuesday: not due tomorrow
    assert not any("Pengingat" in t for t in await recipient_texts(str(OFFICER)))
    for hour in (0, 6):  # Tuesday 24 March (a holiday), twice: one reminder
        await run_job_at(datetime(2026, 3, 24, hour, 0, tzinfo=UTC))
    reminders = [t for t in await recipient_texts(str(OFFICER)) if "Pengingat" in t]
    assert len(reminders) == 1 and "Rabu, 25 Maret 2026" in reminders[0]
    assert await recipient_texts(str(HEAD)) == []
    for day in (26, 27):  # overdue from 26 March: one escalation to the head, however often
        await run_job_at(datetime(2026, 3, day, 0, 0, tzinfo=UTC) + timedelta(hours=1))
    escalations = [t for t in await recipient_texts(str(HEAD)) if "Eskalasi" in t]
    assert len(escalations) == 1
    assert "Diterima" in escalations[0]


async def test_the_aspect_v_recap_counts_timeliness_and_withholds_identities(
    pg_storage: Storage, tmp_path: Path
) -> None:
    await load_directory(pg_storage)
    clock = Clock(datetime(2026, 3, 13, 1, 0, tzinfo=UTC))
    bot = make_bot(pg_storage, clock=clock)
    # Two complaints: one anonymous and confidential, one not.
    for contact, anon, secret in (("warga-a", "1", "1"), ("warga-b", "2", "2")):
        await bot.dispatcher.handle(command_in(contact, "start", "c_dukcapil-mpp"))
        for answer in ["1", DESCRIPTION, "1", "1", anon, secret, "1"]:
            await bot.dispatcher.handle(text_in(contact, answer))
    async with pg_storage.sessions() as session:
        tickets = (await session.execute(select(Complaint.ticket).order_by(Complaint.id))).all()
    # The first is verified in time (17 March), the second late (27 March).
    for (ticket,), day in zip(tickets, (17, 27), strict=True):
        clock.now = datetime(2026, 3, day, 2, 0, tzinfo=UTC)
        async with pg_storage.transaction() as tx:
            context = await load_desk_context(
                tx,
                now=clock.now,
                settings=bot.dispatcher.flow_settings,
                calendar=await bot.dispatcher.calendar.get(tx),
                channel="telegram",
                address=str(OFFICER),
                ticket=ticket,
            )
            done = officer_step(context, OfficerRequest(ticket, Action.VERIFY))
            assert done is not None and "Diverifikasi" in done.replies[0].text
            await apply_desk_effects(tx, done.effects, clock.now)
    start, end = parse_period("2026-03").bounds(WIT)
    async with pg_storage.reading() as tx:
        rows = await complaints_between(tx, start, end)
    now = datetime(2026, 4, 10, 1, 0, tzinfo=UTC)
    path = tmp_path / "recap.json"
    write_recap(path, "json", rows, now, WIT, "2026-03")
    document = json.loads(path.read_text())
    [line] = document["recap"]
    assert (line["received"], line["verified_in_time"], line["answered_in_time"]) == (2, 1, 0)
    assert line["overdue"] == 2 and line["finished_percent"] == 0.0
    reporters = [c["reporter"] for c in document["complaints"]]
    assert reporters == ["anonim", "warga (console)"]
    assert document["complaints"][0]["description"] == ""  # confidential: counted, not quoted
    # Filed Friday 13 March: verification's last day is Wednesday 25 March, not the 26th.
    assert document["complaints"][0]["verify_by"] == "2026-03-25"
    assert "warga-a" not in path.read_text() and "warga-b" not in path.read_text()
    write_recap(tmp_path / "recap.xlsx", "xlsx", rows, now, WIT, "2026-03")
    sheet = load_workbook(tmp_path / "recap.xlsx")["Rekap"]
    assert [c.value for c in sheet[3]][:4] == ["disdukcapil", "dukcapil-mpp", 2, 1]


async def test_on_whatsapp_replying_to_a_notification_answers_it(pg_storage: Storage) -> None:
    """WhatsApp names only the quoted message's id: the outbox row that carried the notice
    tells its ticket, for the staff it was sent to; a citizen quoting it just chats."""
    whatsapp_directory = (
        OpdSpec(
            code="disdukcapil",
            name="Dinas Kependudukan dan Pencatatan Sipil",
            recipients=(
                RecipientSpec("officer", "whatsapp", "6281200000001", "Petugas"),
                RecipientSpec("head", "whatsapp", "6281200000002", "Kepala"),
            ),
            units=(UnitSpec("dukcapil-mpp", "Loket Disdukcapil MPP", ("KTP-el",)),),
        ),
    )
    async with pg_storage.transaction() as tx:
        await apply_directory(tx, whatsapp_directory, datetime.now(UTC))
    sender = RecordingSender(channel="whatsapp")
    bot = make_bot(pg_storage, clock=Clock(datetime(2026, 3, 16, 1, 0, tzinfo=UTC)), sender=sender)
    counter = iter(range(1, 1000))

    def whatsapp(contact: str, kind: InboundKind, **fields: Any) -> Inbound:
        return Inbound(Channel.WHATSAPP, contact, f"wamid.in-{next(counter)}", kind,
                       bot.clock.now, **fields)  # fmt: skip

    citizen = "6281300000009"
    await bot.dispatcher.handle(
        whatsapp(citizen, InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    )
    for answer in ["1", DESCRIPTION, "1", "1", "2", "2", "1"]:
        await bot.dispatcher.handle(whatsapp(citizen, InboundKind.TEXT, text=answer))
    [notice] = [m for m in sender.sent if m.address == "6281200000001"]
    ticket = re.search(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", notice.payload["text"])[0]  # type: ignore[index]
    notice_id = str(sender.sent.index(notice) + 1)  # RecordingSender's platform ids
    await bot.dispatcher.handle(
        whatsapp(
            "6281200000001", InboundKind.CHOICE, choice_id=f"ox:verify:{ticket}", prompt_token="o"
        )  # fmt: skip
    )
    # The citizen quoting the notice's id (never sent to them) is an ordinary message.
    await bot.dispatcher.handle(
        whatsapp(citizen, InboundKind.TEXT, text="Halo", message_ref=notice_id)
    )
    # So is the head quoting a message that was not sent to them.
    await bot.dispatcher.handle(
        whatsapp("6281200000002", InboundKind.TEXT, text="Sudah?", message_ref=notice_id)
    )
    async with pg_storage.transaction() as tx:
        assert [a for a, _, _ in await complaint_events(tx, ticket)] == ["file", "verify"]
    await bot.dispatcher.handle(
        whatsapp(
            "6281200000001",
            InboundKind.TEXT,
            text="Loket tambahan dibuka mulai Senin.",
            message_ref=notice_id,
        )  # fmt: skip
    )
    async with pg_storage.transaction() as tx:
        assert [a for a, _, _ in await complaint_events(tx, ticket)] == [
            "file", "verify", "answer",
        ]  # fmt: skip
    to_citizen = [str(m.payload.get("text")) for m in sender.sent if m.address == citizen]
    assert any("Loket tambahan dibuka mulai Senin." in t for t in to_citizen)
