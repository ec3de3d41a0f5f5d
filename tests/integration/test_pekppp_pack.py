"""``skm-bot pekppp pack``: one ZIP per OPD with the year's reports, the publication dates,
the RTL with its evidence, the complaint recap (equal to ``complaints export``'s) and a README;
and the first publication of a quarter, recorded once."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.cli import _dispatch, build_parser
from bot.settings import Settings
from handlers.web import build_console, public
from handlers.web.core import SESSION_COOKIE
from reports.period import latest_complete_quarter
from storage import Storage, db
from storage.models import Base
from storage.publications import first_published, record_publication
from storage.rtl import add_evidence, rtl_rows
from storage.web import ensure_admin, start_session
from survey_flows.rtl import EvidenceLimits, RtlStatus, Upload, attach
from survey_flows.web_access import new_token, sign, token_digest
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.evidence_files import PDF, png
from tests.support.full_report import pages_text
from tests.support.full_report import settings as full_report_settings  # noqa: F401 (fixture)
from tests.support.rtl import DONE_ACTION, EVIDENCE, RESPONSIBLE, follow_up
from tests.support.web_public import CONFIG, add_responses

# In two 2026-Q1 suggestions of the fixture (tests/integration/test_full_report.py).
PHONE = "081234567890"


async def run(argv: list[str], configured: Settings) -> int:
    """The whole ``skm-bot`` command line, in this process."""
    return await _dispatch(build_parser().parse_args(argv), configured)


def members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


async def test_the_pack_holds_each_opds_evidence(
    full_report_settings: Settings,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    storage = Storage(db.create_engine(full_report_settings.database_url))
    try:
        await follow_up(storage, "2026-Q1", "dukcapil-mpp", "U3", action=DONE_ACTION, done=True)
        async with storage.transaction() as tx:
            [item] = await rtl_rows(tx, "disdukcapil")
            photo, pdf = png(), PDF
            files, _ = attach(replace(item.state, status=RtlStatus.BERJALAN), "officer",
                              [Upload("loket baru.png", photo), Upload("sk.pdf", pdf)], [],
                              EvidenceLimits())  # fmt: skip
            ids = await add_evidence(tx, item.id, files, "Petugas", T0)
        directory = await storage.directory()
    finally:
        await storage.dispose()
    public = {"public_base_url": "https://skm.mimikakab.go.id"}
    configured = full_report_settings.model_copy(update=public)
    output = tmp_path / "pack"
    assert await run(["pekppp", "pack", "--year", "2026", "--output", str(output)],
                     configured) == 0  # fmt: skip
    written = capsys.readouterr().out.split()
    opds = [opd.code for opd in directory.opds]
    assert sorted(Path(p).name for p in written) == sorted(f"pekppp-2026-{c}.zip" for c in opds)

    with zipfile.ZipFile(output / "pekppp-2026-disdukcapil.zip") as archive:
        files = members(archive)
    periods = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026")
    reports = [f"skm-report-{p}-disdukcapil.{fmt}" for p in periods for fmt in ("pdf", "xlsx")]
    evidence = [f"bukti-rtl/2026-Q1_dukcapil-mpp_U3_{ids[0]}_loket-baru.png",
                f"bukti-rtl/2026-Q1_dukcapil-mpp_U3_{ids[1]}_sk.pdf"]  # fmt: skip
    expected = {"README.txt", *reports, "laporan-skm-2026-disdukcapil.pdf", "publikasi.csv",
                "rtl.csv", "rekap-pengaduan-2026.csv", "rekap-pengaduan-2026.xlsx",
                *evidence}  # fmt: skip
    assert set(files) == expected
    assert (files[evidence[0]], files[evidence[1]]) == (photo, pdf), "the files as uploaded"
    readme = files["README.txt"].decode("utf-8")
    for aspect in ("Aspek hasil Survei Kepuasan Masyarakat", "Aspek tindak lanjut hasil SKM",
                   "Aspek pengelolaan pengaduan"):  # fmt: skip
        assert aspect in readme
    assert all(name in readme for name in expected - {"README.txt"})

    # The public page of each unit, and no publication recorded yet.
    publications = csv_rows(files["publikasi.csv"])
    mpp = [r for r in publications if r["unit"] == "dukcapil-mpp"]
    assert [r["periode"] for r in mpp] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026"]
    page = "https://skm.mimikakab.go.id/konsol/hasil/unit/dukcapil-mpp"
    assert {r["halaman_publik"] for r in mpp} == {page}
    assert {r["pertama_dipublikasikan"] for r in mpp} == {"belum tercatat"}

    # The RTL item with its evidence and its done date.
    [item] = csv_rows(files["rtl.csv"])
    assert (item["unit"], item["unsur"], item["rencana_tindakan"]) == (
        "dukcapil-mpp", "U3", DONE_ACTION)  # fmt: skip
    assert item["penanggung_jawab"] == RESPONSIBLE and item["bukti_tautan"] == EVIDENCE
    assert item["status"] == "selesai" and item["tanggal_selesai"].startswith("2026-")
    assert item["bukti_berkas"] == "; ".join(evidence)

    # The recap equals `skm-bot complaints export`'s for the same year and OPD.
    exported = tmp_path / "export.csv"
    argv = ["complaints", "export", "--period", "2026", "--opd", "disdukcapil", "--format", "csv",
            "--output", str(exported)]  # fmt: skip
    assert await run(argv, full_report_settings) == 0
    recap = csv_rows(files["rekap-pengaduan-2026.csv"])
    assert recap == csv_rows(exported.read_bytes())
    assert recap[0]["received"] == "1"

    # Suggestions with a phone number are masked in every file.
    for name, data in files.items():
        if name.startswith("bukti-rtl/"):
            continue  # the officers' own files, as uploaded
        if name.endswith(".pdf"):
            (tmp_path / name).write_bytes(data)
            assert PHONE not in "\n".join(pages_text(tmp_path / name)), name
        elif name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                assert not any(PHONE.encode() in book.read(n) for n in book.namelist()), name
        else:
            assert PHONE.encode() not in data, name

    # Another OPD's pack holds none of the Disdukcapil RTL.
    other = next(c for c in opds if c != "disdukcapil")
    with zipfile.ZipFile(output / f"pekppp-2026-{other}.zip") as archive:
        assert csv_rows(archive.read("rtl.csv")) == []
        assert not any(n.startswith("bukti-rtl/") for n in archive.namelist())
        assert "Belum ada berkas yang diunggah." in archive.read("README.txt").decode()


async def test_unknown_opd_is_refused(
    full_report_settings: Settings,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pekppp", "pack", "--year", "2026", "--opd", "nope", "--output", str(tmp_path)]
    assert await run(argv, full_report_settings) == 2
    assert "unknown OPD code(s): nope" in capsys.readouterr().err
    assert list(tmp_path.glob("*.zip")) == []
    (tmp_path / "a-file").write_text("x")
    argv = ["pekppp", "pack", "--year", "2026", "--output", str(tmp_path / "a-file")]
    assert await run(argv, full_report_settings) == 1
    assert "cannot write to" in capsys.readouterr().err
    assert await run(["pekppp", "pack", "--year", "26"], full_report_settings) == 2
    assert "a year such as 2026" in capsys.readouterr().err


async def test_a_quarter_s_first_publication_is_recorded_once(sqlite_storage: Storage) -> None:
    await load_small_directory(sqlite_storage)
    await add_responses(sqlite_storage)
    first = datetime(2026, 10, 5, 1, tzinfo=UTC)
    for clock_at in (first, datetime(2026, 11, 9, 1, tzinfo=UTC)):
        config = replace(CONFIG, clock=lambda at=clock_at: at)
        app = web.Application()
        app.add_subapp(config.prefix, build_console(sqlite_storage, config))
        async with TestClient(TestServer(app)) as client:
            for path in ("/hasil/unit/dukcapil-mpp", "/hasil"):
                response = await client.get(f"{config.prefix}{path}")
                assert response.status == 200
        public._recorded.clear()  # as another process would: the row itself keeps the date
    async with sqlite_storage.reading() as tx:
        recorded = await first_published(tx)
    assert recorded == {"2026-Q3": first}, "the second view keeps the first date"


async def test_recording_keeps_the_first_date_on_both_databases(storage: Storage) -> None:
    first, later = datetime(2026, 10, 5, 1, tzinfo=UTC), datetime(2026, 10, 6, 1, tzinfo=UTC)
    for at in (first, later):
        async with storage.transaction() as tx:
            await record_publication(tx, "2026-Q3", at)
    async with storage.transaction() as tx:
        await record_publication(tx, "2026", later)
    async with storage.reading() as tx:
        assert await first_published(tx) == {"2026-Q3": first, "2026": later}


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if "publications" in repr(d)]


async def test_the_migration_makes_the_models_table(storage: Storage) -> None:
    async with storage.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_a_printed_poster_publishes_its_quarter_in_the_pack(
    full_report_settings: Settings,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configured = full_report_settings.model_copy(update={"telegram_bot_username": "SkmBot"})
    links = ["poster", "--unit", "dukcapil-mpp", "--links", "--as-of", "2026-04-15"]
    assert await run(links, configured) == 0
    storage = Storage(db.create_engine(configured.database_url))
    try:
        async with storage.reading() as tx:
            assert await first_published(tx) == {}, "listing links publishes nothing"
    finally:
        await storage.dispose()
    printed = ["poster", "--unit", "dukcapil-mpp", "--output", str(tmp_path / "posters"),
               "--as-of", "2026-04-15"]  # fmt: skip
    assert await run(printed, configured) == 0
    today = datetime.now(UTC).astimezone(configured.zone).date().isoformat()
    pack = ["pekppp", "pack", "--year", "2026", "--opd", "disdukcapil", "--output", str(tmp_path)]
    assert await run(pack, configured) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(tmp_path / "pekppp-2026-disdukcapil.zip")
    with zipfile.ZipFile(tmp_path / "pekppp-2026-disdukcapil.zip") as archive:
        rows = csv_rows(archive.read("publikasi.csv"))
        names = archive.namelist()
    dates = {(r["unit"], r["periode"]): r["pertama_dipublikasikan"] for r in rows}
    assert dates[("dukcapil-mpp", "2026-Q1")] == today
    assert dates[("dukcapil-kantor", "2026-Q1")] == today, "a period is published regency-wide"
    assert dates[("dukcapil-mpp", "2026-Q2")] == "belum tercatat"
    assert {r["halaman_publik"] for r in rows} == {"belum dikonfigurasi (PUBLIC_BASE_URL)"}
    assert not any("rsud" in name for name in names)


async def test_the_consoles_poster_download_publishes_its_quarter(sqlite_storage: Storage) -> None:
    await load_small_directory(sqlite_storage)
    async with sqlite_storage.transaction() as tx:
        admin, _ = await ensure_admin(tx, "Admin Organisasi", T0)
        token = new_token()
        await start_session(tx, token_digest(token), "admin", admin, T0)
    config = replace(CONFIG, telegram_bot_username="SkmBot")
    app = web.Application()
    app.add_subapp(config.prefix, build_console(sqlite_storage, config))
    async with TestClient(TestServer(app)) as client:
        cookies = {SESSION_COOKIE: sign(config.secret, token)}
        response = await client.get(f"{config.prefix}/unduh/poster/dukcapil-mpp", cookies=cookies)
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/pdf"
    public._recorded.clear()
    async with sqlite_storage.reading() as tx:
        recorded = await first_published(tx)
    quarter = latest_complete_quarter(T0.astimezone(config.zone).date())
    assert recorded == {quarter.label: T0}


async def test_the_console_downloads_an_opds_pack_within_its_scope(
    sqlite_storage: Storage,
) -> None:
    await load_small_directory(sqlite_storage)
    async with sqlite_storage.transaction() as tx:
        admin, _ = await ensure_admin(tx, "Admin Organisasi", T0)
        found = sa.text("SELECT id FROM recipients WHERE address = '100000001'")
        head = (await tx.session.execute(found)).scalar_one()
        tokens = {"admin": new_token(), "head": new_token()}
        await start_session(tx, token_digest(tokens["admin"]), "admin", admin, T0)
        await start_session(tx, token_digest(tokens["head"]), "recipient", head, T0)
    app = web.Application()
    app.add_subapp(CONFIG.prefix, build_console(sqlite_storage, CONFIG))
    year = T0.astimezone(CONFIG.zone).year
    async with TestClient(TestServer(app)) as client:

        async def get(who: str, path: str) -> tuple[int, bytes]:
            cookies = {SESSION_COOKIE: sign(CONFIG.secret, tokens[who])}
            response = await client.get(f"{CONFIG.prefix}{path}", cookies=cookies)
            return response.status, await response.read()

        status, page = await get("head", "/unduh")
        assert status == 200 and f"/unduh/pekppp/disdukcapil?tahun={year}".encode() in page
        assert b"/unduh/pekppp/rsud" not in page, "a head sees their OPD's pack only"
        title = page.split(b"</title>")[0]
        assert b"pekppp" not in title.lower(), "the pack's links are in the page, not its title"
        status, body = await get("head", f"/unduh/pekppp/disdukcapil?tahun={year}")
        assert status == 200
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = archive.namelist()
        assert "README.txt" in names and f"laporan-skm-{year}-disdukcapil.pdf" in names
        assert (await get("head", f"/unduh/pekppp/rsud?tahun={year}"))[0] == 403
        assert (await get("admin", f"/unduh/pekppp/rsud?tahun={year}"))[0] == 200
        for bad in (f"/unduh/pekppp/nope?tahun={year}", "/unduh/pekppp/rsud?tahun=1999",
                    "/unduh/pekppp/rsud?tahun=x"):  # fmt: skip
            assert (await get("admin", bad))[0] == 404, bad
