"""The report as a printable PDF with charts (matplotlib's ``PdfPages``, A4 portrait).

Pages, in order:

1. summary: the pooled index, the OPDs, the filters and the method;
2. the IKM of every unit as bars, :data:`UNITS_PER_CHART_PAGE` units per page;
3. the pooled NRR of every element;
4. one page per unit with respondents: its element NRRs, index, sample and suggestions.

:func:`page_count` says how many pages a report gives.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from reports.charts import A4_PORTRAIT_IN, ikm_bar_chart, nrr_chart, plain_text
from reports.model import Figures, RegencyReport, UnitReport, id_decimal
from reports.progress import Progress, no_progress
from survey_flows.plain_text import without_controls

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn (~0.3 s at start-up)
    from matplotlib.figure import Figure

__all__ = ["UNITS_PER_CHART_PAGE", "headline", "page_count", "write_pdf"]

UNITS_PER_CHART_PAGE = 40
_SUGGESTIONS_PER_PAGE = 8


def page_count(report: RegencyReport) -> int:
    """Pages :func:`write_pdf` writes for ``report``."""
    units = report.units
    chart_pages = math.ceil(len(units) / UNITS_PER_CHART_PAGE)
    return 1 + chart_pages + 1 + sum(1 for u in units if u.respondents > 0)


def write_pdf(report: RegencyReport, path: Path, progress: Progress = no_progress) -> None:
    """Write the PDF to ``path``: whole or not at all (a failure leaves no truncated file)."""
    partial = path.with_name(path.name + ".part")
    try:
        _write_pages(report, partial, progress)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _write_pages(report: RegencyReport, path: Path, progress: Progress) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    total = page_count(report)
    done = 0
    units = report.units
    with PdfPages(path) as pdf:
        metadata = pdf.infodict()
        metadata["Title"] = f"Laporan SKM {report.period.label}"
        metadata["Subject"] = report.organisation
        pdf.savefig(plain_text(_summary_page(report)))
        done += 1
        for first in range(0, len(units), UNITS_PER_CHART_PAGE):
            chunk = units[first : first + UNITS_PER_CHART_PAGE]
            pages = math.ceil(len(units) / UNITS_PER_CHART_PAGE)
            number = first // UNITS_PER_CHART_PAGE + 1
            title = f"IKM per unit pelayanan, {report.period.title_id}"
            if pages > 1:
                title += f" ({number}/{pages})"
            pdf.savefig(plain_text(ikm_bar_chart(chunk, title)))
            done += 1
            progress("pdf: pages", done, total)
        pdf.savefig(
            plain_text(
                nrr_chart(
                    report,
                    f"Nilai per unsur (gabungan), {report.period.title_id}",
                    headline(report, "Gabungan"),
                )
            )
        )
        done += 1
        for unit in units:
            if unit.respondents == 0:
                continue
            pdf.savefig(plain_text(_unit_page(report, unit)))
            done += 1
            progress("pdf: pages", done, total)


def headline(figures: Figures, label: str) -> str:
    if figures.ikm is None or figures.mutu is None:
        missing = ", ".join(figures.result.unanswered)
        return f"{label}: {figures.respondents} responden; IKM belum dapat dihitung ({missing})"
    return (
        f"{label}: {figures.respondents} responden; IKM {id_decimal(figures.ikm)}, "
        f"mutu {figures.mutu.value} ({figures.kinerja})"
    )


def _summary_page(report: RegencyReport) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_PORTRAIT_IN)
    lines = [
        ("LAPORAN SURVEI KEPUASAN MASYARAKAT", 15, "bold"),
        (report.organisation, 11, "normal"),
        (f"Periode: {report.period.title_id} ({report.period.label})", 10, "normal"),
    ]
    filters = report.request.filters()
    if filters:
        lines.append(("Filter: " + ", ".join(f"{k}={v}" for k, v in filters.items()), 9, "normal"))
    y = 0.95
    for text, size, weight in lines:
        figure.text(0.08, y, text, fontsize=size, fontweight=weight)
        y -= 0.03
    y -= 0.01
    figure.text(0.08, y, headline(report, "Gabungan"), fontsize=10, fontweight="bold")
    y -= 0.025
    weakest = ", ".join(report.weakest())
    if weakest:
        figure.text(0.08, y, f"Unsur terlemah: {weakest}", fontsize=9)
        y -= 0.03

    rows = [
        [
            opd.name[:42],
            str(len(opd.units)),
            str(opd.respondents),
            id_decimal(opd.ikm),
            "-" if opd.mutu is None else opd.mutu.value,
        ]
        for opd in report.opds[:30]
    ]
    if rows:
        axes = figure.add_axes(
            (0.08, max(0.12, y - 0.025 * (len(rows) + 1)), 0.84, 0.025 * (len(rows) + 1))
        )
        axes.axis("off")
        table = axes.table(
            cellText=rows,
            colLabels=["OPD", "Unit", "Responden", "IKM", "Mutu"],
            colWidths=[0.56, 0.09, 0.14, 0.11, 0.1],
            cellLoc="left",
            loc="upper left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
    if len(report.opds) > 30:
        figure.text(
            0.08, 0.1, f"... dan {len(report.opds) - 30} OPD lain (lihat lampiran).", fontsize=8
        )
    method = (
        "Metode: PermenPANRB No. 14 Tahun 2017. NRR per unsur = jumlah nilai / jumlah jawaban "
        "unsur itu (jawaban kosong tidak dihitung). IKM = Σ(NRR × 1/k) × 25, dihitung eksak "
        "dan dibulatkan ke atas setengah di akhir. Indeks OPD dan gabungan dihitung dari seluruh "
        "jawaban dalam cakupan (NRR gabungan per unsur)."
    )
    if report.convention != "exact":
        method += " PERHATIAN: laporan ini memakai konvensi lama bobot 0,111."
    figure.text(0.08, 0.06, textwrap.fill(method, 120), fontsize=7, va="bottom")
    return figure


def _unit_page(report: RegencyReport, unit: UnitReport) -> Figure:
    figure = nrr_chart(unit, f"{unit.name}", headline(unit, unit.code))
    y = 0.3
    details = [f"OPD: {unit.opd_name}"]
    if unit.sample_required is not None:
        met = "terpenuhi" if unit.sample_met else "BELUM terpenuhi"
        details.append(
            f"Sampel minimum (Krejcie & Morgan, populasi {unit.population} "
            f"untuk {unit.population_period}): {unit.sample_required}, {met}"
        )
    weakest = ", ".join(unit.weakest())
    if weakest:
        details.append(f"Unsur terlemah: {weakest}")
    for line in details:
        figure.text(0.12, y, line, fontsize=8.5)
        y -= 0.02
    if unit.suggestion_total:
        y -= 0.01
        figure.text(0.12, y, f"Saran ({unit.suggestion_total}):", fontsize=8.5, fontweight="bold")
        y -= 0.02
        for suggestion in unit.suggestions[:_SUGGESTIONS_PER_PAGE]:
            text = textwrap.shorten(without_controls(suggestion.text), 110, placeholder="...")
            figure.text(0.12, y, f"{suggestion.local_date}  {text}", fontsize=7.5)
            y -= 0.018
    return figure
