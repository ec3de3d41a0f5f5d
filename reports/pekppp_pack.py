"""The PEKPPP evidence pack (issue 17, item 5): one ZIP per OPD for a year, for the
evaluation of public-service performance (PermenPANRB No. 29 Tahun 2022).

Inside, each file answers one evaluation aspect (README.txt says which, in Indonesian):

- the SKM report of every quarter and of the year (PDF and XLSX) and the year's full Laporan
  SKM; the public page of each unit and the date each period was first published
  (``publikasi.csv``): the SKM results and their publication;
- the follow-up plan with its evidence (``rtl.csv``, and the files uploaded in the console
  under ``bukti-rtl/``): the follow-up of the SKM results;
- the complaint recap (``rekap-pengaduan.csv`` / ``.xlsx``, as ``skm-bot complaints export``
  writes it): complaint management.

Suggestions and complaint texts are masked as in every report (phone numbers, NIK, e-mail).
"""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from reports.build import build_report
from reports.cells import safe_value
from reports.complaints_recap import RecapLine, report_recap, write_recap
from reports.full_report import RtlRow, report_rtl
from reports.model import RegencyReport, ReportRequest
from reports.outputs import full_report_filename, report_filename, write_full_report, write_report
from reports.period import Period, parse_period
from reports.progress import Progress, no_progress
from storage import Storage
from storage.complaints import ComplaintRow, complaints_between
from storage.publications import first_published
from storage.rtl import EvidenceRow, evidence_data, evidence_rows, rtl_rows
from storage.rtl import RtlRow as StoredRtlRow
from survey_flows.personal_data import mask_personal_data

NOT_CONFIGURED = "belum dikonfigurasi (PUBLIC_BASE_URL)"
NOT_RECORDED = "belum tercatat"
RTL_COLUMNS = ["unit", "unsur", "rencana_tindakan", "penanggung_jawab", "tenggat", "status",
               "bukti_tautan", "bukti_catatan", "bukti_berkas", "tanggal_selesai"]  # fmt: skip
EVIDENCE_FOLDER = "bukti-rtl"


@dataclass(frozen=True)
class PackOptions:
    year: int
    organisation: str
    zone: ZoneInfo
    now: datetime
    public_url: Callable[[str], str | None]  # a unit's public page, None when not configured


def pack_filename(year: int, opd_code: str) -> str:
    return f"pekppp-{year}-{opd_code}.zip"


def periods_of(year: int) -> list[Period]:
    """The year's four quarters, then the year."""
    return [parse_period(f"{year}-Q{q}") for q in range(1, 5)] + [parse_period(str(year))]


@dataclass(frozen=True)
class PackData:
    """Everything an OPD's pack holds, read from the database (then written without it)."""

    opd_code: str
    reports: list[tuple[ReportRequest, RegencyReport]]  # the quarters, then the year
    recap: list[RecapLine]  # the year's, for the full report
    full_rtl: list[RtlRow]  # the year's, for the full report
    published: dict[str, datetime]
    items: list[StoredRtlRow]
    evidence: dict[int, list[EvidenceRow]]  # per item id, without their bytes
    complaints: list[ComplaintRow]

    def evidence_files(self) -> dict[str, tuple[int, int]]:
        """Each evidence file's name in the ZIP -> (item id, file id)."""
        return {evidence_path(item, e): (item.id, e.id)
                for item in self.items for e in self.evidence.get(item.id, [])}  # fmt: skip


def evidence_path(item: StoredRtlRow, evidence: EvidenceRow) -> str:
    """An evidence file's name in the pack: which quarter, unit and element it proves."""
    return (f"{EVIDENCE_FOLDER}/{item.period}_{item.unit_code}_{item.element_code}_"
            f"{evidence.id}_{evidence.name}")  # fmt: skip


