"""The follow-up plan in the console (issue 17 item 2), without a browser: an item from its
proposal to done through the forms, messages by the field, who may do what, the audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest_asyncio
import sqlalchemy as sa
from aiohttp import web
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

    async def post(self, who: str, form: dict[str, str]) -> tuple[int, str]:
        csrf = csrf_token(CONFIG.secret, token_digest(self.tokens[who]))
        response = await self.client.post(
            f"/konsol/opd/disdukcapil/rtl/{self.item}", data={**form, CSRF_FIELD: csrf},
            cookies=self.cookies(who), allow_redirects=False)  # fmt: skip
        return response.status, await response.text()


@pytest_asyncio.fixture
async def people(sqlite_storage: Storage) -> AsyncIterator[People]:
    """The head and an officer of Disdukcapil, RSUD's head, an admin; one proposed item."""
    NOW[0] = T0
    storage = sqlite_storage
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
    app = web.Application()
    app.add_subapp(CONFIG.prefix, build_console(storage, CONFIG))
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
