"""The officer's complaint desk in Chromium: the chat's own actions through the web, the
citizen told through the outbox, and the chat and the page showing the same complaint."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.async_api import Browser, Page

from storage.complaint_models import Complaint
from storage.complaints import complaint_events
from storage.web import audit_entries
from tests.support.browser import (
    HEAD_CHAT,
    OFFICER_CHAT,
    RSUD_HEAD_CHAT,
    WIDTHS,
    Console,
    no_horizontal_scroll,
    shoot,
)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

CITIZEN = 610000077
DESCRIPTION = "Antrean perekaman KTP-el sangat panjang dan loket tutup lebih awal dari jadwal."
PHOTO = {"photo": [{"file_id": "AgAD-photo-1", "file_unique_id": "p1", "width": 800,
                    "height": 600}]}  # fmt: skip
PLACE = {"location": {"latitude": -4.54612, "longitude": 136.88835}}


def jpeg() -> bytes:
    """A small real JPEG, as Telegram stores a photo."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (11, 93, 138)).save(out, format="JPEG")
    return out.getvalue()


def texts(console: Console, chat: int, after: int = 0) -> list[str]:
    return [str(m.get("text", "")) for m in console.api.sent_messages(chat)[after:]]


async def wait_text(
    console: Console, chat: int, fragment: str, count: int = 1, after: int = 0
) -> dict[str, Any]:
    """The newest message to ``chat`` holding ``fragment`` once ``count`` of them arrived
    (counting from the ``after``-th message)."""
    await console.api.wait_for(
        lambda: sum(fragment in t for t in texts(console, chat, after)) >= count, timeout=10
    )
    return next(m for m in reversed(console.api.sent_messages(chat)) if fragment in m["text"])


async def tap(console: Console, chat: int, message: dict[str, Any], label: str) -> None:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button["text"] == label:
                update = console.api.make_callback_update(chat, message["message_id"],
                                                          button["callback_data"])  # fmt: skip
                assert await console.service.post_update(update) == 200
                return
    raise AssertionError(f"no button {label!r}")


