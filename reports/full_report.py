"""The Laporan SKM a bureau files, in the regulation's structure (``--format pdf --full``).

PermenPANRB 14/2017's outline, in Indonesian, A4 portrait, every page numbered after the
cover, a table of contents on page 2:

I.   Pendahuluan: legal basis and purpose.
II.  Metode: questionnaire (the nine elements, scale 1 to 4), period, channels, sample (the
     Krejcie-Morgan check per unit with a known population) and the computation.
III. Hasil: the regency and each OPD (pooled NRR table, IKM, grade, the charts of
     ``reports.charts``), then each unit with respondents (its NRR chart, NRR table, IKM,
     grade and respondent profile).
IV.  Analisis: the weakest elements per unit, and suggestions grouped (identical texts
     counted once) with phone numbers, NIK and e-mail addresses masked.
V.   Rencana tindak lanjut: the RTL rows handed in (:class:`RtlRow`); none yet: a note.
VI.  Rekapitulasi pengaduan: received, handled in time, overdue, finished, per unit.

Every figure is the report's own (:class:`~reports.model.RegencyReport`), written the
Indonesian way (``84,26``), so the PDF and ``--format json`` agree digit for digit. Pages are
flowed by :class:`_Document` (text and tables that continue on the next page) around whole
chart pages from ``reports.charts``; every text is drawn literally (``plain_text``: no
mathtext).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from reports.charts import A4_PORTRAIT_IN, ikm_bar_chart, nrr_chart, plain_text
from reports.complaints_recap import RecapLine
from reports.model import (
    DIMENSION_TITLES,
    ELEMENT_NAMES,
    NOT_ANSWERED,
    Figures,
    RegencyReport,
    UnitReport,
    id_decimal,
)
from reports.pdf_report import UNITS_PER_CHART_PAGE, headline
from reports.period import parse_period
from reports.progress import Progress, no_progress
from storage import Storage
from survey_flows.personal_data import mask_personal_data
from survey_flows.plain_text import without_controls

if TYPE_CHECKING:  # matplotlib is imported where a page is drawn (~0.45 s at start-up)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

__all__ = ["SECTIONS", "RtlRow", "full_pages", "group_suggestions", "write_full_pdf"]

SECTIONS = (
    "I. Pendahuluan",
    "II. Metode",
    "III. Hasil",
    "IV. Analisis",
    "V. Rencana Tindak Lanjut",
    "VI. Rekapitulasi Pengaduan",
)
SUGGESTION_GROUPS_PER_UNIT = 10


@dataclass(frozen=True)
class RtlRow:
    """One follow-up (Rencana Tindak Lanjut) item, as the RTL cycle will hand it in."""

    unit: str
    element: str
    action: str
    responsible: str
    due: date | None
    status: str


# --- page flow ---------------------------------------------------------------------------

_TOP, _BOTTOM, _LEFT, _RIGHT = 0.93, 0.07, 0.08, 0.92
_PAGE_WIDTH_PT = A4_PORTRAIT_IN[0] * 72


def _line_height(size: float) -> float:
    return size * 1.45 / 72 / A4_PORTRAIT_IN[1]


def _wrap(text: str, width_fraction: float, size: float) -> list[str]:
    """``text`` wrapped to a width (a fraction of the page) at ``size`` points."""
    chars = max(8, int(width_fraction * _PAGE_WIDTH_PT / (size * 0.52)))
    return textwrap.wrap(without_controls(text), chars) or [""]


@dataclass
class _Document:
    """Pages of flowed text and tables, and whole chart pages, with the headings for the
    table of contents (title, level, index of its page among the content pages)."""

    pages: list[Figure] = field(default_factory=list)
    toc: list[tuple[str, int, int]] = field(default_factory=list)
    y: float = 0.0

    def new_page(self) -> Figure:
        from matplotlib.figure import Figure

        self.pages.append(Figure(figsize=A4_PORTRAIT_IN))
        self.y = _TOP
        return self.pages[-1]

    def _room(self, needed: float) -> Figure:
        if not self.pages or self.y - needed < _BOTTOM:
            return self.new_page()
        return self.pages[-1]

    def chart(self, figure: Figure) -> None:
        """A whole page from the report's charts; flowing text continues on a new page."""
        self.pages.append(figure)
        self.y = _BOTTOM  # full

    def heading(self, text: str, level: int = 1) -> None:
        if level == 1:
            self.new_page()
        size = {1: 15.0, 2: 12.0, 3: 10.5}[level]
        page = self._room(_line_height(size) * 3)
        self.y -= _line_height(size) * (0.4 if level == 1 else 0.9)
        page.text(_LEFT, self.y, text, fontsize=size, fontweight="bold", va="top")
        self.y -= _line_height(size) * 1.3
        if level <= 2:
            self.toc.append((text, level, len(self.pages) - 1))

    def paragraph(self, text: str, size: float = 9.5, indent: float = 0.0) -> None:
        for line in _wrap(text, _RIGHT - _LEFT - indent, size):
            page = self._room(_line_height(size))
            page.text(_LEFT + indent, self.y, line, fontsize=size, va="top")
            self.y -= _line_height(size)
        self.y -= _line_height(size) * 0.5

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
        size: float = 8.0,
    ) -> None:  # fmt: skip
        """Columns of ``widths`` (fractions of the text width); long cells wrap; the header
        is repeated on every page the table continues on."""
        span = _RIGHT - _LEFT
        lefts = [_LEFT + span * sum(widths[:i]) for i in range(len(widths))]
        height = _line_height(size)

        def draw(cells: Sequence[str], bold: bool) -> None:
            wrapped = [_wrap(c, span * w - 0.01, size) for c, w in zip(cells, widths, strict=True)]
            lines = max(len(w) for w in wrapped)
            page = self._room(height * (lines + 0.4) + (0 if bold else height * 1.4))
            if not bold and self.y == _TOP:  # continued on a new page: the header again
                draw(header, True)
                page = self.pages[-1]
            for left, cell_lines in zip(lefts, wrapped, strict=True):
                for n, text in enumerate(cell_lines):
                    page.text(left, self.y - n * height, text, fontsize=size, va="top",
                              fontweight="bold" if bold else "normal")  # fmt: skip
            self.y -= height * (lines + 0.3)
            page.add_artist(_rule(self.y + height * 0.15))

        draw(header, True)
        for row in rows:
            draw(row, False)
        self.y -= height


