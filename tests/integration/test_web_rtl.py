"""The follow-up plan in the console (issue 17 item 2), without a browser: an item from its
proposal to done through the forms, messages by the field, who may do what, the audit; and
its evidence files: uploaded, served with safe headers, refused when not a photo or a PDF,
removed before the item closes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest_asyncio
import sqlalchemy as sa
from aiohttp import ClientResponse, FormData, web
from aiohttp.test_utils import TestClient, TestServer

from handlers.web import ConsoleConfig, build_console
from handlers.web.core import CSRF_FIELD, SESSION_COOKIE
from storage import Storage
from storage.directory import add_recipient
from storage.rtl import propose, rtl_rows
from storage.web import audit_entries, ensure_admin, start_session
from survey_flows.rtl import Proposal
from survey_flows.web_access import csrf_token, new_token, sign, token_digest
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.evidence_files import HTML, JPEG, PDF, SVG, png

Client = TestClient[web.Request, web.Application]
NOW = [T0]
CONFIG = ConsoleConfig(secret=b"s" * 32, clock=lambda: NOW[0], idle=timedelta(days=90))


@dataclass
class People:
    """One client; each request carries the session cookie of the person named."""

    storage: Storage
    client: Client
    tokens: dict[str, str]
    item: int

    def cookies(self, who: str) -> dict[str, str]:
        return {SESSION_COOKIE: sign(CONFIG.secret, self.tokens[who])}

    async def get(self, who: str, path: str) -> tuple[int, str]:
        response = await self.client.get(f"/konsol{path}", cookies=self.cookies(who))
        return response.status, await response.text()

    async def post(
        self, who: str, form: dict[str, str], files: tuple[tuple[str, bytes], ...] = (),
        *, csrf: bool = True,
    ) -> tuple[int, str]:  # fmt: skip
        """The item's form; with ``files``, as the browser sends a form with a file input
        (multipart/form-data, the given content type a lie the console must not trust)."""
        data = FormData({**form, **({CSRF_FIELD: self.csrf(who)} if csrf else {})})
        for name, body in files:
            data.add_field("evidence_file", body, filename=name, content_type="image/png")
        if not files and form.get("op") in {"progress", "evidence"}:
            data.add_field(
                "evidence_file", b"", filename="", content_type="application/octet-stream"
            )
        response = await self.client.post(
            f"/konsol/opd/disdukcapil/rtl/{self.item}", data=data,
            cookies=self.cookies(who), allow_redirects=False)  # fmt: skip
        return response.status, await response.text()

    def csrf(self, who: str) -> str:
        return csrf_token(CONFIG.secret, token_digest(self.tokens[who]))

    async def file(self, who: str, path: str) -> ClientResponse:
        """An evidence file's response (its headers and bytes, read)."""
        response = await self.client.get(f"/konsol{path}", cookies=self.cookies(who))
        await response.read()
        return response

    async def evidence_links(self, who: str) -> list[str]:
        _, page = await self.get(who, f"/opd/disdukcapil/rtl/{self.item}")
        return sorted(set(re.findall(r'href="/konsol(/opd/[a-z]+/rtl/[0-9]+/bukti/[0-9]+)"', page)))


@pytest_asyncio.fixture
async def people(sqlite_storage: Storage) -> AsyncIterator[People]:
    """The head and an officer of Disdukcapil, RSUD's head, an admin; one proposed item."""
    async for found in _people(sqlite_storage, CONFIG):
        yield found