async def gather_pack(storage: Storage, opd_code: str, options: PackOptions) -> PackData:
    """Read what the OPD's pack holds (the reports built, nothing written yet)."""
    reports = []
    for period in periods_of(options.year):
        request = ReportRequest(period, opd_codes=(opd_code,), suggestion_limit=None)
        report = await build_report(storage, request, organisation=options.organisation)
        reports.append((request, report))
    year = reports[-1][1]
    start, end = year.period.bounds(options.zone)
    async with storage.reading() as tx:
        published = await first_published(tx)
        items = [r for r in await rtl_rows(tx, opd_code)
                 if r.period.startswith(f"{options.year}-")]  # fmt: skip
        complaints = await complaints_between(tx, start, end, opd_code)
        evidence = await evidence_rows(tx, [item.id for item in items])
    return PackData(
        opd_code=opd_code,
        reports=reports,
        recap=await report_recap(storage, year, options.zone, options.now),
        full_rtl=await report_rtl(storage, year),
        published=published,
        items=items,
        evidence=evidence,
        complaints=complaints,
    )


async def write_pack(
    storage: Storage,
    opd_code: str,
    output: Path,
    options: PackOptions,
    progress: Progress = no_progress,
) -> Path:
    """Write the OPD's ZIP into the directory ``output`` (the files in a thread); its path."""
    data = await gather_pack(storage, opd_code, options)
    path = output / pack_filename(options.year, opd_code)
    with tempfile.TemporaryDirectory(prefix="skm-pack-evidence-") as scratch:
        # One file at a time from the database to disk: an OPD's year of photos need not
        # fit in memory.
        files: dict[str, Path] = {}
        for index, (name, (item_id, evidence_id)) in enumerate(data.evidence_files().items()):
            async with storage.reading() as tx:
                found = await evidence_data(tx, item_id, evidence_id)
            if found is None:
                continue  # removed since the listing
            files[name] = Path(scratch) / str(index)
            await asyncio.to_thread(files[name].write_bytes, found[1])
        await asyncio.to_thread(write_pack_zip, data, options, path, progress, files)
    return path


def write_pack_zip(
    data: PackData,
    options: PackOptions,
    path: Path,
    progress: Progress = no_progress,
    evidence: Mapping[str, Path] | None = None,
) -> None:
    """Write the pack's ZIP to ``path`` (whole or not at all: a failure leaves no ZIP);
    ``evidence``: the RTL's files, their name in the ZIP -> where their bytes are."""
    evidence = evidence or {}
    opd_code = data.opd_code
    year_request, year = data.reports[-1]
    with tempfile.TemporaryDirectory(prefix="skm-pack-") as scratch:
        folder = Path(scratch)
        names: list[str] = []
        for index, (request, report) in enumerate(data.reports, start=1):
            for fmt in ("pdf", "xlsx"):
                name = report_filename(request, fmt, opd_code)
                write_report(report, fmt, folder / name)
                names.append(name)
            progress(f"pekppp {opd_code}: reports", index, len(data.reports) + 1)
        name = full_report_filename(year_request, opd_code)
        write_full_report(year, folder / name, data.recap, rtl=data.full_rtl)
        names.append(name)
        progress(f"pekppp {opd_code}: reports", len(data.reports) + 1, len(data.reports) + 1)
        units = [(u.code, u.name) for u in year.units]
        periods = [request.period for request, _ in data.reports]
        files = {
            "publikasi.csv": _publication_csv(units, periods, data.published, options),
            "rtl.csv": _rtl_csv(data.items, data.evidence, set(evidence), options.zone),
        }
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            names.append(name)
        label = year.period.label
        for fmt in ("csv", "xlsx"):
            name = f"rekap-pengaduan-{label}.{fmt}"
            write_recap(folder / name, fmt, data.complaints, options.now, options.zone, label)
            names.append(name)
        made = options.now.astimezone(options.zone).date()
        text = readme(options.year, opd_code, [*names, *evidence], made)
        (folder / "README.txt").write_text(text, "utf-8")
        partial = folder / "pack.zip"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in ["README.txt", *names]:
                archive.write(folder / name, name)
            for name, source in evidence.items():
                # Photos and PDFs are compressed already: stored as they are.
                archive.write(source, name, compress_type=zipfile.ZIP_STORED)
        shutil.move(partial, path)


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[safe_value(v) for v in row] for row in rows])
    return buffer.getvalue()


