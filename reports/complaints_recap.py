"""The complaint recap PEKPPP aspect V asks for: received, handled in time, overdue, % done.

Per unit and OPD for a period, from the complaint records; never the citizen's identity (an
anonymous complaint says so; others say only the channel it came by).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from reports.cells import put_text, safe_value
from reports.model import RegencyReport
from storage import Storage
from storage.complaints import ComplaintRow, complaints_between
from survey_flows.complaints import ComplaintStatus
from survey_flows.dates import last_day
from survey_flows.personal_data import mask_personal_data


@dataclass(frozen=True, slots=True)
class RecapLine:
    opd: str
    unit: str
    received: int
    verified_in_time: int
    answered_in_time: int
    overdue: int
    finished: int
    rejected: int

    @property
    def finished_percent(self) -> float:
        return round(100 * self.finished / self.received, 1) if self.received else 0.0


def recap(rows: Sequence[ComplaintRow], now: datetime) -> list[RecapLine]:
    """One line per unit, in the order the complaints' units first appear."""
    lines: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = lines.setdefault((row.opd_code, row.unit_code), [0] * 6)
        counts[0] += 1
        counts[1] += row.verified_at is not None and row.verified_at <= row.verify_by
        counts[2] += row.answered_at is not None and row.answered_at <= row.answer_by
        counts[3] += _overdue(row, now)
        counts[4] += row.status in (ComplaintStatus.SELESAI, ComplaintStatus.DIARSIPKAN)
        counts[5] += row.status is ComplaintStatus.DITOLAK
    return [RecapLine(opd, unit, *counts) for (opd, unit), counts in lines.items()]


async def report_recap(
    storage: Storage, report: RegencyReport, zone: ZoneInfo, now: datetime
) -> list[RecapLine]:
    """The recap of the complaints filed in the report's period about the report's units."""
    start, end = report.period.bounds(zone)
    async with storage.reading() as tx:
        rows = await complaints_between(tx, start, end)
    units = {u.code for u in report.units}
    return [line for line in recap(rows, now) if line.unit in units]


def _overdue(row: ComplaintRow, now: datetime) -> bool:
    verified_late = (row.verified_at or now) > row.verify_by
    answered_late = row.status is not ComplaintStatus.DITOLAK and (row.answered_at or now) > (
        row.answer_by
    )
    return verified_late or answered_late


def _reporter(row: ComplaintRow) -> str:
    return "anonim" if row.anonymous else f"warga ({row.channel})"


def detail_rows(rows: Sequence[ComplaintRow], zone: ZoneInfo) -> list[dict[str, str]]:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return [
        {
            "ticket": r.ticket,
            "opd": r.opd_code,
            "unit": r.unit_code,
            "kind": r.kind,
            "status": r.status.value,
            "reporter": _reporter(r),
            "confidential": "ya" if r.confidential else "tidak",
            "filed": local(r.created_at),
            # The last day a limit is met, not the midnight after it (a sortable date).
            "verify_by": last_day(r.verify_by, zone).isoformat(),
            "verified": local(r.verified_at),
            "answer_by": last_day(r.answer_by, zone).isoformat(),
            "answered": local(r.answered_at),
            "rating": "" if r.rating is None else ("baik" if r.rating else "kurang"),
            # Confidential complaints are counted, not quoted; the others leave the desk without
            # the phone numbers, NIK and e-mail addresses typed into them.
            "description": "" if r.confidential else mask_personal_data(r.description),
        }
        for r in rows
    ]


def write_recap(
    path: Path, fmt: str, rows: Sequence[ComplaintRow], now: datetime, zone: ZoneInfo, label: str
) -> None:
    lines = recap(rows, now)
    details = detail_rows(rows, zone)
    if fmt == "json":
        document = {
            "period": label,
            "recap": [{**asdict(x), "finished_percent": x.finished_percent} for x in lines],
            "complaints": details,
        }
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["opd", "unit", "received", "verified_in_time", "answered_in_time",
                         "overdue", "finished", "rejected", "finished_percent"])  # fmt: skip
        for x in lines:
            writer.writerow([safe_value(v) for v in (x.opd, x.unit, x.received,
                             x.verified_in_time, x.answered_in_time, x.overdue, x.finished,
                             x.rejected, x.finished_percent)])  # fmt: skip
        path.write_text(buffer.getvalue())
    else:
        book = Workbook()
        summary = book.active
        assert summary is not None
        summary.title = "Rekap"
        summary.append([f"Rekap pengaduan {label}"])
        summary.append(["OPD", "Unit", "Diterima", "Diverifikasi tepat waktu",
                        "Ditanggapi tepat waktu", "Lewat batas", "Selesai", "Ditolak",
                        "% selesai"])  # fmt: skip
        for x in lines:
            _append(summary, [x.opd, x.unit, x.received, x.verified_in_time, x.answered_in_time,
                              x.overdue, x.finished, x.rejected, x.finished_percent])  # fmt: skip
        sheet = book.create_sheet("Pengaduan")
        if details:
            sheet.append(list(details[0]))
            for item in details:
                _append(sheet, list(item.values()))
        book.save(path)


def _append(sheet: Worksheet, values: Sequence[Any]) -> None:
    """A row whose strings (a complaint's text, typed names) are text cells, never formulas."""
    row = sheet.max_row + 1
    for column, value in enumerate(values, start=1):
        put_text(sheet.cell(row=row, column=column), value)