def _rule(y: float) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D([_LEFT, _RIGHT], [y, y], linewidth=0.4, color="#999999")


# --- sections ----------------------------------------------------------------------------


def _introduction(doc: _Document, report: RegencyReport) -> None:
    doc.heading(SECTIONS[0])
    doc.heading("A. Dasar hukum", 3)
    for basis in (
        "Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik.",
        "Peraturan Presiden Nomor 76 Tahun 2013 tentang Pengelolaan Pengaduan Pelayanan Publik.",
        "Peraturan Menteri PANRB Nomor 14 Tahun 2017 tentang Pedoman Penyusunan Survei "
        "Kepuasan Masyarakat Unit Penyelenggara Pelayanan Publik.",
    ):
        doc.paragraph(f"- {basis}", indent=0.02)
    doc.heading("B. Maksud dan tujuan", 3)
    doc.paragraph(
        f"Survei Kepuasan Masyarakat (SKM) {report.organisation} periode "
        f"{report.period.title_id} dilaksanakan untuk mengukur tingkat kepuasan masyarakat "
        "atas pelayanan publik sebagai bahan penilaian terhadap unsur pelayanan yang masih "
        "perlu perbaikan dan untuk mendorong penyelenggara pelayanan meningkatkan kualitas "
        "pelayanannya. Hasil survei dipublikasikan dan ditindaklanjuti dengan rencana tindak "
        "lanjut pada unsur terlemah."
    )