async def file_complaint(console: Console) -> str:
    """A citizen files a complaint with a photo and a place, through the Telegram webhook."""
    console.api.add_user_file("AgAD-photo-1", jpeg())
    start = len(console.api.sent_messages(CITIZEN))

    async def seen(fragment: str, count: int = 1) -> dict[str, Any]:
        return await wait_text(console, CITIZEN, fragment, count, after=start)

    await console.send(CITIZEN, "/start c_dukcapil-mpp")
    await tap(console, CITIZEN, await seen("Pilih jenis laporan"), "Pengaduan")
    await seen("Ceritakan masalahnya")
    await console.send(CITIZEN, DESCRIPTION)
    await seen("Kirim foto pendukung")
    update = console.api.make_message_update(CITIZEN, None, extra=PHOTO)
    assert await console.service.post_update(update) == 200
    await tap(console, CITIZEN, await seen("Kirim foto pendukung", count=2), "Lanjut")
    await seen("Kirim lokasi")
    update = console.api.make_message_update(CITIZEN, None, extra=PLACE)
    assert await console.service.post_update(update) == 200
    await tap(console, CITIZEN, await seen("(anonim)"), "Tidak")
    await tap(console, CITIZEN, await seen("Rahasiakan"), "Tidak")
    await tap(console, CITIZEN, await seen("Ringkasan laporan"), "Kirim")
    found = re.search(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", (await seen("Nomor tiket"))["text"])
    assert found is not None
    return found[0]


async def signed_in(console: Console, chromium: Browser, chat: int, width: int) -> Page:
    page = await console.page(chromium, width)
    await console.sign_in(page, await console.login_link(chat))
    return page


@pytest.mark.parametrize("width", WIDTHS)
async def test_an_officer_verifies_and_answers_on_the_web_and_the_citizen_is_told(
    console: Console, chromium: Browser, width: int
) -> None:
    ticket = await file_complaint(console)
    page = await signed_in(console, chromium, OFFICER_CHAT, width)
    await page.get_by_role("link", name="Pengaduan").first.click()
    assert await page.get_by_role("heading", name="Meja pengaduan").count() == 1
    assert await page.get_by_role("link", name=ticket).count() == 1
    assert await no_horizontal_scroll(page)
    await shoot(page, "desk-list")

    await page.get_by_role("link", name=ticket).click()
    assert await page.get_by_text(DESCRIPTION).count() == 1
    photo = page.get_by_role("img", name="Foto 1")
    await photo.wait_for()
    # Visible is not loaded: on a busy machine the image may still be on its way.
    loaded = "img => img.complete || new Promise(done => { img.onload = img.onerror = done; })"
    await photo.evaluate(loaded)
    assert await photo.evaluate("img => img.naturalWidth") == 64
    osm = page.get_by_role("link", name="Buka peta (OpenStreetMap)")
    assert "mlat=-4.54612" in (await osm.get_attribute("href") or "")
    assert await page.get_by_role("button", name="Tanggapi").count() == 0  # not before verifying
    assert await no_horizontal_scroll(page)
    await shoot(page, "desk-complaint")

    await page.get_by_role("button", name="Verifikasi").click()
    await page.wait_for_load_state()
    assert await page.get_by_text(f"Tiket {ticket} sekarang berstatus Diverifikasi").count() == 1
    await wait_text(console, CITIZEN, "sudah diverifikasi")

    # An empty answer: the message by the field, nothing sent.
    await page.get_by_role("button", name="Tanggapi").click()
    await page.wait_for_load_state()
    assert await page.get_by_text("Mohon tulis tanggapan terlebih dahulu.").count() == 1
    await shoot(page, "desk-answer-empty")

    answer = "Loket tambahan dibuka mulai Senin.\nMohon maaf atas ketidaknyamanannya."
    await page.get_by_label("Tanggapan untuk pelapor").fill(answer)
    await page.get_by_role("button", name="Tanggapi").click()
    await page.wait_for_load_state()
    assert await page.get_by_text("sekarang berstatus Ditindaklanjuti").count() == 1
    await wait_text(console, CITIZEN, "Loket tambahan dibuka mulai Senin.")
    await shoot(page, "desk-answered")

    async with console.storage.reading() as tx:
        moves = [a for a, _, _ in await complaint_events(tx, ticket)]
        audit = [(e.action, e.outcome, e.target) for e in await audit_entries(tx)]
    assert moves == ["file", "verify", "answer"]
    assert ("desk.act", "ok", ticket) in audit and ("desk.act", "rejected", ticket) in audit


async def test_an_action_in_the_chat_shows_on_the_page_and_back(
    console: Console, chromium: Browser
) -> None:
    ticket = await file_complaint(console)
    page = await signed_in(console, chromium, OFFICER_CHAT, 390)
    await page.goto(console.url(f"/opd/disdukcapil/pengaduan/{ticket}"))
    assert await page.get_by_role("button", name="Verifikasi").count() == 1
    # The officer verifies in the chat, by the notification's button ...
    notice = await wait_text(console, OFFICER_CHAT, ticket)
    await tap(console, OFFICER_CHAT, notice, "Verifikasi")
    await wait_text(console, OFFICER_CHAT, "berstatus Diverifikasi")
    # ... and the page shows it at the next load, with the history naming the officer.
    await page.reload()
    assert await page.get_by_role("button", name="Verifikasi").count() == 0
    history = await page.locator("ol.history li").all_inner_texts()
    assert len(history) == 2 and "Diverifikasi · Petugas Dukcapil" in history[1]
    # Web to chat: rejecting on the page; the chat's FINISH then finds it closed.
    await page.get_by_label("Alasan penolakan").select_option("tidak_lengkap")
    await page.get_by_role("button", name="Tolak").click()
    await page.wait_for_load_state()
    assert await page.get_by_text("sekarang berstatus Ditolak").count() == 1
    await wait_text(console, CITIZEN, "tidak dapat diproses: Informasi belum lengkap")
    await console.send(OFFICER_CHAT, f"SELESAI {ticket}")
    await wait_text(console, OFFICER_CHAT, "tidak berlaku untuk status pengaduan saat ini")


async def test_a_head_with_officers_does_not_answer_and_admins_only_read(
    console: Console, chromium: Browser
) -> None:
    ticket = await file_complaint(console)
    head = await signed_in(console, chromium, HEAD_CHAT, 1280)
    await head.goto(console.url(f"/opd/disdukcapil/pengaduan/{ticket}"))
    await head.get_by_role("button", name="Verifikasi").click()
    await head.wait_for_load_state()
    assert await head.get_by_text("sekarang berstatus Diverifikasi").count() == 1
    assert await head.get_by_role("button", name="Tanggapi").count() == 0  # officers answer
    assert await head.get_by_role("button", name="Tolak").count() == 1
    # A forged answer from the head gets the chat's own refusal; nothing moves.
    forged = await head.request.post(
        console.url(f"/opd/disdukcapil/pengaduan/{ticket}"),
        form={
            "_csrf": await head.locator("input[name=_csrf]").first.get_attribute("value") or "",
            "action": "answer",
            "answer": "Dari kepala",
        },  # fmt: skip
    )
    assert forged.status == 409 and "diberikan oleh petugas" in await forged.text()

    admin = await console.page(chromium, 1280)
    await console.sign_in(admin, await console.admin_link())
    await admin.get_by_role("link", name="Pengaduan").click()
    await admin.get_by_role("link", name="Dinas Kependudukan dan Pencatatan Sipil").click()
    await admin.get_by_role("link", name=ticket).click()
    assert await admin.get_by_role("button", name="Tolak").count() == 0
    assert await admin.get_by_text("Bagian Organisasi membaca meja ini").count() == 1
    await shoot(admin, "desk-admin-read")
    await admin.goto(console.url(f"/opd/disdukcapil/pengaduan/{ticket}?lang=en"))
    assert await admin.get_by_role("heading", name="History").count() == 1
    assert "(today)" in await admin.locator("dl.facts").inner_text()
    assert await admin.get_by_text("Verified · Kepala (contoh)").count() == 1
    async with console.storage.reading() as tx:
        moves = [a for a, _, _ in await complaint_events(tx, ticket)]
    assert moves == ["file", "verify"]


async def test_another_opds_complaint_or_a_forged_form_is_refused_and_audited(
    console: Console, chromium: Browser
) -> None:
    ticket = await file_complaint(console)
    rsud = await signed_in(console, chromium, RSUD_HEAD_CHAT, 390)
    # Another OPD in the URL: the page decorator refuses.
    response = await rsud.goto(console.url(f"/opd/disdukcapil/pengaduan/{ticket}"))
    assert response is not None and response.status == 403
    # Their own OPD in the URL, another OPD's ticket: the same page as an unknown ticket.
    response = await rsud.goto(console.url(f"/opd/rsud/pengaduan/{ticket}"))
    assert response is not None and response.status == 404
    assert await rsud.get_by_role("heading", name="Pengaduan tidak ditemukan").count() == 1
    await shoot(rsud, "desk-refused")
    photo = await rsud.request.get(console.url(f"/opd/rsud/pengaduan/{ticket}/foto/1"))
    assert photo.status == 404 and photo.headers["content-type"].startswith("text/html")
    csrf = await rsud.locator("input[name=_csrf]").first.get_attribute("value") or ""
    posted = await rsud.request.post(console.url(f"/opd/rsud/pengaduan/{ticket}"),
                                     form={"_csrf": csrf, "action": "verify"})  # fmt: skip
    assert posted.status == 404
    officer = await signed_in(console, chromium, OFFICER_CHAT, 390)
    forged = await officer.request.post(console.url(f"/opd/disdukcapil/pengaduan/{ticket}"),
                                        form={"_csrf": "forged", "action": "verify"})  # fmt: skip
    assert forged.status == 403
    own = await officer.request.get(console.url(f"/opd/disdukcapil/pengaduan/{ticket}/foto/1"))
    assert own.status == 200 and own.headers["content-type"] == "image/jpeg"
    missing = await officer.request.get(console.url(f"/opd/disdukcapil/pengaduan/{ticket}/foto/2"))
    assert missing.status == 404
    async with console.storage.reading() as tx:
        moves = [a for a, _, _ in await complaint_events(tx, ticket)]
        refused = [(e.action, e.detail) for e in await audit_entries(tx) if e.outcome == "refused"]
    assert moves == ["file"]
    assert ("desk.act", "CSRF token missing or wrong") in refused
    assert sum(action in {"desk.view", "desk.act"} for action, _ in refused) >= 3


async def test_the_list_puts_overdue_first_and_filters(console: Console, chromium: Browser) -> None:
    first = await file_complaint(console)
    second = await file_complaint(console)
    async with console.storage.transaction() as tx:  # the second one's limit has passed
        await tx.session.execute(
            sa.update(Complaint)
            .where(Complaint.ticket == second)
            .values(verify_by=datetime.now(UTC) - timedelta(hours=1))
        )
    page = await signed_in(console, chromium, OFFICER_CHAT, 390)
    await page.goto(console.url("/opd/disdukcapil/pengaduan"))
    tickets = await page.locator("ul.desk a.ticket").all_inner_texts()
    assert tickets == [second, first]
    assert "Terlambat" in await page.locator("ul.desk li").first.inner_text()
    await page.get_by_label("Hanya yang terlambat").check()
    await page.get_by_role("button", name="Terapkan").click()
    assert await page.locator("ul.desk a.ticket").all_inner_texts() == [second]
    await page.get_by_label("Status").select_option("DITOLAK")
    await page.get_by_role("button", name="Terapkan").click()
    assert await page.get_by_text("Tidak ada pengaduan yang sesuai.").count() == 1
    await page.goto(console.url("/opd/disdukcapil/pengaduan?status=HILANG&unit=rsud-igd"))
    assert await page.get_by_text("Status tidak dikenal").count() == 1
    assert await page.get_by_text("Unit tidak dikenal").count() == 1
    assert await page.locator("ul.desk a.ticket").count() == 2
    await shoot(page, "desk-filter-bad")
