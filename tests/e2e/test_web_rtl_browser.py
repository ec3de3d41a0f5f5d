"""The follow-up plan in Chromium at phone and desktop widths: an officer plans (a bad date
named by its field), the head approves, the officer closes it with evidence (an SVG dressed
as a PNG refused, then a real photo uploaded, shown as a thumbnail and served as an image);
the list flags nothing overdue and the admin reads it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser

from handlers.dispatcher import utc_now
from storage.rtl import propose, rtl_rows
from survey_flows.rtl import Proposal
from tests.support.browser import (
    HEAD_CHAT,
    OFFICER_CHAT,
    WIDTHS,
    Console,
    no_horizontal_scroll,
    shoot,
)
from tests.support.evidence_files import SVG, png

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.mark.parametrize("width", WIDTHS)
async def test_an_item_from_proposal_to_done_with_evidence(
    console: Console, chromium: Browser, width: int
) -> None:
    async with console.storage.transaction() as tx:
        await propose(tx, "2026-Q3", [Proposal("dukcapil-mpp", "U3", "2,61"),
                                      Proposal("dukcapil-mpp", "U7", "2,88"),
                                      Proposal("dukcapil-kantor", "U1", "2,95")],
                      utc_now())  # fmt: skip
    officer = await console.page(chromium, width)
    await console.sign_in(officer, await console.login_link(OFFICER_CHAT))
    await officer.get_by_role("link", name="Tindak lanjut").click()
    assert await officer.get_by_role("heading", name="Rencana tindak lanjut (RTL)").count() == 1
    assert await officer.get_by_text("3 butir RTL").count() == 1
    assert await no_horizontal_scroll(officer)
    await shoot(officer, "rtl-list")

    await officer.get_by_role("link", name="U3 · Waktu Penyelesaian").click()
    await officer.get_by_label("Tindakan yang direncanakan").fill("Tambah dua loket antrean")
    await officer.get_by_label("Tenggat").fill("2020-01-31")
    await officer.get_by_role("button", name="Simpan rencana").click()
    assert await officer.locator("#e-responsible").inner_text() == "Tuliskan penanggung jawabnya."
    assert await officer.locator("#e-due_date").inner_text() == (
        "Tenggat paling cepat hari ini dan paling lambat dua tahun lagi."
    )
    assert await officer.get_by_label("Tindakan yang direncanakan").input_value() == (
        "Tambah dua loket antrean"  # nothing typed is lost
    )
    assert await no_horizontal_scroll(officer)
    await shoot(officer, "rtl-item-invalid")
    due = (utc_now() + timedelta(days=60)).date().isoformat()
    await officer.get_by_label("Penanggung jawab").fill("Budi, Kepala Seksi Pelayanan")
    await officer.get_by_label("Tenggat").fill(due)
    await officer.get_by_role("button", name="Simpan rencana").click()
    assert await officer.get_by_role("status").inner_text() == "Perubahan tersimpan."
    assert await officer.get_by_role("button", name="Setujui rencana").count() == 0

    head = await console.page(chromium, width)
    await console.sign_in(head, await console.login_link(HEAD_CHAT))
    await head.goto(officer.url.split("?")[0])
    await head.get_by_role("button", name="Setujui rencana").click()
    assert await head.get_by_text("Disetujui oleh Kepala (contoh)").count() == 1

    await officer.reload()
    await officer.get_by_label("Status baru").select_option("selesai")
    await officer.get_by_role("button", name="Simpan kemajuan").click()
    assert await officer.locator("#e-evidence_link").inner_text() == (
        "Untuk status Selesai, isi tautan bukti atau catatan bukti, atau unggah berkas bukti."
    )
    files = officer.get_by_label("Berkas bukti (foto atau PDF)", exact=True)
    await files.set_input_files({"name": "foto-loket.png", "mimeType": "image/png", "buffer": SVG})
    await officer.get_by_role("button", name="Simpan kemajuan").click()
    assert (await officer.locator("#e-evidence_file").inner_text()).startswith(
        "Hanya foto (JPEG, PNG, WebP) atau dokumen PDF yang dapat diunggah."
    )
    assert await officer.get_by_label("Status baru").input_value() == "selesai"
    assert await no_horizontal_scroll(officer)
    await shoot(officer, "rtl-item-file-refused")
    await officer.get_by_label("Tautan bukti").fill("https://mimikakab.go.id/berita/loket-baru")
    await officer.get_by_label("Catatan bukti").fill("Loket 5 dan 6 dibuka sejak 2 Maret.")
    photo = png(480, 320, (40, 120, 180))
    await files.set_input_files({"name": "Loket 5 dan 6.png", "mimeType": "image/png",
                                 "buffer": photo})  # fmt: skip
    await officer.get_by_role("button", name="Simpan kemajuan").click()
    assert await officer.locator("h1 .status").inner_text() == "Selesai"
    thumbnail = officer.locator("#bukti img.photo")
    assert await thumbnail.get_attribute("alt") == "Loket-5-dan-6.png"
    assert await thumbnail.evaluate("img => img.complete && img.naturalWidth") == 480
    served = await officer.request.get(await thumbnail.evaluate("img => img.src"))
    assert served.ok and await served.body() == photo
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert await no_horizontal_scroll(officer)
    await shoot(officer, "rtl-item-done")
    async with console.storage.reading() as tx:
        done = [r for r in await rtl_rows(tx, "disdukcapil") if r.element_code == "U3"]
    assert done[0].state.evidence_link == "https://mimikakab.go.id/berita/loket-baru"
    assert done[0].approved_by == "Kepala (contoh)"

    admin = await console.page(chromium, width)
    await console.sign_in(admin, await console.admin_link())
    await admin.get_by_role("link", name="Tindak lanjut").click()
    assert await admin.get_by_text("3 butir RTL").count() == 1
    assert await admin.get_by_text("Selesai", exact=True).count() == 1