def _method(doc: _Document, report: RegencyReport) -> None:
    doc.heading(SECTIONS[1])
    doc.heading("A. Kuesioner", 3)
    doc.paragraph(
        "Kuesioner memuat sembilan unsur pelayanan sesuai PermenPANRB 14/2017, masing-masing "
        "dengan empat pilihan jawaban (1 = tidak baik sampai 4 = sangat baik), serta profil "
        "responden (umur, jenis kelamin, pendidikan, pekerjaan, jenis layanan) yang boleh "
        "dilewati dan saran. Responden tidak diminta nama maupun nomor telepon."
    )
    doc.table(["Kode", "Unsur pelayanan"], [[c, n] for c, n in ELEMENT_NAMES.items()],
              [0.12, 0.88])  # fmt: skip
    doc.heading("B. Periode dan saluran", 3)
    period = report.period
    doc.paragraph(
        f"Periode survei: {period.title_id} ({period.start.isoformat()} sampai "
        f"{period.last_day.isoformat()}). Saluran: "
        + _counts(report.breakdown.get("channel", {}))
        + f". Jumlah responden: {report.respondents}."
    )
    filters = report.request.filters()
    if filters:
        doc.paragraph("Filter: " + ", ".join(f"{k}={v}" for k, v in filters.items()))
    doc.heading("C. Sampel (Krejcie dan Morgan)", 3)
    doc.paragraph(
        "Jumlah sampel minimum per unit dihitung dari populasi penerima layanan menurut "
        "Krejcie dan Morgan (1970): s = X²·N·P(1-P) / (d²(N-1) + X²·P(1-P)), X² = 3,841, "
        "P = 0,5, d = 0,05. Unit tanpa data populasi tidak dapat diperiksa."
    )
    rows = [
        [u.name, str(u.population) if u.population is not None else "-",
         str(u.sample_required) if u.sample_required is not None else "-", str(u.respondents),
         {True: "terpenuhi", False: "belum", None: "-"}[u.sample_met]]
        for u in report.units
    ]  # fmt: skip
    doc.table(["Unit", "Populasi", "Sampel min.", "Responden", "Status"], rows,
              [0.46, 0.13, 0.14, 0.14, 0.13])  # fmt: skip
    doc.heading("D. Pengolahan data", 3)
    method = (
        "NRR per unsur = jumlah nilai / jumlah jawaban unsur itu (jawaban kosong tidak "
        "dihitung). IKM = jumlah (NRR x 1/k) x 25 dengan k = jumlah unsur, dihitung eksak dan "
        "dibulatkan setengah ke atas pada dua desimal. Mutu: A (88,31-100) Sangat Baik, "
        "B (76,61-88,30) Baik, C (65,00-76,60) Kurang Baik, D (25,00-64,99) Tidak Baik. "
        "Indeks OPD dan kabupaten dihitung dari seluruh jawaban dalam cakupan."
    )
    if report.convention != "exact":
        method += " PERHATIAN: laporan ini memakai konvensi lama bobot 0,111."
    doc.paragraph(method)


def _counts(values: dict[str, int] | object) -> str:
    items = dict(values) if isinstance(values, dict) else {}
    shown = [f"{k} {v}" for k, v in items.items() if v]
    return ", ".join(shown) or "-"


def _nrr_rows(figures: Figures) -> list[list[str]]:
    return [
        [code, ELEMENT_NAMES.get(code, code), id_decimal(nrr),
         (m.value if (m := figures.element_mutu(code)) is not None else "-")]
        for code, nrr in figures.nrr_table().items()
    ]  # fmt: skip