async def _people(storage: Storage, config: ConsoleConfig) -> AsyncIterator[People]:
    NOW[0] = T0
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        await add_recipient(
            tx,
            opd_code="disdukcapil",
            role="officer",
            channel="telegram",
            address="100000002",
            name="Petugas Dukcapil",
            language="id",
        )
        await add_recipient(tx, opd_code="rsud", role="head", channel="telegram",
                            address="100000003", name="Direktur RSUD", language="id")  # fmt: skip
        await propose(tx, "2026-Q3", [Proposal("dukcapil-mpp", "U3", "2,61")], T0)
        admin, _ = await ensure_admin(tx, "Admin Organisasi", T0)
        ids = dict((await tx.session.execute(sa.text("SELECT address, id FROM recipients"))).all())
        tokens: dict[str, str] = {}
        for who, kind, ident in (("head", "recipient", ids["100000001"]),
                                 ("officer", "recipient", ids["100000002"]),
                                 ("rsud", "recipient", ids["100000003"]),
                                 ("admin", "admin", admin)):  # fmt: skip
            tokens[who] = new_token()
            await start_session(tx, token_digest(tokens[who]), kind, ident, T0)
        (row,) = await rtl_rows(tx)
    app = web.Application()  # aiohttp's default body limit, 1 MiB, as in console mode
    app.add_subapp(config.prefix, build_console(storage, config))
    async with TestClient(TestServer(app)) as client:
        yield People(storage, client, tokens, row.id)


PLAN = {"op": "plan", "action": "Tambah dua loket dan papan antrean", "responsible": "Budi, Kasi",
        "due_date": "2026-12-31"}  # fmt: skip


async def test_an_item_goes_from_proposal_to_done_with_messages_by_the_field(
    people: People,
) -> None:
    item = f"/opd/disdukcapil/rtl/{people.item}"
    status, page = await people.get("officer", "/opd/disdukcapil/rtl")
    assert status == 200 and "Waktu Penyelesaian" in page and "Belum ada rencana" in page
    status, page = await people.post("officer", {"op": "plan", "action": "",
                                                 "due_date": "31/12/2026"})  # fmt: skip
    assert status == 400
    assert "Tuliskan tindakannya." in page and "Tuliskan penanggung jawabnya." in page
    assert "Tulis tanggal dengan format TTTT-BB-HH" in page
    assert (await people.post("officer", PLAN))[0] == 303
    status, page = await people.post("officer", {"op": "approve"})
    assert status == 409 and "Hanya kepala OPD yang dapat menyetujui" in page
    status, page = await people.post("head", {"op": "progress", "status": "berjalan"})
    assert status == 409 and "harus disetujui kepala OPD" in page
    assert (await people.post("head", {"op": "approve"}))[0] == 303
    status, page = await people.get("officer", item)
    assert "Disetujui oleh Kepala (contoh)" in page and "Budi, Kasi" in page
    assert (await people.post("officer", {"op": "progress", "status": "berjalan"}))[0] == 303
    status, page = await people.post("officer", {"op": "progress", "status": "selesai",
                                                 "evidence_link": "bukan tautan"})  # fmt: skip
    assert status == 400 and "diawali http:// atau https://" in page
    assert 'value="bukan tautan"' in page  # nothing typed is lost
    done = {"op": "progress", "status": "selesai",
            "evidence_link": "https://mimikakab.go.id/berita/loket-baru"}  # fmt: skip
    assert (await people.post("officer", done))[0] == 303
    status, page = await people.get("head", item)
    assert "Selesai" in page and "https://mimikakab.go.id/berita/loket-baru" in page
    assert "Anda hanya dapat membaca RTL ini." in page  # closed: no form left
    async with people.storage.reading() as tx:
        audit = [(e.action, e.outcome, e.detail) for e in await audit_entries(tx)]
    changes = [a for a in audit if a[0] == "rtl.change" and a[1] == "ok"]
    assert [d for _, _, d in reversed(changes)] == [
        "plan", "approve", "status: direncanakan->berjalan",
        "status: berjalan->selesai"]  # fmt: skip
    assert sum(1 for a in audit if a[0] == "rtl.change" and a[1] == "rejected") == 4


async def test_another_opd_and_the_admin_may_read_but_not_change(people: People) -> None:
    item = f"/opd/disdukcapil/rtl/{people.item}"
    assert (await people.get("rsud", item))[0] == 403
    assert (await people.get("rsud", f"/opd/rsud/rtl/{people.item}"))[0] == 404
    assert (await people.get("rsud", "/rtl"))[0] == 403
    status, page = await people.get("admin", "/rtl")
    assert status == 200 and "Loket Disdukcapil MPP" in page and "Dinas Kependudukan" in page
    status, page = await people.get("admin", item)
    assert status == 200 and "Anda hanya dapat membaca RTL ini." in page
    assert (await people.post("admin", PLAN))[0] == 403
    assert (await people.post("rsud", PLAN))[0] == 403


