"""matplotlib charts of the report.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``:
no global state, no display, nothing to close.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reports.model import ELEMENT_NAMES, Figures, UnitReport, id_decimal
from survey_flows.ikm import Mutu

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn (~0.3 s at start-up)
    from matplotlib.figure import Figure

__all__ = ["A4_PORTRAIT_IN", "GRADE_COLOURS", "ikm_bar_chart", "nrr_chart", "plain_text"]

A4_PORTRAIT_IN = (8.27, 11.69)
"""A4 paper, portrait, in inches (210 x 297 mm)."""

GRADE_COLOURS = {
    Mutu.A: "#1a7f37",
    Mutu.B: "#4c8bf5",
    Mutu.C: "#e3a008",
    Mutu.D: "#d1242f",
    None: "#b0b0b0",
}
"""Bar colour per grade (grey: not computable)."""


def plain_text(figure: Figure) -> Figure:
    """``figure`` with every text drawn literally: a suggestion or a name holding ``$...$``
    must not be parsed as mathtext (a bad expression aborts the whole drawing)."""
    from matplotlib.text import Text

    for item in figure.findobj(Text):
        if isinstance(item, Text):
            item.set_usetex(False)
            item.set_parse_math(False)
    return figure


_IKM_LINES = ((65.00, "C"), (76.61, "B"), (88.31, "A"))
_NRR_LINES = ((2.60, "C"), (3.0644, "B"), (3.5324, "A"))


def ikm_bar_chart(units: Sequence[UnitReport], title: str) -> Figure:
    """Horizontal bars of each unit's IKM, coloured by grade, with the grade boundaries."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_PORTRAIT_IN)
    # A fixed bar pitch, top-aligned: a page of three units looks like a page of forty.
    height = min(0.84, 0.03 + 0.0205 * len(units))
    axes = figure.add_axes((0.38, 0.90 - height, 0.55, height))
    labels = [f"{u.name[:38]}" for u in units]
    values = [float(u.ikm) if u.ikm is not None else 0.0 for u in units]
    colours = [GRADE_COLOURS[u.mutu] for u in units]
    positions = list(range(len(units)))[::-1]
    axes.barh(positions, values, color=colours, height=0.7)
    for position, unit, value in zip(positions, units, values, strict=True):
        text = (
            f"{id_decimal(unit.ikm)} ({unit.mutu.value}) n={unit.respondents}"
            if unit.ikm is not None and unit.mutu is not None
            else f"- n={unit.respondents}"
        )
        axes.text(max(value, 25.0) + 0.5, position, text, va="center", fontsize=6.5)
    axes.set_yticks(positions, labels, fontsize=7)
    axes.set_xlim(25, 112)
    axes.set_ylim(-0.6, len(units) - 0.4)
    for boundary, grade in _IKM_LINES:
        axes.axvline(boundary, color="#555555", linewidth=0.6, linestyle="--")
        axes.text(
            boundary,
            1.005,
            grade,
            fontsize=7,
            ha="center",
            va="bottom",
            color="#555555",
            transform=axes.get_xaxis_transform(),
        )
    axes.set_xlabel("IKM (25-100)")
    figure.suptitle(title, fontsize=11)
    return figure


def nrr_chart(figures: Figures, title: str, subtitle: str = "") -> Figure:
    """Bars of the NRR of each element (1-4) with the element-grade boundaries."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4_PORTRAIT_IN)
    axes = figure.add_axes((0.12, 0.52, 0.82, 0.38))
    codes = list(figures.elements)
    values = [float(v) if (v := figures.nrr(code)) is not None else 0.0 for code in codes]
    colours = [GRADE_COLOURS[figures.element_mutu(code)] for code in codes]
    bars = axes.bar(codes, values, color=colours)
    for bar, code in zip(bars, codes, strict=True):
        shown = figures.nrr(code)
        axes.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + 0.03,
            id_decimal(shown),
            ha="center",
            fontsize=8,
        )
    for boundary, grade in _NRR_LINES:
        axes.axhline(boundary, color="#555555", linewidth=0.6, linestyle="--")
        axes.text(len(codes) - 0.4, boundary + 0.02, grade, fontsize=7, color="#555555")
    axes.set_ylim(0, 4.3)
    axes.set_ylabel("NRR (1-4)")
    figure.suptitle(title, fontsize=12)
    if subtitle:
        figure.text(0.5, 0.925, subtitle, ha="center", fontsize=9)
    legend = "\n".join(f"{code}: {ELEMENT_NAMES.get(code, code)}" for code in codes)
    figure.text(0.12, 0.47, legend, va="top", fontsize=8, family="DejaVu Sans")
    return figure
