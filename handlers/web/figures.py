"""The figures: the admin's overview of every OPD, an OPD's page, a unit's page.

Every number comes from the report builders (``reports.build`` through ``reports.cache``):
pages pick fields of :class:`~reports.model.UnitReport` and friends, they never compute an
index. Complaint figures come from the recap (``reports.complaints_recap``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from aiohttp import web

from handlers.web.core import Area, PageContext, Refused
from reports.cache import ReportCache
from reports.complaints_recap import RecapLine, recap
from reports.digest import render_chart
from reports.model import ELEMENT_NAMES, OpdReport, RegencyReport, ReportRequest, UnitReport
from reports.period import Period, PeriodError, month_of, parse_period, quarter_of, quarters_up_to
from reports.period import recent_periods as picker_periods
from storage.complaints import complaints_between
from storage.reports import ReportStore
from storage.rtl import overdue_by_opd
from survey_flows.web_access import Action

area = Area("figures")
area.menu("web.overview.menu", "/ikhtisar", Action.VIEW_OVERVIEW)
area.menu("web.opd.menu", "/opd/{opd}", Action.VIEW_OPD)

REPORTS_KEY = web.AppKey("web_console_reports", ReportCache)
TREND_QUARTERS = 4
SUGGESTIONS_SHOWN = 20


def reports(ctx: PageContext) -> ReportCache:
    return ctx.request.app[REPORTS_KEY]


async def rtl_overdue(ctx: PageContext) -> dict[str, int]:
    """Follow-up (RTL) items past their due date, per OPD: flagged on the overview."""
    async with ctx.storage.reading() as tx:
        return await overdue_by_opd(tx, today(ctx))


def today(ctx: PageContext) -> date:
    return ctx.now.astimezone(ctx.config.zone).date()


def chosen_period(ctx: PageContext) -> Period:
    """``?periode=`` (any label ``skm-bot report --period`` takes), else this quarter."""
    asked = ctx.request.query.get("periode", "").strip()
    if not asked:
        return quarter_of(today(ctx))
    try:
        return parse_period(asked[:40])
    except PeriodError:
        raise Refused("bad_input", 400, "period not understood") from None


@dataclass(frozen=True)
class UnitRow:
    """One unit's line in an overview: the report's figures and the flags beside them."""

    unit: UnitReport
    trend: tuple[UnitReport | None, ...]
    silent_this_month: bool  # active, and no response yet this month


@dataclass(frozen=True)
class OpdBlock:
    opd: OpdReport
    rows: tuple[UnitRow, ...]


@dataclass(frozen=True)
class Overview:
    report: RegencyReport  # the chosen period
    quarters: list[Period]  # the trend's, oldest first
    trend: list[RegencyReport]  # one per quarter
    blocks: list[OpdBlock]


async def overview_blocks(ctx: PageContext, period: Period, opd_codes: tuple[str, ...]) -> Overview:
    """The period's report, the trend quarters' reports, and each OPD with its units' rows."""
    cache = reports(ctx)
    version = await cache.version()
    main = await cache.report(ReportRequest(period, opd_codes=opd_codes, suggestion_limit=0),
                              version)  # fmt: skip
    quarters = quarters_up_to(today(ctx), TREND_QUARTERS)
    trend_reports = [
        await cache.report(ReportRequest(q, opd_codes=opd_codes, suggestion_limit=0), version)
        for q in quarters
    ]
    answered = await ReportStore(ctx.storage).units_answered_since(month_of(today(ctx)).start)
    by_quarter = [{u.code: u for u in r.units} for r in trend_reports]
    blocks = [
        OpdBlock(
            opd,
            tuple(
                UnitRow(
                    unit,
                    tuple(q.get(unit.code) for q in by_quarter),
                    unit.active and unit.code not in answered,
                )
                for unit in opd.units
            ),
        )
        for opd in main.opds
    ]
    return Overview(main, quarters, trend_reports, blocks)


async def complaint_lines(
    ctx: PageContext, period: Period, opd_code: str | None
) -> list[RecapLine]:
    start, end = period.bounds(ctx.config.zone)
    async with ctx.storage.reading() as tx:
        rows = await complaints_between(tx, start, end, opd_code)
    return recap(rows, ctx.now)