async def test_an_item_past_its_due_date_is_flagged(people: People) -> None:
    await people.post("officer", PLAN)
    _, page = await people.get("officer", "/opd/disdukcapil/rtl")
    assert "Lewat tenggat" not in page
    NOW[0] = T0 + timedelta(days=40)  # 4 January 2027
    _, page = await people.get("officer", "/opd/disdukcapil/rtl")
    assert "Lewat tenggat" in page


# --- evidence files -----------------------------------------------------------------------------


async def approved_item(people: People) -> None:
    assert (await people.post("officer", PLAN))[0] == 303
    assert (await people.post("head", {"op": "approve"}))[0] == 303


async def test_a_photo_alone_closes_an_item_and_is_served_as_an_image_never_a_page(
    people: People,
) -> None:
    await approved_item(people)
    photo = png()
    status, _ = await people.post("officer", {"op": "progress", "status": "selesai"},
                                  (("Loket_Baru.png", photo),))  # fmt: skip
    assert status == 303, "a file is evidence enough for Selesai"
    [link] = await people.evidence_links("head")
    _, page = await people.get("head", f"/opd/disdukcapil/rtl/{people.item}")
    assert f'<img class="photo" src="/konsol{link}"' in page and "Loket_Baru.png" in page
    assert "Hapus berkas" not in page, "closed: the files stay as they are"
    for who in ("officer", "admin"):
        response = await people.file(who, link)
        assert response.status == 200 and await response.read() == photo
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response.headers["Content-Disposition"] == 'inline; filename="Loket_Baru.png"'
        assert response.headers["Cache-Control"] == "no-store"
    async with people.storage.reading() as tx:
        audit = [(e.action, e.target, e.detail) for e in await audit_entries(tx)]
    [closed] = [d for a, _, d in audit if a == "rtl.change" and "selesai" in (d or "")]
    assert re.fullmatch(r"status: direncanakan->selesai; evidence \+[0-9]+ image/png [0-9]+ B",
                        closed)  # fmt: skip
    served = [t for a, t, _ in audit if a == "rtl.evidence"]
    assert len(served) == 2 and all(t.startswith(f"rtl:{people.item}:bukti:") for t in served)
    # The closed item refuses new files and removals.
    status, page = await people.post("officer", {"op": "evidence"}, (("b.pdf", PDF),))
    assert status == 409 and "berkas buktinya tidak dapat diubah lagi" in page
    evidence = link.rsplit("/", 1)[1]
    status, _ = await people.post("officer", {"op": "evidence_remove", "evidence": evidence})
    assert status == 409 and (await people.file("officer", link)).status == 200


async def test_a_pdf_is_a_download_and_a_wrong_upload_can_be_removed(people: People) -> None:
    await approved_item(people)
    status, _ = await people.post("officer", {"op": "evidence"},
                                  (("surat-tugas.pdf", PDF), ("loket.jpg", JPEG)))  # fmt: skip
    assert status == 303
    pdf, jpeg = await people.evidence_links("officer")
    response = await people.file("head", pdf)
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="surat-tugas.pdf"'
    _, page = await people.get("officer", f"/opd/disdukcapil/rtl/{people.item}")
    assert (
        page.count('value="evidence_remove"') == 2
        and "Belum" not in page.split('id="bukti"')[1][:200]
    )
    removed = jpeg.rsplit("/", 1)[1]
    status, _ = await people.post("head", {"op": "evidence_remove", "evidence": removed})
    assert status == 303 and (await people.file("officer", jpeg)).status == 404
    status, _ = await people.post("head", {"op": "evidence_remove", "evidence": removed})
    assert status == 404, "already gone"
    status, _ = await people.post("officer", {"op": "evidence"})
    assert status == 400
    async with people.storage.reading() as tx:
        details = [e.detail or "" for e in await audit_entries(tx) if e.action == "rtl.change"]
    assert f"evidence -{removed}" in details
    assert sum(d.count("evidence +") for d in details) == 2


