"""The public results page (issue 17, item 1): no sign-in, no personal data.

``/hasil`` lists the regency's units, OPD by OPD, with their latest complete quarter's IKM,
grade and respondents; ``/hasil/unit/<code>`` is a unit's stable page (printed under the QR
codes of its poster when ``PUBLIC_BASE_URL`` is set): the IKM of the last quarters and the
nine elements' scores. Figures are shown only from the minimum number of respondents
(``REPORT_MIN_RESPONDENTS``), as the posters do (``reports.poster.result_line``).

Every figure comes from the report cache (``reports.cache``), built with no suggestion at all
(``suggestion_limit=0``): no suggestion, complaint or respondent detail is ever read for these
pages. Pages are the same for everyone (the menu of a signed-in visitor is not drawn), so they
may be cached by browsers and proxies (``Cache-Control: public``; ``Vary: Cookie`` for the
language).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from handlers.web.core import Area, PageContext
from handlers.web.figures import reports, today
from reports.model import ELEMENT_NAMES, RegencyReport, ReportRequest, UnitReport
from reports.period import Period, latest_complete_quarter, quarters_up_to
from reports.poster import RESULTS_PATH
from storage import Storage
from storage.publications import record_publication
from storage.rtl import done_items
from survey_flows.dates import date_words

area = Area("public")

PUBLIC_PATH = RESULTS_PATH
TREND_QUARTERS = 4
CACHE_CONTROL = "public, max-age=300"
# The quarters whose first publication this process has recorded, per database.
_recorded: weakref.WeakKeyDictionary[Storage, set[str]] = weakref.WeakKeyDictionary()


def unit_path(code: str) -> str:
    """The stable path of a unit's public page (under the console's prefix)."""
    return f"{PUBLIC_PATH}/unit/{code}"


def public_results_base(ctx: PageContext) -> str | None:
    """``PUBLIC_BASE_URL`` and the prefix, for the posters' link (``None`` when unset: a
    poster never prints a local address)."""
    base = ctx.config.public_base_url
    return f"{base.rstrip('/')}{ctx.config.prefix}" if base else None


@dataclass(frozen=True)
class PublicFigures:
    """A unit's figures for one quarter as the public may see them."""

    period: Period
    respondents: int
    shown: UnitReport | None  # the report's figures, only from the minimum respondents


def public_figures(unit: UnitReport | None, period: Period, minimum: int) -> PublicFigures:
    respondents = 0 if unit is None else unit.respondents
    enough = unit is not None and respondents >= minimum and unit.ikm is not None
    return PublicFigures(period, respondents, unit if enough else None)


async def _quarter_reports(ctx: PageContext) -> tuple[list[Period], list[RegencyReport]]:
    """The last complete quarters (oldest first) and the regency's report of each: the same
    few cached reports serve the list and every unit's page."""
    latest = latest_complete_quarter(today(ctx))
    quarters = quarters_up_to(latest.last_day, TREND_QUARTERS)
    cache = reports(ctx)
    version = await cache.version()
    built = [await cache.report(ReportRequest(q, suggestion_limit=0), version) for q in quarters]
    await record_first_publication(ctx, latest)
    return quarters, built


async def record_first_publication(ctx: PageContext, quarter: Period) -> None:
    """The quarter is being served publicly: keep its first date for the PEKPPP evidence pack
    (``skm-bot pekppp pack``); the console's poster download records its quarter too. The row
    is insert-if-absent (later views keep the first date); this process writes it once per
    quarter, not on every view."""
    seen = _recorded.setdefault(ctx.storage, set())
    if quarter.label in seen:
        return
    async with ctx.storage.transaction() as tx:
        await record_publication(tx, quarter.label, ctx.now)
    seen.add(quarter.label)


def _period_name(ctx: PageContext, period: Period) -> str:
    """``Triwulan III 2026`` in Indonesian, ``2026-Q3`` in English."""
    return period.title_id if ctx.language == "id" else period.label


def _public(ctx: PageContext, template: str, **values: Any) -> web.Response:
    """Render for everyone alike (no menu, no name) and let caches keep it."""
    anonymous = replace(ctx, principal=None)
    response = anonymous.render(template, public_home=ctx.url(PUBLIC_PATH),
                                period_name=lambda p: _period_name(ctx, p), **values)  # fmt: skip
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = "Cookie"
    return response


@area.page(PUBLIC_PATH, action=None, name="public.list")
async def results(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    quarters, built = await _quarter_reports(ctx)
    latest = built[-1]
    minimum = ctx.config.min_respondents
    opds = [
        (opd.name, [(unit, public_figures(unit, latest.period, minimum)) for unit in opd.units])
        for opd in latest.opds
    ]
    return _public(ctx, "public_list.html", period=latest.period, opds=opds,
                   minimum=minimum, unit_path=unit_path)  # fmt: skip


@area.page(PUBLIC_PATH + "/unit/{unit}", action=None, name="public.unit")
async def unit_results(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["unit"]
    directory = await ctx.storage.directory()
    unit_info = directory.unit(code)
    if unit_info is None:
        raise web.HTTPNotFound()
    quarters, built = await _quarter_reports(ctx)
    minimum = ctx.config.min_respondents
    trend = [
        public_figures(next((u for u in r.units if u.code == code), None), q, minimum)
        for q, r in zip(quarters, built, strict=True)
    ]
    latest = trend[-1]
    opd = directory.opd(unit_info.opd_code)
    # "You said, we did": the unit's finished follow-ups (no names, notes or reasons).
    async with ctx.storage.reading() as tx:
        done = await done_items(tx, code)
    zone, language = ctx.config.zone, ctx.language
    return _public(ctx, "public_unit.html", unit_name=unit_info.name, unit_code=code,
                   opd_name=opd.name if opd else unit_info.opd_code, latest=latest,
                   trend=trend[::-1], minimum=minimum, element_names=ELEMENT_NAMES,
                   done=done,
                   date_words=lambda moment: date_words(
                       moment.astimezone(zone).date(), language, weekday=False
                   ))  # fmt: skip
