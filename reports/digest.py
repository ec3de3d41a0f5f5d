"""The weekly digest for an OPD head: composed from the report queries, never recomputed.

For one OPD and one ISO week: responses per unit and the change from the week before, each
unit's IKM and grade with its trend, the weakest elements, complaints received / open /
overdue, three recent suggestions (anonymised), and one chart (per-unit IKM, the nine element
scores, an eight-week trend). Texts come from the message catalogue, in the recipient's language.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from reports.model import OpdReport, UnitReport
from reports.period import Period, PeriodKind
from survey_flows.catalog import text
from survey_flows.dates import date_words, number_text

# A unit needs this many respondents in the week before its grade means anything.
DEFAULT_MIN_RESPONDENTS = 10
TELEGRAM_LIMIT = 4096
SUGGESTIONS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class ComplaintFigures:
    """Complaints of the OPD: received during the week, open now, overdue now."""

    received: int = 0
    open: int = 0
    overdue: int = 0


@dataclass(frozen=True, slots=True)
class Digest:
    """What goes to one recipient: text parts (each within the channel's limit) and a PNG."""

    parts: tuple[str, ...]
    chart_png: bytes
    empty: bool
    summary: str = ""  # one line: the week, respondents, the OPD's IKM


def week_of(day: date) -> Period:
    """The ISO week (Monday to Sunday) containing ``day``."""
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period(PeriodKind.WEEK, f"{year}-W{week:02d}", monday, monday + timedelta(days=7))


def _number(value: Decimal | None, language: str) -> str:
    if value is None:
        return "-"
    shown = f"{value:.2f}"
    return shown.replace(".", ",") if language == "id" else shown


def _trend(now: Decimal | None, before: Decimal | None, language: str) -> str:
    if now is None or before is None:
        return ""
    delta = now - before
    if delta == 0:
        return " (=)"
    arrow = "▲" if delta > 0 else "▼"
    return f" {arrow} {_number(abs(delta), language)}"


def compose(
    *,
    opd: OpdReport,
    previous: OpdReport | None,
    week: Period,
    complaints: ComplaintFigures,
    trend: list[tuple[Period, Decimal | None]],
    language: str,
    min_respondents: int = DEFAULT_MIN_RESPONDENTS,
    late_since: datetime | None = None,
    limit: int = TELEGRAM_LIMIT,
    rtl_overdue: int = 0,
) -> Digest:
    """The digest's text (split to ``limit``) and chart for one OPD and week."""

    def t(key: str, **values: object) -> str:
        return text(language, key, **values)

    before = {u.code: u for u in (previous.units if previous else ())}
    lines = [t("digest.title", opd=opd.name), t("digest.week", label=_week_label(week, language))]
    if late_since is not None:
        lines.append(t("digest.late", date=date_words(late_since.date(), language)))
    empty = opd.respondents == 0 and complaints.received == 0 and complaints.open == 0
    if empty:
        lines += ["", t("digest.empty")]
    else:
        last = previous.respondents if previous else 0
        lines += ["", t("digest.respondents", count=number_text(opd.respondents, language),
                        last=number_text(last, language),
                        change=_signed(opd.respondents - last, language))]  # fmt: skip
        for unit in opd.units:
            lines.append(_unit_line(unit, before.get(unit.code), language, min_respondents))
        if opd.respondents >= min_respondents and opd.ikm is not None:
            weakest = ", ".join(
                f"{t(f'element.{code}')} ({_number(opd.nrr(code), language)})"
                for code in opd.weakest(3)
            )
            lines += ["", t("digest.weakest", elements=weakest)]
        lines += [
            "",
            t("digest.complaints", received=number_text(complaints.received, language),
              open=number_text(complaints.open, language),
              overdue=number_text(complaints.overdue, language)),
        ]  # fmt: skip
        suggestions = sorted(
            (s for u in opd.units for s in u.suggestions), key=lambda s: s.local_date, reverse=True
        )[:SUGGESTIONS_SHOWN]
        if suggestions:
            lines += ["", t("digest.suggestions")]
            # The report builder hands suggestions over masked (survey_flows/personal_data.py).
            lines += [f"• “{s.text[:280]}”" for s in suggestions]
    if rtl_overdue:
        # The follow-up plan's items past their due date (docs/rtl.md), even in a quiet week.
        lines += ["", t("digest.rtl_overdue", count=number_text(rtl_overdue, language))]
    headline = t(
        "digest.summary",
        label=_week_label(week, language),
        count=number_text(opd.respondents, language),
        ikm=_number(opd.ikm if opd.respondents >= min_respondents else None, language),
        open=number_text(complaints.open, language),
    )
    return Digest(
        parts=split_message("\n".join(lines), limit),
        chart_png=render_chart(opd, trend, language, min_respondents),
        empty=empty,
        summary=headline,
    )


def _signed(value: int, language: str) -> str:
    shown = number_text(abs(value), language)
    return f"+{shown}" if value > 0 else f"-{shown}" if value < 0 else shown


def _week_label(week: Period, language: str) -> str:
    year, number, _ = week.start.isocalendar()
    last = week.end - timedelta(days=1)
    start = f"{week.start.day} {text(language, f'date.month.{week.start.month}')}"
    return text(language, "digest.week_label", week=number, year=year, start=start,
                end=date_words(last, language, weekday=False))  # fmt: skip


def _unit_line(
    unit: UnitReport, before: UnitReport | None, language: str, min_respondents: int
) -> str:
    name = unit.name
    if unit.respondents == 0:
        return text(language, "digest.unit_none", unit=name)
    if unit.respondents < min_respondents or unit.ikm is None:
        return text(language, "digest.unit_few", unit=name,
                    count=number_text(unit.respondents, language),
                    minimum=number_text(min_respondents, language))  # fmt: skip
    previous_ikm = (
        before.ikm if before is not None and before.respondents >= min_respondents else None
    )
    mutu = unit.mutu
    return text(
        language,
        "digest.unit",
        unit=name,
        count=number_text(unit.respondents, language),
        ikm=_number(unit.ikm, language),
        mutu=mutu.value if mutu else "-",
        kinerja=mutu.kinerja if mutu else "-",
        trend=_trend(unit.ikm, previous_ikm, language),
    )


def split_message(body: str, limit: int) -> tuple[str, ...]:
    """Cut a long text into parts within ``limit``, at line breaks where possible."""
    parts: list[str] = []
    current = ""
    for line in body.split("\n"):
        while len(line) > limit:  # a single line longer than a message
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class ChartData:
    """Exactly the numbers the chart draws (the tests compare them with the report)."""

    units: tuple[tuple[str, Decimal], ...]  # (unit name, IKM) of units with enough answers
    elements: tuple[tuple[str, Decimal | None], ...]  # (element code, NRR) of the OPD
    trend: tuple[tuple[str, Decimal | None], ...]  # (week label, OPD IKM), oldest first


def chart_data(
    opd: OpdReport, trend: list[tuple[Period, Decimal | None]], min_respondents: int
) -> ChartData:
    units = tuple(
        (u.name, u.ikm) for u in opd.units if u.respondents >= min_respondents and u.ikm is not None
    )
    elements = tuple((code, opd.nrr(code)) for code in opd.elements)
    weeks = tuple((_trend_label(p), value) for p, value in trend)
    return ChartData(units, elements, weeks)


def _trend_label(period: Period) -> str:
    """``W14`` for a week (the digest's trend), else the period's label (``2026-Q1``)."""
    return f"W{period.start.isocalendar()[1]}" if period.kind is PeriodKind.WEEK else period.label


def render_chart(
    opd: OpdReport,
    trend: list[tuple[Period, Decimal | None]],
    language: str,
    min_respondents: int,
    trend_title: str | None = None,
) -> bytes:
    """One PNG: per-unit IKM, the nine element scores, and the trend (the digest's eight
    weeks; the console's quarters)."""
    # Imported here: matplotlib costs ~0.3 s at start-up, and most processes never draw.
    from matplotlib.figure import Figure

    from reports.charts import plain_text

    data = chart_data(opd, trend, min_respondents)
    figure = Figure(figsize=(11, 4.2), dpi=110)
    left, middle, right = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
    names = [textwrap.fill(name, 24, max_lines=3, placeholder="…") for name, _ in data.units]
    values = [float(ikm) for _, ikm in data.units]
    bars = left.barh(names or ["-"], values or [0.0], color="#2b6cb0")
    left.bar_label(bars, labels=[_number(ikm, language) for _, ikm in data.units] or [""],
                   padding=3, fontsize=8)  # fmt: skip
    left.set_xlim(25, 100)
    left.set_title(text(language, "digest.chart.units"), fontsize=10)
    left.invert_yaxis()
    left.tick_params(labelsize=7)
    codes = [code for code, _ in data.elements]
    scores = [float(score or 0) for _, score in data.elements]
    middle.bar(codes, scores, color="#38a169")
    middle.set_ylim(1, 4)
    middle.set_title(text(language, "digest.chart.elements"), fontsize=10)
    middle.tick_params(labelsize=8)
    positions = list(range(len(data.trend)))
    points = [float(v) if v is not None else float("nan") for _, v in data.trend]
    right.plot(positions, points, marker="o", color="#dd6b20")
    right.set_xticks(positions, [label for label, _ in data.trend])
    right.set_xlim(-0.5, len(positions) - 0.5)
    right.set_ylim(25, 100)
    right.set_title(trend_title or text(language, "digest.chart.trend"), fontsize=10)
    right.tick_params(labelsize=8)
    figure.suptitle(opd.name, fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    plain_text(figure).savefig(buffer, format="png")
    return buffer.getvalue()