def _results(doc: _Document, report: RegencyReport, progress: Progress) -> None:
    doc.heading(SECTIONS[2])
    doc.heading("A. Kabupaten", 2)
    doc.paragraph(headline(report, "Gabungan"), size=10)
    doc.table(["OPD", "Unit", "Responden", "IKM", "Mutu"],
              [[o.name, str(len(o.units)), str(o.respondents), id_decimal(o.ikm),
                o.mutu.value if o.mutu else "-"] for o in report.opds],
              [0.55, 0.09, 0.14, 0.12, 0.1])  # fmt: skip
    units = report.units
    pages = math.ceil(len(units) / UNITS_PER_CHART_PAGE)
    for first in range(0, len(units), UNITS_PER_CHART_PAGE):
        title = f"IKM per unit pelayanan, {report.period.title_id}"
        if pages > 1:
            title += f" ({first // UNITS_PER_CHART_PAGE + 1}/{pages})"
        doc.chart(ikm_bar_chart(units[first : first + UNITS_PER_CHART_PAGE], title))
    doc.chart(nrr_chart(report, f"Nilai per unsur (gabungan), {report.period.title_id}",
                        headline(report, "Gabungan")))  # fmt: skip
    done = 0
    for letter, opd in enumerate(report.opds):
        doc.heading(f"{_letter(letter + 1)}. {opd.name}", 2)
        doc.paragraph(headline(opd, opd.name), size=10)
        doc.table(["Kode", "Unsur", "NRR", "Mutu"], _nrr_rows(opd), [0.1, 0.64, 0.13, 0.13])
        doc.table(["Unit", "Responden", "IKM", "Mutu"],
                  [[u.name, str(u.respondents), id_decimal(u.ikm),
                    u.mutu.value if u.mutu else "-"] for u in opd.units],
                  [0.6, 0.15, 0.13, 0.12])  # fmt: skip
        for unit in opd.units:
            done += 1
            progress("pdf: units", done, len(units))
            if unit.respondents == 0:
                continue
            _unit(doc, unit)


def _letter(n: int) -> str:
    """B, C, ... Z, AA, AB ... (A is the regency)."""
    text = ""
    while n >= 0:
        text = chr(ord("A") + n % 26) + text
        n = n // 26 - 1
    return text


def _unit(doc: _Document, unit: UnitReport) -> None:
    doc.chart(nrr_chart(unit, unit.name, headline(unit, unit.code)))
    doc.new_page()
    doc.heading(unit.name, 3)
    doc.paragraph(headline(unit, unit.code), size=10)
    doc.table(["Kode", "Unsur", "NRR", "Mutu"], _nrr_rows(unit), [0.1, 0.64, 0.13, 0.13])
    doc.paragraph("Profil responden:", size=9.5)
    rows = [
        [DIMENSION_TITLES.get(dimension, dimension),
         ", ".join(f"{'tidak diisi' if k == NOT_ANSWERED else k} {v}"
                   for k, v in values.items() if v) or "-"]
        for dimension, values in unit.breakdown.items()
    ]  # fmt: skip
    doc.table(["Aspek", "Jumlah responden"], rows, [0.25, 0.75])


def group_suggestions(texts: Sequence[str]) -> list[tuple[str, int]]:
    """Suggestions masked (phone numbers, NIK, e-mail addresses) and grouped: the same text
    (case, spacing and final punctuation aside) counted once; most frequent first."""
    groups: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for text in texts:
        masked = " ".join(mask_personal_data(without_controls(text)).split())
        if not masked:
            continue
        key = re.sub(r"[.!?,;:\s]+$", "", masked.casefold())
        groups[key] += 1
        shown.setdefault(key, masked)
    return [(shown[key], count) for key, count in groups.most_common()]