def _publication_csv(
    units: Sequence[tuple[str, str]],
    periods: Sequence[Period],
    published: dict[str, datetime],
    options: PackOptions,
) -> str:
    rows = []
    for code, name in units:
        url = options.public_url(code) or NOT_CONFIGURED
        for period in periods:
            at = published.get(period.label)
            first = at.astimezone(options.zone).date().isoformat() if at else NOT_RECORDED
            rows.append([code, name, url, period.label, first])
    return _csv(["unit", "nama_unit", "halaman_publik", "periode", "pertama_dipublikasikan"], rows)


def _rtl_csv(
    items: Sequence[StoredRtlRow],
    evidence: Mapping[int, Sequence[EvidenceRow]],
    packed: set[str],
    zone: ZoneInfo,
) -> str:
    rows = []
    for item in items:
        state = item.state
        files = [n for e in evidence.get(item.id, []) if (n := evidence_path(item, e)) in packed]
        rows.append([
            item.unit_code, item.element_code, state.action or "", state.responsible or "",
            state.due_date.isoformat() if state.due_date else "", state.status.value,
            state.evidence_link or "", mask_personal_data(state.evidence_note or ""),
            "; ".join(files),
            item.done_at.astimezone(zone).date().isoformat() if item.done_at else "",
        ])  # fmt: skip
    return _csv(RTL_COLUMNS, rows)


def readme(year: int, opd_code: str, names: Sequence[str], made: date) -> str:
    """The pack's README (Indonesian): what each file is and which aspect it answers."""
    reports_ = [n for n in names if n.startswith(("skm-report-", "laporan-skm-"))]
    recap = [n for n in names if n.startswith("rekap-pengaduan-")]
    evidence = [n for n in names if n.startswith(f"{EVIDENCE_FOLDER}/")]
    lines = [
        f"Paket bukti PEKPPP {year}: {opd_code}",
        f"Dibuat {made.isoformat()}; periode yang belum berakhir memuat data sampai tanggal ini.",
        "",
        "Evaluasi Kinerja Penyelenggaraan Pelayanan Publik (PermenPANRB Nomor 29 Tahun 2022).",
        "Berkas di paket ini dibuat oleh skm-bot dari data survei, rencana tindak lanjut dan",
        "pengaduan. Saran dan isi pengaduan disamarkan (nomor telepon, NIK, alamat e-mail).",
        "",
        "1. Aspek hasil Survei Kepuasan Masyarakat (SKM) dan publikasinya",
        "   (PermenPANRB Nomor 14 Tahun 2017):",
        *(f"   - {n}" for n in reports_),
        "     Laporan SKM per triwulan dan tahunan (PDF dan XLSX); laporan-skm-*.pdf adalah",
        "     Laporan SKM lengkap tahun ini.",
        "   - publikasi.csv: alamat halaman hasil publik setiap unit dan tanggal pertama",
        "     hasil setiap periode dipublikasikan.",
        "",
        "2. Aspek tindak lanjut hasil SKM:",
        "   - rtl.csv: rencana tindak lanjut (unsur, tindakan, penanggung jawab, tenggat,",
        "     status) beserta bukti pelaksanaannya (tautan, catatan, atau berkas) dan tanggal",
        "     selesai.",
        f"   - {EVIDENCE_FOLDER}/: berkas bukti (foto atau PDF) yang diunggah di Konsol SKM,",
        "     bernama <periode>_<unit>_<unsur>_<nomor>_<nama berkas>; kolom bukti_berkas di",
        "     rtl.csv menyebut berkas setiap butir."
        + ("" if evidence else " Belum ada berkas yang diunggah."),
        *(f"     - {n}" for n in evidence),
        "",
        "3. Aspek pengelolaan pengaduan (Perpres Nomor 76 Tahun 2013):",
        *(f"   - {n}" for n in recap),
        "     Rekap pengaduan per unit: diterima, diverifikasi dan ditanggapi tepat waktu,",
        "     lewat batas, selesai, ditolak, dan persentase selesai.",
        "",
    ]
    return "\n".join(lines)
