"""The RTL cycle reaches what is published: a unit's finished follow-ups on its public page
("you said, we did"), and the period's RTL items in the full Laporan SKM's RTL table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest_asyncio
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from handlers.web import build_console
from handlers.web.core import SESSION_COOKIE
from storage import Storage, db
from storage.rtl import add_evidence, apply_change, overdue_by_opd, propose, rtl_rows
from storage.web import start_session
from survey_flows.rtl import EvidenceLimits, Proposal, RtlStatus, Upload, attach, step
from survey_flows.web_access import new_token, sign, token_digest
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.evidence_files import png
from tests.support.full_report import pages_text
from tests.support.full_report import settings as full_report_settings  # noqa: F401 (fixture)
from tests.support.report_commands import run
from tests.support.rtl import DONE_ACTION, EVIDENCE, RESPONSIBLE, all_rtl_rows, follow_up
from tests.support.web_pages import CONFIG as PAGES_CONFIG
from tests.support.web_public import CONFIG, Client, add_responses

PLANNED_ACTION = "Perbaiki papan informasi antrean"


@pytest_asyncio.fixture
async def client(
    sqlite_storage: Storage,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    await load_small_directory(sqlite_storage)
    await add_responses(sqlite_storage)
    await follow_up(sqlite_storage, "2026-Q3", "dukcapil-mpp", "U3", action=DONE_ACTION,
                    done=True)  # fmt: skip
    await follow_up(sqlite_storage, "2026-Q3", "dukcapil-mpp", "U5", action=PLANNED_ACTION,
                    done=False)  # fmt: skip
    # A photo of the done item: it may show people, so it is never published.
    [done] = [r for r in await all_rtl_rows(sqlite_storage) if r.element_code == "U3"]
    photo, _ = attach(replace(done.state, status=RtlStatus.BERJALAN), "officer",
                      [Upload("antrean-warga.png", png())], [], EvidenceLimits())  # fmt: skip
    async with sqlite_storage.transaction() as tx:
        await add_evidence(tx, done.id, photo, "Petugas", T0)
    app = web.Application()
    app.add_subapp(CONFIG.prefix, build_console(sqlite_storage, CONFIG))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_the_public_unit_page_shows_finished_follow_ups_only_and_no_names(
    client: Client,
) -> None:
    response = await client.get(f"{CONFIG.prefix}/hasil/unit/dukcapil-mpp")
    assert response.status == 200
    page = await response.text()
    assert "Masukan Bapak/Ibu, tindak lanjut kami" in page
    assert DONE_ACTION in page and EVIDENCE in page
    assert PLANNED_ACTION not in page, "only finished items are published"
    assert "Budi Santoso" not in page and "Kepala (contoh)" not in page, "no staff names"
    assert "antrean-warga" not in page and "/bukti/" not in page, "no uploaded file"
    other = await (await client.get(f"{CONFIG.prefix}/hasil/unit/rsud-igd")).text()
    assert "tindak lanjut kami" not in other and DONE_ACTION not in other


async def test_the_full_report_lists_the_periods_rtl_items(
    full_report_settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    storage = Storage(db.create_engine(full_report_settings.database_url))
    try:
        await follow_up(storage, "2026-Q1", "dukcapil-mpp", "U3", action=DONE_ACTION, done=True)
        await follow_up(storage, "2026-Q2", "dukcapil-mpp", "U5", action=PLANNED_ACTION,
                        done=False)  # fmt: skip
    finally:
        await storage.dispose()
    path = tmp_path / "full.pdf"
    args = ["report", "--period", "2026-Q1", "--format", "pdf", "--full", "--output", str(path)]
    assert await run(args, full_report_settings) == 0
    whole = "\n".join(pages_text(path))
    assert DONE_ACTION in whole and "selesai" in whole
    assert PLANNED_ACTION not in whole, "another quarter's item belongs to its own report"
    assert "Belum ada rencana tindak lanjut" not in whole


async def test_the_opd_overview_flags_overdue_follow_ups(sqlite_storage: Storage) -> None:
    """An item past its due date and not closed is flagged on the OPD's overview, with a link
    to its RTL list; an OPD without one shows no flag."""
    await load_small_directory(sqlite_storage)
    async with sqlite_storage.transaction() as tx:
        await propose(tx, "2026-Q3", [Proposal("dukcapil-mpp", "U3", None)], T0)
        [row] = await rtl_rows(tx)
        planned_on = date(2026, 10, 1)  # due 20 November: overdue on the console's 25 November
        form = {"op": "plan", "action": PLANNED_ACTION, "responsible": RESPONSIBLE,
                "due_date": "2026-11-20"}  # fmt: skip
        change, errors = step(row.state, "officer", form, planned_on)
        assert change is not None, errors
        await apply_change(tx, row.id, change, "Petugas", T0 - timedelta(days=50))
        head_id = (await tx.session.execute(sa.text("SELECT id FROM recipients"))).scalar_one()
        token = new_token()
        await start_session(tx, token_digest(token), "recipient", head_id, T0)
    app = web.Application()
    app.add_subapp(PAGES_CONFIG.prefix, build_console(sqlite_storage, PAGES_CONFIG))
    async with TestClient(TestServer(app)) as head:
        head.session.cookie_jar.update_cookies({SESSION_COOKIE: sign(PAGES_CONFIG.secret, token)})
        page = await (await head.get(f"{PAGES_CONFIG.prefix}/opd/disdukcapil")).text()
        assert "RTL lewat tenggat: 1 butir" in page
        assert f"{PAGES_CONFIG.prefix}/opd/disdukcapil/rtl" in page
    async with sqlite_storage.reading() as tx:
        assert await overdue_by_opd(tx, date(2026, 11, 25)) == {"disdukcapil": 1}
        assert await overdue_by_opd(tx, date(2026, 11, 20)) == {}  # due that day: not yet late
