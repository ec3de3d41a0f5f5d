"""The directory editor in Chromium: a valid change saved through the import's own path and
audited, invalid ones refused with the message by the field, and the file import warned."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from bot.app import import_directory
from storage.directory_import import current_directory
from storage.web import audit_entries
from storage.web_directory import directory_edits_since_import
from tests.support.browser import HEAD_CHAT, WIDTHS, Console, no_horizontal_scroll, shoot

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


async def as_admin(console: Console, chromium: Browser, width: int) -> Page:
    page = await console.page(chromium, width)
    await console.sign_in(page, await console.admin_link("Ibu Admin"))
    await page.get_by_role("link", name="Direktori").click()
    return page


async def unit(console: Console, code: str) -> tuple[str, tuple[str, ...], dict[str, int]]:
    async with console.storage.reading() as tx:
        for opd in await current_directory(tx):
            for u in opd.units:
                if u.code == code:
                    return u.name, u.service_types, u.population
    raise AssertionError(code)


@pytest.mark.parametrize("width", WIDTHS)
async def test_an_admin_edits_a_unit_and_a_bad_value_is_named_by_its_field(
    console: Console, chromium: Browser, width: int
) -> None:
    page = await as_admin(console, chromium, width)
    assert await page.get_by_role("heading", name="Direktori layanan").count() == 1
    assert await no_horizontal_scroll(page)
    await shoot(page, "directory")
    await page.get_by_role("link", name="Ubah Loket Disdukcapil MPP").click()
    before = await unit(console, "dukcapil-mpp")

    # Invalid: a one-letter name and a population line without a number.
    await page.get_by_label("Nama", exact=True).fill("X")
    await page.get_by_label("Populasi").fill("2026 banyak")
    await page.get_by_role("button", name="Simpan").click()
    assert await page.locator("#e-population").inner_text() == (
        "Tulis satu periode per baris, misalnya 2026: 24000."
    )
    await page.get_by_label("Populasi").fill("2026: 24.000\n2026-13: 100")
    await page.get_by_role("button", name="Simpan").click()
    assert await page.locator("#e-name").inner_text() == "Terlalu pendek."
    assert await page.locator("#e-population").inner_text() == (
        "Periode harus seperti 2026, 2026-S1, 2026-Q1, atau 2026-03."
    )
    assert await page.get_by_label("Nama", exact=True).input_value() == "X"  # nothing lost
    assert await no_horizontal_scroll(page)
    await shoot(page, "directory-unit-invalid")
    assert await unit(console, "dukcapil-mpp") == before

    # Valid: the import's rules pass, the change is saved and audited with who.
    await page.get_by_label("Nama", exact=True).fill("Loket Disdukcapil Mal Pelayanan Publik")
    await page.get_by_label("Jenis layanan").fill("KTP-el\nKartu Keluarga\nAkta kelahiran\nKIA")
    await page.get_by_label("Populasi").fill("2026: 25.000")
    await page.get_by_role("button", name="Simpan").click()
    assert await page.get_by_text("Perubahan dukcapil-mpp sudah disimpan.").count() == 1
    assert await page.get_by_text("sejak impor berkas terakhir").count() == 1
    assert await unit(console, "dukcapil-mpp") == (
        "Loket Disdukcapil Mal Pelayanan Publik",
        ("KTP-el", "Kartu Keluarga", "Akta kelahiran", "KIA"),
        {"2026": 25000},
    )
    async with console.storage.reading() as tx:
        audit = [(e.action, e.outcome, e.actor_name, e.target) for e in await audit_entries(tx)]
    assert ("directory.unit", "ok", "Ibu Admin", "unit dukcapil-mpp") in audit
    assert ("directory.unit", "rejected", "Ibu Admin", "unit dukcapil-mpp") in audit


async def test_recipients_are_added_with_the_files_rules_and_removed(
    console: Console, chromium: Browser
) -> None:
    page = await as_admin(console, chromium, 390)
    await page.get_by_role("link", name="Ubah OPD").first.click()
    await page.get_by_label("Nama orang").fill("Petugas Baru")
    await page.get_by_label("Alamat di kanal").fill("+62 812 3456")
    await page.get_by_role("button", name="Tambah penerima").click()
    assert await page.locator("#e-new-address").inner_text() == "Format tidak sesuai."
    await shoot(page, "directory-recipient-invalid")
    await page.get_by_label("Alamat di kanal").fill("100000009")
    await page.get_by_role("button", name="Tambah penerima").click()
    assert await page.get_by_text("Petugas Baru · Petugas OPD · Telegram").count() == 1
    # The new officer may ask the bot for a sign-in link at once.
    assert "/masuk/" in await console.login_link(100000009)
    await page.get_by_role("button", name="Hapus Petugas Baru").click()
    assert await page.get_by_text("Petugas Baru · Petugas OPD").count() == 0


async def test_the_file_import_warns_of_web_changes_and_heads_cannot_edit(
    console: Console, chromium: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = await console.page(chromium, 390)
    await console.sign_in(head, await console.login_link(HEAD_CHAT))
    response = await head.goto(console.url("/direktori"))
    assert response is not None and response.status == 403
    assert await head.get_by_role("link", name="Direktori").count() == 0

    page = await as_admin(console, chromium, 1280)
    await page.get_by_role("link", name="Ubah OPD").first.click()
    await page.get_by_label("Nama singkat").first.fill("Dukcapil")
    await page.get_by_role("button", name="Simpan").first.click()
    async with console.storage.reading() as tx:
        assert len(await directory_edits_since_import(tx)) == 1

    source = Path(__file__).resolve().parents[2] / "examples" / "mimika.yaml"
    await import_directory(console.storage, source)
    assert "changed 1 time(s) in the web console" in capsys.readouterr().err
    await import_directory(console.storage, source)  # nothing changed on the web since
    assert "web console" not in capsys.readouterr().err


async def test_new_units_and_opds_follow_the_files_rules(
    console: Console, chromium: Browser
) -> None:
    page = await as_admin(console, chromium, 390)
    await page.get_by_role("link", name="Ubah OPD").first.click()
    # A code another unit has: named by the code field, nothing added.
    await page.locator("#f-unit-code").fill("rsud-igd")
    await page.locator("#f-unit-name").fill("Loket Baru")
    await page.locator("#f-unit-service_types").fill("KTP-el")
    await page.get_by_role("button", name="Tambah unit layanan").click()
    assert await page.locator("#e-unit-code").inner_text() == "Kode ini sudah dipakai."
    await page.locator("#f-unit-code").fill("dukcapil-distrik")
    await page.get_by_role("button", name="Tambah unit layanan").click()
    assert await page.get_by_text("Perubahan dukcapil-distrik sudah disimpan.").count() == 1
    assert (await unit(console, "dukcapil-distrik"))[:2] == ("Loket Baru", ("KTP-el",))

    await page.locator("#f-opd-code").fill("Dinas Baru")
    await page.locator("#f-opd-name").fill("Dinas Pariwisata")
    await page.get_by_role("button", name="Tambah OPD").click()
    assert await page.locator("#e-opd-code").inner_text() == "Format tidak sesuai."
    assert await page.locator("#e-unit_service_types").inner_text() == "Isi paling sedikit satu."
    await shoot(page, "directory-new-opd-invalid")
    await page.locator("#f-opd-code").fill("dispar")
    await page.locator("#f-unit_code").fill("dispar-loket")
    await page.locator("#f-unit_name").fill("Loket Dinas Pariwisata")
    await page.locator("#f-unit_service_types").fill("Izin usaha wisata")
    await page.get_by_role("button", name="Tambah OPD").click()
    assert await page.get_by_text("Perubahan dispar sudah disimpan.").count() == 1
    assert await page.get_by_role("heading", name="Dinas Pariwisata (dispar)").count() == 1
    async with console.storage.reading() as tx:
        audit = [(e.action, e.outcome) for e in await audit_entries(tx)]
    assert ("directory.new_opd", "ok") in audit and ("directory.new_unit", "rejected") in audit
