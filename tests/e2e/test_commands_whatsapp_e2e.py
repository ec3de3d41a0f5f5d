"""An officer on WhatsApp handles a complaint by typed commands, with or without the slash,
through the signed webhook and the fake Graph API (issue 12: "/tanggapi" used to fall into the
citizen's survey and be answered "tiket tidak ditemukan")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from sqlalchemy import select

from storage import Storage
from storage.complaint_models import Complaint
from storage.complaints import complaint_events
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, SentMessage
from tests.support.whatsapp_service import TOKEN, Service, service_settings

CITIZEN = Citizen()
OFFICER = Citizen(user_id="ID.7700000000000001", wa_id="6281200000001", name="Petugas")
DESCRIPTION = "Antrean perekaman KTP-el sangat panjang dan loket tutup lebih awal dari jadwal."
DIRECTORY = (
    OpdSpec(
        code="disdukcapil",
        name="Dinas Kependudukan dan Pencatatan Sipil",
        recipients=(RecipientSpec("officer", "whatsapp", OFFICER.wa_id, "Petugas (contoh)"),),
        units=(UnitSpec("dukcapil-mpp", "Loket Disdukcapil MPP", ("KTP-el", "KK")),),
    ),
)


@pytest_asyncio.fixture
async def service(pg_storage: Storage, pg_url: str) -> AsyncIterator[Service]:
    async with pg_storage.transaction() as tx:
        await apply_directory(tx, DIRECTORY, datetime.now(UTC))
    async with (
        FakeGraphApi(access_token=TOKEN) as api,
        Service(service_settings(api, pg_url), api) as running,
    ):
        yield running


async def wait_text(service: Service, who: Citizen, fragment: str) -> SentMessage:
    def found() -> SentMessage | None:
        messages = service.api.messages_to(who.wa_id)
        return next((m for m in reversed(messages) if fragment in m.text), None)

    await service.api.wait_for(found, timeout=10)
    message = found()
    assert message is not None
    return message


async def type_text(service: Service, who: Citizen, body: str) -> None:
    assert await service.post(who.text(body)) == 200


async def tap(service: Service, who: Citizen, prompt: str, choice_id: str) -> None:
    await wait_text(service, who, prompt)
    await service.tap(who, choice_id)


async def file_complaint(service: Service) -> str:
    """The citizen files a complaint over WhatsApp (the deep link typed as a command)."""
    await type_text(service, CITIZEN, "/start c_dukcapil-mpp")
    await tap(service, CITIZEN, "Pilih jenis laporan", "pengaduan")
    await wait_text(service, CITIZEN, "Ceritakan masalahnya")
    await type_text(service, CITIZEN, DESCRIPTION)
    await tap(service, CITIZEN, "Kirim foto pendukung", "skip")
    await tap(service, CITIZEN, "Kirim lokasi", "skip")
    await tap(service, CITIZEN, "(anonim)", "no")
    await tap(service, CITIZEN, "Rahasiakan", "no")
    await tap(service, CITIZEN, "Ringkasan laporan", "submit")
    filed = await wait_text(service, CITIZEN, "Nomor tiket")
    found = re.search(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", filed.text)
    assert found is not None
    return found[0]


async def test_a_whatsapp_officer_verifies_and_answers_by_typed_commands(
    service: Service, pg_storage: Storage
) -> None:
    ticket = await file_complaint(service)

    # Without the slash, the ticket lower case and without dashes.
    await type_text(service, OFFICER, f"verifikasi {ticket.replace('-', '').lower()}")
    await wait_text(service, CITIZEN, "sudah diverifikasi")
    await wait_text(service, OFFICER, "Diverifikasi")

    # With the slash, the answer over several lines: the citizen reads it as typed.
    answer = "Loket tambahan dibuka mulai Senin.\n\nMohon maaf atas ketidaknyamanannya."
    await type_text(service, OFFICER, f"/tanggapi {ticket} {answer}")
    await wait_text(service, CITIZEN, answer)
    await wait_text(service, OFFICER, "Ditindaklanjuti")

    # Upper case and no slash, as WhatsApp users type.
    await type_text(service, OFFICER, f"TANGGAPI {ticket} Jam layanan diperpanjang.")
    await wait_text(service, CITIZEN, "Jam layanan diperpanjang.")

    # A citizen's sentence that starts with a command word is still just text to the survey.
    before = len(service.api.messages_to(CITIZEN.wa_id))
    await type_text(service, CITIZEN, "selesai juga akhirnya, terima kasih")
    await service.api.wait_for(lambda: len(service.api.messages_to(CITIZEN.wa_id)) > before)
    assert "Silakan pilih" in service.api.messages_to(CITIZEN.wa_id)[before].text
    assert not any("tidak ditemukan" in m.text for m in service.api.messages_to(OFFICER.wa_id))

    async with pg_storage.sessions() as session:
        complaint = (await session.execute(select(Complaint))).scalar_one()
    async with pg_storage.transaction() as tx:
        trail = await complaint_events(tx, ticket)
    assert complaint.last_answer == "Jam layanan diperpanjang."
    assert [action for action, _, _ in trail] == ["file", "verify", "answer", "answer"]
    assert [to for _, _, to in trail] == [
        "DITERIMA", "DIVERIFIKASI", "DITINDAKLANJUTI", "DITINDAKLANJUTI",
    ]  # fmt: skip
