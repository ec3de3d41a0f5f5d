"""The SKM report written in any of its formats: for ``skm-bot report`` and the console's
downloads alike (one place decides file names, media types and writers)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reports.csv_report import report_csv
from reports.json_report import report_json
from reports.model import RegencyReport, ReportRequest
from reports.progress import Progress, no_progress

if TYPE_CHECKING:
    from reports.complaints_recap import RecapLine
    from reports.full_report import RtlRow

FORMATS = ("json", "csv", "xlsx", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def report_filename(request: ReportRequest, output_format: str, scope: str = "") -> str:
    """``skm-report-2026-Q1.xlsx`` (``skm-report-2026-Q1-disdukcapil.xlsx`` with a scope)."""
    label = request.period.label.replace("..", "_")
    suffix = f"-{scope}" if scope else ""
    return f"skm-report-{label}{suffix}.{output_format}"


def full_report_filename(request: ReportRequest, scope: str = "") -> str:
    """``laporan-skm-2026-Q1.pdf`` (``laporan-skm-2026-Q1-disdukcapil.pdf`` with a scope)."""
    label = request.period.label.replace("..", "_")
    suffix = f"-{scope}" if scope else ""
    return f"laporan-skm-{label}{suffix}.pdf"


def write_report(
    report: RegencyReport, output_format: str, path: Path, progress: Progress = no_progress
) -> None:
    """Write ``report`` to ``path`` as json, csv, xlsx or pdf."""
    if output_format == "json":
        path.write_text(report_json(report), encoding="utf-8")
    elif output_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(report_csv(report))
    elif output_format == "xlsx":
        # Imported here: openpyxl and matplotlib take a while to load and JSON needs neither.
        from reports.xlsx_report import write_xlsx

        write_xlsx(report, path, progress)
    elif output_format == "pdf":
        from reports.pdf_report import write_pdf

        write_pdf(report, path, progress)
    else:
        raise ValueError(f"unknown report format {output_format!r}")


def write_full_report(
    report: RegencyReport,
    path: Path,
    complaints: Sequence[RecapLine],
    progress: Progress = no_progress,
    rtl: Sequence[RtlRow] = (),
) -> None:
    """The full Laporan SKM (``--format pdf --full``) to ``path``, with the period's RTL items
    (``reports.full_report.report_rtl``)."""
    from reports.full_report import write_full_pdf

    write_full_pdf(report, path, complaints, rtl=rtl, progress=progress)


def report_bytes(
    report: RegencyReport,
    output_format: str,
    complaints: Sequence[RecapLine] | None = None,
    rtl: Sequence[RtlRow] = (),
) -> bytes:
    """The file's bytes, as :func:`write_report` would write them; with ``complaints`` (pdf
    only), the full report's with ``rtl`` (blocking: run it in a thread from async code)."""
    with tempfile.TemporaryDirectory(prefix="skm-report-") as directory:
        path = Path(directory) / f"report.{output_format}"
        if complaints is not None:
            write_full_report(report, path, complaints, rtl=rtl)
        else:
            write_report(report, output_format, path)
        return path.read_bytes()