def _analysis(doc: _Document, report: RegencyReport) -> None:
    doc.heading(SECTIONS[3])
    doc.heading("A. Unsur terlemah", 2)
    doc.paragraph(
        "Tiga unsur dengan NRR terendah per unit menjadi prioritas perbaikan. Gabungan: "
        + (
            ", ".join(
                f"{c} {ELEMENT_NAMES.get(c, c)} ({id_decimal(report.nrr(c))})"
                for c in report.weakest()
            )
            or "-"
        )  # fmt: skip
    )
    doc.table(["Unit", "Unsur terlemah (NRR)"],
              [[u.name, ", ".join(f"{c} ({id_decimal(u.nrr(c))})" for c in u.weakest())]
               for u in report.units if u.respondents],
              [0.45, 0.55])  # fmt: skip
    doc.heading("B. Saran masyarakat", 2)
    doc.paragraph(
        "Saran dikelompokkan per unit (saran yang sama dihitung sekali); nomor telepon, NIK, "
        "dan alamat e-mail disamarkan."
    )
    for unit in report.units:
        if not unit.suggestion_total:
            continue
        groups = group_suggestions([s.text for s in unit.suggestions])
        doc.paragraph(f"{unit.name}: {unit.suggestion_total} saran", size=9.5)
        doc.table(["Saran", "Jumlah"],
                  [[text, str(n)] for text, n in groups[:SUGGESTION_GROUPS_PER_UNIT]],
                  [0.86, 0.14], size=7.5)  # fmt: skip


async def report_rtl(storage: Storage, report: RegencyReport) -> list[RtlRow]:
    """The RTL items of the report's units whose quarter lies in the report's period (the
    follow-up of that period's weakest elements), in directory order."""
    from storage.rtl import rtl_rows

    async with storage.reading() as tx:
        items = await rtl_rows(tx)
    units = {u.code for u in report.units}
    start, end = report.period.start, report.period.end
    rows = []
    for item in items:
        quarter = parse_period(item.period)
        if item.unit_code in units and start <= quarter.start < end:
            state = item.state
            rows.append(
                RtlRow(
                    unit=item.unit_code,
                    element=item.element_code,
                    action=state.action or "-",
                    responsible=state.responsible or "-",
                    due=state.due_date,
                    status=state.status.value.replace("_", " "),
                )
            )
    return rows


def rtl_section(doc: _Document, rows: Sequence[RtlRow], unit_names: dict[str, str]) -> None:
    """The follow-up plan: the RTL rows (the RTL cycle hands them in), or a note."""
    doc.heading(SECTIONS[4])
    if not rows:
        doc.paragraph(
            "Belum ada rencana tindak lanjut yang tercatat untuk periode ini. Rencana disusun "
            "untuk tiga unsur terlemah setiap unit (lihat bagian IV)."
        )
        return
    doc.table(["Unit", "Unsur", "Rencana tindakan", "Penanggung jawab", "Tenggat", "Status"],
              [[unit_names.get(r.unit, r.unit), r.element, r.action, r.responsible,
                r.due.isoformat() if r.due else "-", r.status] for r in rows],
              [0.18, 0.1, 0.32, 0.16, 0.12, 0.12], size=7.5)  # fmt: skip


def _complaints(doc: _Document, lines: Sequence[RecapLine], unit_names: dict[str, str]) -> None:
    doc.heading(SECTIONS[5])
    if not lines:
        doc.paragraph("Tidak ada pengaduan yang diterima pada periode ini.")
        return
    received = sum(x.received for x in lines)
    finished = sum(x.finished for x in lines)
    percent = id_decimal_percent(100 * finished / received if received else 0.0)
    doc.paragraph(f"Pengaduan diterima: {received}; selesai: {finished} ({percent}%).")
    doc.table(["Unit", "Diterima", "Verif. tepat waktu", "Tanggapan tepat waktu",
               "Lewat batas", "Selesai", "% selesai"],
              [[unit_names.get(x.unit, x.unit), str(x.received), str(x.verified_in_time),
                str(x.answered_in_time), str(x.overdue), str(x.finished),
                id_decimal_percent(x.finished_percent)] for x in lines],
              [0.3, 0.1, 0.13, 0.14, 0.11, 0.1, 0.12], size=7.5)  # fmt: skip