def picker(ctx: PageContext, period: Period) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the period picker; the chosen one is always offered."""
    offered = picker_periods(today(ctx))
    if period not in offered:
        offered.insert(0, period)
    return [(p.label, f"{p.title_id} ({p.label})", p == period) for p in offered]


@area.page("/ikhtisar", action=Action.VIEW_OVERVIEW, name="figures.overview")
async def overview(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    period = chosen_period(ctx)
    view = await overview_blocks(ctx, period, ())
    return ctx.render("overview.html", report=view.report, period=period,
                      quarters=view.quarters, blocks=view.blocks, periods=picker(ctx, period),
                      complaints=await complaint_lines(ctx, period, None),
                      unit_names={u.code: u.name for u in view.report.units},
                      title=ctx.t("web.overview.title"), chart=None,
                      rtl_overdue=await rtl_overdue(ctx))  # fmt: skip


@area.page("/opd/{opd}", action=Action.VIEW_OPD, scope="opd", name="figures.opd")
async def opd_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    opd_code = request.match_info["opd"]
    directory = await ctx.storage.directory()
    opd = directory.opd(opd_code)
    if opd is None:
        raise web.HTTPNotFound()
    period = chosen_period(ctx)
    view = await overview_blocks(ctx, period, (opd_code,))
    chart = ctx.url(f"/opd/{opd_code}/grafik.png?periode={period.label}")
    return ctx.render("overview.html", report=view.report, period=period,
                      quarters=view.quarters, blocks=view.blocks, periods=picker(ctx, period),
                      complaints=await complaint_lines(ctx, period, opd_code),
                      rtl_overdue=await rtl_overdue(ctx),
                      unit_names={u.code: u.name for u in view.report.units}, title=opd.name,
                      chart=chart)  # fmt: skip


# matplotlib is not thread-safe (shared font and text caches): one chart drawn at a time.
_CHART_LOCK = asyncio.Lock()


@area.page("/opd/{opd}/grafik.png", action=Action.VIEW_OPD, scope="opd", name="figures.chart")
async def opd_chart(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """The digest's chart for the OPD: units' IKM, the nine elements, the quarterly trend."""
    opd_code = request.match_info["opd"]
    view = await overview_blocks(ctx, chosen_period(ctx), (opd_code,))
    if not view.report.opds:
        raise web.HTTPNotFound()
    trend = [
        (quarter, next((o.ikm for o in report.opds if o.code == opd_code), None))
        for quarter, report in zip(view.quarters, view.trend, strict=True)
    ]
    async with _CHART_LOCK:
        png = await asyncio.to_thread(render_chart, view.report.opds[0], trend, ctx.language,
                                      ctx.config.min_respondents,
                                      ctx.t("web.chart.trend"))  # fmt: skip
    return web.Response(body=png, content_type="image/png")


@area.page("/unit/{unit}", action=Action.VIEW_OPD, scope_in_handler=True, name="figures.unit")
async def unit_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["unit"]
    unit_info = (await ctx.storage.directory()).unit(code)
    if unit_info is None:
        raise web.HTTPNotFound()
    ctx.require(Action.VIEW_OPD, unit_info.opd_code, target=code)
    period = chosen_period(ctx)
    cache = reports(ctx)
    version = await cache.version()
    report = await cache.report(
        ReportRequest(period, unit_codes=(code,), suggestion_limit=SUGGESTIONS_SHOWN), version
    )
    quarters = quarters_up_to(today(ctx), TREND_QUARTERS)
    trend = [
        next(
            iter(
                (
                    await cache.report(
                        ReportRequest(q, unit_codes=(code,), suggestion_limit=0), version
                    )
                ).units
            ),
            None,
        )  # fmt: skip
        for q in quarters
    ]
    [unit] = report.units
    # Masked by the report builder (reports/build.py), like every report's suggestions.
    suggestions = [(s.local_date, s.text) for s in unit.suggestions]
    lines = [line for line in await complaint_lines(ctx, period, unit_info.opd_code)
             if line.unit == code]  # fmt: skip
    return ctx.render("unit.html", unit=unit, period=period, periods=picker(ctx, period),
                      quarters=list(zip(quarters, trend, strict=True)),
                      element_names=ELEMENT_NAMES, suggestions=suggestions,
                      complaints=lines[0] if lines else None)  # fmt: skip