async def test_anything_but_a_photo_or_a_pdf_is_refused_by_its_bytes(people: People) -> None:
    await approved_item(people)
    for name, body in (("foto.png", SVG), ("foto.jpg", HTML), ("gambar.svg", SVG)):
        status, page = await people.post("officer", {"op": "evidence"}, ((name, body),))
        assert status == 400 and "Hanya foto (JPEG, PNG, WebP) atau dokumen PDF" in page
    status, page = await people.post("officer", {"op": "progress", "status": "selesai",
                                                 "evidence_note": "Loket 5 dibuka"},
                                     (("kosong.jpg", b""),))  # fmt: skip
    assert status == 400 and "Berkas ini kosong." in page
    assert 'value="selesai" selected' in page and "Loket 5 dibuka" in page, "nothing lost"
    assert await people.evidence_links("officer") == []
    _, page = await people.get("officer", f"/opd/disdukcapil/rtl/{people.item}")
    assert "Berjalan" not in page.split("<h1>")[1].split("</h1>")[0], "the status did not move"


async def test_files_within_the_size_and_number_and_a_body_over_it_refused(
    sqlite_storage: Storage,
) -> None:
    small = replace(CONFIG, evidence_max_bytes=64 * 1024, evidence_max_files=2)
    async for people in _people(sqlite_storage, small):
        await approved_item(people)
        big = JPEG + b"\x00" * (64 * 1024)
        status, page = await people.post("officer", {"op": "evidence"}, (("besar.jpg", big),))
        assert status == 400 and "Berkas terlalu besar: paling besar 0.0625 MB" in page
        two = (("a.jpg", JPEG), ("b.pdf", PDF))
        assert (await people.post("officer", {"op": "evidence"}, two))[0] == 303
        status, page = await people.post("officer", {"op": "evidence"}, (("c.png", png()),))
        assert status == 400 and "Paling banyak 2 berkas bukti per butir RTL." in page
        # Over the whole body's limit (2 files and the form): refused before it is read.
        status, page = await people.post("officer", {"op": "evidence"},
                                         (("huge.jpg", JPEG + b"\x00" * 600_000),))  # fmt: skip
        assert status == 413 and "Kiriman terlalu besar" in page
        assert len(await people.evidence_links("officer")) == 2
    default = replace(CONFIG, evidence_max_files=1)
    assert default.upload_body_max > 5 * 1024 * 1024 > 1024 * 1024, "beyond aiohttp's 1 MiB"


async def test_evidence_is_refused_without_the_form_token_and_to_another_opd(
    people: People,
) -> None:
    await approved_item(people)
    status, page = await people.post("officer", {"op": "evidence"}, (("a.jpg", JPEG),),
                                     csrf=False)  # fmt: skip
    assert status == 403 and "Formulir tidak sah" in page
    assert await people.evidence_links("officer") == []
    assert (await people.post("officer", {"op": "evidence"}, (("a.jpg", JPEG),)))[0] == 303
    [link] = await people.evidence_links("officer")
    evidence = link.rsplit("/", 1)[1]
    assert (await people.file("rsud", link)).status == 403, "another OPD's head"
    assert (
        await people.file("rsud", f"/opd/rsud/rtl/{people.item}/bukti/{evidence}")
    ).status == 404
    assert (await people.file("officer", link.replace(f"/{evidence}", "/999999"))).status == 404
    other = link.replace(f"/rtl/{people.item}/", f"/rtl/{people.item + 1}/")
    assert (await people.file("officer", other)).status == 404, "not that item's file"
    anonymous = await people.client.get(f"/konsol{link}")
    assert anonymous.status == 401 and "image" not in anonymous.headers["Content-Type"]
    assert (await people.post("admin", {"op": "evidence"}, (("b.pdf", PDF),)))[0] == 403
    assert (await people.post("rsud", {"op": "evidence"}, (("b.pdf", PDF),)))[0] == 403
