"""The follow-up plan (issue 17 item 2): the pure rules, the storage on both databases, and
the proposals of a quarter's weakest elements (the job claims them once)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from bot.digests import opd_digest
from bot.rtl import propose_for, rtl_proposal_job
from handlers.web.rtl import queue_news
from handlers.whatsapp.sender import followup_template_message
from reports.build import build_report
from reports.model import ReportRequest
from reports.period import parse_period
from storage import Storage
from storage.models import Base, Contact, OutboxMessage
from storage.privacy import erase_followups
from storage.rtl import (
    add_evidence,
    apply_change,
    done_items,
    evidence_data,
    evidence_rows,
    followup_readers,
    opt_in,
    overdue_count,
    propose,
    remove_evidence,
    rtl_row,
    rtl_rows,
)
from survey_flows.rtl import (
    EvidenceLimits,
    Proposal,
    RtlState,
    RtlStatus,
    Upload,
    approve,
    attach,
    detach,
    evidence_type,
    is_overdue,
    plan,
    progress,
    proposals,
    safe_name,
    step,
)
from tests.support.cli import run_cli
from tests.support.digests import DUE, SETTINGS, WEEK_48, WIT, seed
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.evidence_files import HTML, JPEG, PDF, SVG, WEBP, png

TODAY = date(2027, 1, 10)
PLAN = {"op": "plan", "action": "Tambah dua loket antrean", "responsible": "Budi (Kasi)",
        "due_date": "2027-03-31"}  # fmt: skip
NEW = RtlState(RtlStatus.DIRENCANAKAN)


def planned() -> RtlState:
    change, errors = plan(NEW, "officer", PLAN, TODAY)
    assert change is not None and not errors
    return change.after


def approved() -> RtlState:
    change, _ = approve(planned(), "head")
    assert change is not None
    return change.after


# --- the pure rules ---------------------------------------------------------------------------


def test_a_plan_needs_its_three_fields_each_named_when_wrong() -> None:
    change, errors = plan(NEW, "officer", {"action": " ", "due_date": "31-03-2027"}, TODAY)
    assert change is None
    assert errors == {"action": "web.rtl.error.action_empty",
                      "responsible": "web.rtl.error.responsible_empty",
                      "due_date": "web.rtl.error.due_date"}  # fmt: skip
    _, errors = plan(NEW, "head", {**PLAN, "due_date": "2026-12-31", "action": "x" * 1001}, TODAY)
    assert errors == {"action": "web.rtl.error.action_long", "due_date": "web.rtl.error.due_range"}
    assert plan(NEW, "admin", PLAN, TODAY) == (None, {"op": "web.rtl.error.not_staff"})
    after = planned()
    assert (after.action, after.responsible, after.due_date) == (
        "Tambah dua loket antrean", "Budi (Kasi)", date(2027, 3, 31))  # fmt: skip


def test_only_the_head_approves_a_complete_plan_and_a_new_plan_withdraws_it() -> None:
    assert approve(NEW, "head") == (None, {"op": "web.rtl.error.not_planned"})
    assert approve(planned(), "officer") == (None, {"op": "web.rtl.error.head_only"})
    state = approved()
    assert state.approved
    assert approve(state, "head") == (None, {"op": "web.rtl.error.already_approved"})
    same, _ = plan(state, "officer", PLAN, TODAY)
    assert same is not None and same.after.approved  # saved unchanged: still approved
    changed, _ = plan(state, "officer", {**PLAN, "due_date": "2027-04-30"}, TODAY)
    assert changed is not None and not changed.after.approved


def test_progress_needs_approval_evidence_or_a_reason_and_ends_at_a_final_status() -> None:
    assert progress(planned(), "officer", {"status": "berjalan"}) == (
        None, {"op": "web.rtl.error.not_approved"})  # fmt: skip
    running, _ = progress(approved(), "officer", {"status": "berjalan"})
    assert running is not None and running.what == "status: direncanakan->berjalan"
    state = running.after
    _, errors = progress(state, "head", {"status": "selesai"})
    assert errors == {"evidence_link": "web.rtl.error.evidence"}
    _, errors = progress(state, "head", {"status": "selesai",
                                         "evidence_link": "javascript:alert(1)"})  # fmt: skip
    assert errors == {"evidence_link": "web.rtl.error.link"}
    _, errors = progress(state, "head", {"status": "tidak_dilaksanakan", "reason": ""})
    assert errors == {"reason": "web.rtl.error.reason"}
    note = {"status": "selesai", "evidence_note": "Loket 5 dan 6 dibuka 2 Maret"}
    done, _ = progress(state, "officer", note)
    assert done is not None and done.done_now and done.after.evidence_note
    assert progress(done.after, "head", {"status": "berjalan"}) == (
        None, {"op": "web.rtl.error.final"})  # fmt: skip
    assert plan(done.after, "head", PLAN, TODAY) == (None, {"op": "web.rtl.error.started"})
    assert step(state, "head", {"op": "hapus"}, TODAY) == (None, {"op": "web.rtl.error.op"})


def test_overdue_is_past_the_due_date_and_not_final() -> None:
    state = approved()
    assert not is_overdue(state, date(2027, 3, 31))
    assert is_overdue(state, date(2027, 4, 1))
    done, _ = progress(state, "head", {"status": "tidak_dilaksanakan", "reason": "Anggaran"})
    assert done is not None and not is_overdue(done.after, date(2027, 4, 1))
    assert not is_overdue(NEW, date(2030, 1, 1))  # no plan, no due date


def test_proposals_take_each_units_three_weakest() -> None:
    found = proposals({"a": [("U3", "2,10"), ("U1", "2,50"), ("U9", "2,60"), ("U2", "3,00")],
                       "b": [("U5", None)]})  # fmt: skip
    assert [(p.unit_code, p.element_code) for p in found] == [
        ("a", "U3"), ("a", "U1"), ("a", "U9"), ("b", "U5")]  # fmt: skip


# --- evidence files: the pure rules --------------------------------------------------------------


LIMITS = EvidenceLimits(max_bytes=1000, max_files=3)


def test_evidence_is_typed_by_its_bytes_never_its_name() -> None:
    assert [evidence_type(d).content_type for d in (JPEG, png(), WEBP, PDF)  # type: ignore[union-attr]
            ] == ["image/jpeg", "image/png", "image/webp", "application/pdf"]  # fmt: skip
    for refused in (SVG, HTML, b"GIF89a" + b"\x00" * 20, b"PK\x03\x04docx", b"", b" %PDF-1.4"):
        assert evidence_type(refused) is None, refused[:12]
    state = approved()
    for name, data in (("foto.png", SVG), ("foto.jpg", HTML), ("bukti.pdf", b"\x00" * 10)):
        assert attach(state, "officer", [Upload(name, data)], [], LIMITS) == (
            [], {"evidence_file": "web.rtl.error.file_type"})  # fmt: skip
    [jpeg], errors = attach(state, "officer", [Upload("laporan.pdf", JPEG)], [], LIMITS)
    assert not errors and jpeg.type.content_type == "image/jpeg" and jpeg.name == "laporan.jpg"


def test_evidence_names_are_made_safe() -> None:
    kind = evidence_type(JPEG)
    assert kind is not None
    assert safe_name("../../etc/passwd.svg.png", kind) == "passwd-svg.jpg"
    assert safe_name("C:\\Users\\Budi\\Foto Loket (1).JPG", kind) == "Foto-Loket-1.jpg"
    assert safe_name('Perbaikan "loket" <b>é.jpg', kind) == "Perbaikan-loket-b-e.jpg"
    assert safe_name(".htaccess", kind) == "bukti.jpg"
    assert safe_name("x" * 300 + ".jpg", kind) == "x" * 80 + ".jpg"


def test_evidence_files_are_checked_for_size_number_and_repeats() -> None:
    state = approved()
    _, errors = attach(state, "officer", [Upload("a.jpg", b"")], [], LIMITS)
    assert errors == {"evidence_file": "web.rtl.error.file_empty"}
    big = JPEG + b"\x00" * (LIMITS.max_bytes - len(JPEG) + 1)
    _, errors = attach(state, "officer", [Upload("a.jpg", big)], [], LIMITS)
    assert errors == {"evidence_file": "web.rtl.error.file_large"}
    at_limit, errors = attach(state, "officer", [Upload("a.jpg", big[:-1])], [], LIMITS)
    assert not errors and len(at_limit[0].data) == LIMITS.max_bytes
    three = [Upload("a.jpg", JPEG), Upload("b.pdf", PDF), Upload("c.png", png())]
    files, errors = attach(state, "officer", three, [], LIMITS)
    assert not errors and [f.name for f in files] == ["a.jpg", "b.pdf", "c.png"]
    stored = [files[0].sha256]
    _, errors = attach(state, "officer", three[1:] + [Upload("d.webp", WEBP)], stored, LIMITS)
    assert errors == {"evidence_file": "web.rtl.error.file_many"}, "one past the item's three"
    _, errors = attach(state, "officer", [Upload("again.jpg", JPEG)], stored, LIMITS)
    assert errors == {"evidence_file": "web.rtl.error.file_twice"}
    _, errors = attach(state, "officer", [Upload("a.pdf", PDF), Upload("b.pdf", PDF)], [], LIMITS)
    assert errors == {"evidence_file": "web.rtl.error.file_twice"}
    _, errors = attach(state, "officer", [Upload("a.jpg", JPEG), Upload("x.svg", SVG)], [], LIMITS)
    assert errors == {"evidence_file": "web.rtl.error.file_type"}, "one bad file refuses all"
    assert attach(state, "officer", [], [], LIMITS) == ([], {})
    assert attach(state, "officer", [], [], LIMITS, required=True) == (
        [], {"evidence_file": "web.rtl.error.file_none"})  # fmt: skip


def test_evidence_changes_only_by_staff_between_approval_and_closing() -> None:
    one = [Upload("a.jpg", JPEG)]
    assert attach(planned(), "officer", one, [], LIMITS) == (
        [], {"op": "web.rtl.error.not_approved"})  # fmt: skip
    assert attach(approved(), "admin", one, [], LIMITS) == ([], {"op": "web.rtl.error.not_staff"})
    done, _ = progress(approved(), "head", {"status": "selesai"}, files=1)
    assert done is not None and done.done_now, "a file is evidence enough"
    assert attach(done.after, "head", one, [], LIMITS) == (
        [], {"op": "web.rtl.error.evidence_closed"})  # fmt: skip
    assert detach(done.after, "head") == {"op": "web.rtl.error.evidence_closed"}
    assert detach(approved(), "officer") == {}
    assert progress(approved(), "head", {"status": "selesai"}, files=0) == (
        None, {"evidence_link": "web.rtl.error.evidence"})  # fmt: skip


# --- storage, both databases -----------------------------------------------------------------


async def test_items_are_proposed_once_changed_and_listed_per_opd(storage: Storage) -> None:
    await load_small_directory(storage)
    wanted = [Proposal("dukcapil-mpp", "U3", "2,10"), Proposal("rsud-igd", "U5", "2,90"),
              Proposal("unknown", "U1", None)]  # fmt: skip
    async with storage.transaction() as tx:
        assert await propose(tx, "2026-Q4", wanted, T0) == 2
        assert await propose(tx, "2026-Q4", wanted, T0) == 0  # kept as they are
    async with storage.reading() as tx:
        mine = await rtl_rows(tx, "disdukcapil")
        assert [(r.unit_code, r.element_code, r.nrr) for r in mine] == [
            ("dukcapil-mpp", "U3", "2,10")]  # fmt: skip
        assert len(await rtl_rows(tx)) == 2
    item = mine[0].id
    later = T0 + timedelta(days=1)
    finish = {"op": "progress", "status": "selesai",
              "evidence_link": "https://mimikakab.go.id/berita/loket"}  # fmt: skip
    for form, role in ((PLAN, "officer"), ({"op": "approve"}, "head"), (finish, "head")):
        async with storage.transaction() as tx:
            row = await rtl_row(tx, item, lock=True)
            assert row is not None
            change, errors = step(row.state, role, form, TODAY)
            assert change is not None, errors
            await apply_change(tx, item, change, "Kepala (contoh)", later)
    async with storage.reading() as tx:
        row = await rtl_row(tx, item)
        assert row is not None and row.state.status is RtlStatus.SELESAI
        assert row.approved_by == "Kepala (contoh)" and row.done_at == later
        assert row.state.due_date == date(2027, 3, 31)
        public = await done_items(tx, "dukcapil-mpp")
        assert [(d.element_code, d.action, d.evidence_link) for d in public] == [
            ("U3", "Tambah dua loket antrean", "https://mimikakab.go.id/berita/loket")]  # fmt: skip
        assert await done_items(tx, "rsud-igd") == []
        assert await overdue_count(tx, "disdukcapil", date(2027, 5, 1)) == 0  # done


async def test_evidence_files_are_stored_listed_served_and_removed(storage: Storage) -> None:
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        await propose(tx, "2026-Q4", [Proposal("dukcapil-mpp", "U3", None),
                                      Proposal("rsud-igd", "U5", None)], T0)  # fmt: skip
        mine, other = [r.id for r in await rtl_rows(tx)]
    files, _ = attach(approved(), "officer", [Upload("Loket baru.png", png()),
                                              Upload("surat.pdf", PDF)], [], LIMITS)  # fmt: skip
    async with storage.transaction() as tx:
        ids = await add_evidence(tx, mine, files, "Petugas Dukcapil", T0)
    async with storage.reading() as tx:
        listed = await evidence_rows(tx, [mine, other])
        assert list(listed) == [mine]
        assert [(e.id, e.name, e.content_type, e.size, e.image) for e in listed[mine]] == [
            (ids[0], "Loket-baru.png", "image/png", len(png()), True),
            (ids[1], "surat.pdf", "application/pdf", len(PDF), False)]  # fmt: skip
        assert listed[mine][0].uploaded_by == "Petugas Dukcapil"
        assert listed[mine][0].uploaded_at == T0
        found = await evidence_data(tx, mine, ids[1])
        assert found is not None and found[1] == PDF and found[0].sha256 == files[1].sha256
        assert await evidence_data(tx, other, ids[1]) is None, "another item's file"
    async with storage.transaction() as tx:
        assert not await remove_evidence(tx, other, ids[0])
        assert await remove_evidence(tx, mine, ids[0])
        assert not await remove_evidence(tx, mine, ids[0])
    async with storage.reading() as tx:
        assert [e.id for e in (await evidence_rows(tx, [mine]))[mine]] == [ids[1]]


async def test_overdue_items_are_counted_per_opd(storage: Storage) -> None:
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        await propose(tx, "2026-Q4", [Proposal("dukcapil-kantor", "U2", None)], T0)
        (row,) = await rtl_rows(tx, "disdukcapil")
        change, _ = plan(row.state, "officer", PLAN, TODAY)
        assert change is not None
        await apply_change(tx, row.id, change, "Petugas", T0)
    async with storage.reading() as tx:
        assert await overdue_count(tx, "disdukcapil", date(2027, 3, 31)) == 0
        assert await overdue_count(tx, "disdukcapil", date(2027, 4, 1)) == 1
        assert await overdue_count(tx, "rsud", date(2027, 4, 1)) == 0


# --- proposals from the report -----------------------------------------------------------------


@pytest.mark.postgres
async def test_a_closed_quarter_proposes_the_reports_weakest_elements_once(
    pg_storage: Storage,
) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 12, "rsud-igd": 5})
    quarter = parse_period("2026-Q4")
    report = await build_report(pg_storage, ReportRequest(quarter), organisation="Kab")
    expected = {(u.code, code) for u in report.units if u.respondents
                for code in u.weakest(3)}  # fmt: skip
    # 10 January 2027: 2026-Q4 is the last closed quarter.
    clock = lambda: datetime(2027, 1, 10, 7, 30, tzinfo=WIT)  # noqa: E731
    assert await rtl_proposal_job(pg_storage, WIT, clock, SETTINGS.organisation) == 6
    assert await rtl_proposal_job(pg_storage, WIT, clock, SETTINGS.organisation) is None
    async with pg_storage.reading() as tx:
        rows = await rtl_rows(tx)
    assert {(r.unit_code, r.element_code) for r in rows} == expected
    assert all(r.period == "2026-Q4" and r.nrr for r in rows)
    # By hand (the CLI's path): nothing twice.
    again = await propose_for(pg_storage, quarter, datetime.now(UTC), organisation="Kab")
    assert again == 0


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata)
            if "rtl_items" in repr(d) or "rtl_evidence" in repr(d)]  # fmt: skip


async def test_the_migration_makes_the_models_table(storage: Storage) -> None:
    async with storage.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


@pytest.mark.slow  # a subprocess
def test_the_cli_proposes_a_quarter_and_refuses_other_periods(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'skm.sqlite3'}"}
    done = run_cli("rtl", "propose", "--period", "2026-Q3", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2026-Q3: 0 RTL item(s) proposed." in done.stdout
    refused = run_cli("rtl", "propose", "--period", "2026-11", env=env, cwd=tmp_path)
    assert refused.returncode != 0 and "per quarter" in refused.stderr


@pytest.mark.postgres
async def test_the_digest_names_the_overdue_items(pg_storage: Storage) -> None:
    await seed(pg_storage, {"dukcapil-mpp": 3})
    async with pg_storage.transaction() as tx:
        await propose(tx, "2026-Q3", [Proposal("dukcapil-mpp", "U3", None)], T0)
        (row,) = await rtl_rows(tx)
        change, _ = plan(
            row.state, "officer", {**PLAN, "due_date": "2026-11-20"}, date(2026, 11, 1)
        )
        assert change is not None
        await apply_change(tx, row.id, change, "Petugas", T0)
    digest = await opd_digest(pg_storage, "disdukcapil", WEEK_48, language="id",
                              settings=SETTINGS, now=DUE)  # fmt: skip
    assert "Rencana tindak lanjut (RTL) lewat tenggat: 1 butir." in "\n".join(digest.parts)
    other = await opd_digest(pg_storage, "rsud", WEEK_48, language="en", settings=SETTINGS,
                             now=DUE)  # fmt: skip
    assert "RTL" not in "\n".join(other.parts)


# --- "you said, we did": who gets the news -------------------------------------------------------


async def test_the_news_goes_to_reachable_opted_in_citizens_and_whatsapp_only_by_template(
    storage: Storage,
) -> None:
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        contacts = {}
        for name, channel, language, blocked in (("tg", "telegram", "id", None),
                                                 ("wa", "whatsapp", "en", None),
                                                 ("blocked", "telegram", "id", T0),
                                                 ("elsewhere", "telegram", "id", None),
                                                 ("silent", "telegram", "id", None)):  # fmt: skip
            contact = Contact(channel=channel, address=f"{name}-1", language=language,
                              blocked_at=blocked, created_at=T0)  # fmt: skip
            tx.session.add(contact)
            await tx.session.flush()
            contacts[name] = contact.id
        for name in ("tg", "wa", "blocked"):
            assert await opt_in(tx, contacts[name], "dukcapil-mpp", "2026-Q3", T0)
        assert not await opt_in(tx, contacts["tg"], "dukcapil-mpp", "2026-Q3", T0)  # once
        await opt_in(tx, contacts["elsewhere"], "rsud-igd", "2026-Q3", T0)
        await opt_in(tx, contacts["elsewhere"], "dukcapil-mpp", "2026-Q2", T0)
        await propose(tx, "2026-Q3", [Proposal("dukcapil-mpp", "U3", None)], T0)
        (row,) = await rtl_rows(tx, "disdukcapil")
        assert await queue_news(tx, row, "Dua loket baru", T0, None)
        assert await queue_news(tx, row, "Dua loket baru", T0, "skm_tindak_lanjut")
        assert not await queue_news(tx, row, "Dua loket baru", T0, "skm_tindak_lanjut")
        rows = (await tx.session.execute(
            select(OutboxMessage.contact_id, OutboxMessage.kind, OutboxMessage.payload)
            .order_by(OutboxMessage.id))).all()  # fmt: skip
    by_contact = {contact: (kind, payload) for contact, kind, payload in rows}
    assert set(by_contact) == {contacts["tg"], contacts["wa"]}
    kind, payload = by_contact[contacts["tg"]]
    assert kind == "message" and payload["text"].startswith(
        "Kabar tindak lanjut survei: Loket Disdukcapil MPP telah memperbaiki unsur "
        '"Waktu Penyelesaian": Dua loket baru'
    )
    kind, payload = by_contact[contacts["wa"]]
    assert kind == "followup_news" and payload["language"] == "en"
    sent = followup_template_message(payload)["template"]
    assert sent["name"] == "skm_tindak_lanjut" and sent["language"] == {"code": "en"}
    (param,) = sent["components"][0]["parameters"]
    assert "\n" not in param["text"] and param["text"].startswith("Survey follow-up: Loket")
    async with storage.transaction() as tx:
        assert await erase_followups(tx, contacts["tg"]) == 1
        assert [r.contact_id for r in await followup_readers(tx, row.id)] == [contacts["wa"]]