def id_decimal_percent(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


# --- the file ----------------------------------------------------------------------------


def _cover(report: RegencyReport) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_PORTRAIT_IN)
    figure.text(0.5, 0.70, "LAPORAN", ha="center", fontsize=22, fontweight="bold")
    figure.text(0.5, 0.65, "SURVEI KEPUASAN MASYARAKAT", ha="center", fontsize=20,
                fontweight="bold")  # fmt: skip
    figure.text(0.5, 0.58, report.organisation, ha="center", fontsize=14)
    figure.text(0.5, 0.54, f"Periode {report.period.title_id}", ha="center", fontsize=13)
    figure.text(0.5, 0.40, textwrap.fill(headline(report, "Gabungan"), 70), ha="center",
                fontsize=11, va="top")  # fmt: skip
    figure.text(0.5, 0.1, "Disusun menurut PermenPANRB Nomor 14 Tahun 2017", ha="center",
                fontsize=9, color="#555555")  # fmt: skip
    return figure


_TOC_LINES = 48


def _toc_pages(entries: Sequence[tuple[str, int, int]], offset: int) -> list[Figure]:
    from matplotlib.figure import Figure

    pages = []
    for first in range(0, max(1, len(entries)), _TOC_LINES):
        figure = Figure(figsize=A4_PORTRAIT_IN)
        if first == 0:
            figure.text(_LEFT, _TOP, "DAFTAR ISI", fontsize=15, fontweight="bold", va="top")
        y = _TOP - 0.05
        for title, level, index in entries[first : first + _TOC_LINES]:
            indent = 0.0 if level == 1 else 0.03
            weight = "bold" if level == 1 else "normal"
            figure.text(_LEFT + indent, y, textwrap.shorten(title, 80, placeholder="..."),
                        fontsize=10, fontweight=weight, va="top")  # fmt: skip
            figure.text(_RIGHT, y, str(index + offset + 1), fontsize=10, ha="right", va="top")
            y -= 0.017
        pages.append(figure)
    return pages


def full_pages(
    report: RegencyReport,
    complaints: Sequence[RecapLine] = (),
    rtl: Sequence[RtlRow] = (),
    progress: Progress = no_progress,
) -> list[Figure]:
    """Every page of the report, numbered (the cover aside), in order."""
    unit_names = {u.code: u.name for u in report.units}
    doc = _Document()
    _introduction(doc, report)
    _method(doc, report)
    _results(doc, report, progress)
    _analysis(doc, report)
    rtl_section(doc, rtl, unit_names)
    _complaints(doc, complaints, unit_names)
    toc_count = math.ceil(max(1, len(doc.toc)) / _TOC_LINES)
    offset = 1 + toc_count  # the cover and the table of contents come first
    pages = [_cover(report), *_toc_pages(doc.toc, offset), *doc.pages]
    total = len(pages)
    for number, figure in enumerate(pages[1:], start=2):
        figure.text(0.5, 0.025, f"Laporan SKM {report.period.title_id} - halaman {number} "
                    f"dari {total}", ha="center", fontsize=8, color="#555555")  # fmt: skip
    return [plain_text(figure) for figure in pages]


def write_full_pdf(
    report: RegencyReport,
    path: Path,
    complaints: Sequence[RecapLine] = (),
    rtl: Sequence[RtlRow] = (),
    progress: Progress = no_progress,
) -> None:
    """Write the full Laporan SKM to ``path``: whole or not at all."""
    from matplotlib.backends.backend_pdf import PdfPages

    pages = full_pages(report, complaints, rtl, progress)
    partial = path.with_name(path.name + ".part")
    try:
        with PdfPages(partial) as pdf:
            metadata = pdf.infodict()
            metadata["Title"] = f"Laporan SKM lengkap {report.period.label}"
            metadata["Subject"] = report.organisation
            for number, figure in enumerate(pages, start=1):
                pdf.savefig(figure)
                progress("pdf: pages", number, len(pages))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
