"""Downloads: the SKM report for any period and scope (XLSX, PDF, CSV, JSON), and posters.

The files are the ones ``skm-bot report`` and ``skm-bot poster`` write (``reports.outputs``,
``reports.poster``); every download is audited. A head gets their OPD's only.

The full Laporan SKM is drawn in a process of its own (:class:`Renderer`): matplotlib holds
the interpreter's lock for up to two seconds at a time while drawing its pages, so in a
thread it would stall every other page of the console for that long, again and again over
the ~50 s of a regency-wide report (bench/console_full_report.py).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from handlers.web.core import Area, PageContext, Refused
from handlers.web.figures import chosen_period, picker, reports, today
from handlers.web.public import public_results_base, record_first_publication
from reports.complaints_recap import report_recap
from reports.full_report import report_rtl
from reports.model import ReportRequest
from reports.outputs import (
    FORMATS,
    MEDIA_TYPES,
    full_report_filename,
    report_bytes,
    report_filename,
)
from reports.pekppp_pack import PackOptions, write_pack
from reports.period import Period, latest_complete_quarter, quarter_of
from reports.poster import PosterError, poster_pdf, posters_for, results_link
from survey_flows.web_access import Action

log = logging.getLogger(__name__)
area = Area("downloads")
area.menu("web.downloads.menu", "/unduh", Action.DOWNLOAD_REPORT)

R = TypeVar("R")


class Renderer:
    """Runs a long drawing in one worker process (started on demand, a fresh one for each
    drawing so that its memory goes back when it is done), off the event loop and off its
    interpreter lock, at a lower priority than the processes answering pages and chats. One
    at a time: a second full report waits for the first (two cores)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, function: Callable[..., R], *args: Any) -> R:
        if self._pool is None:
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    max_tasks_per_child=1, initializer=os.nice, initargs=(10,))  # fmt: skip
            except (OSError, ImportError, NotImplementedError) as exc:
                # A host without working semaphores (no /dev/shm): slower pages, not none.
                log.warning("no worker process for drawing; drawing in a thread",
                            extra={"error": type(exc).__name__})  # fmt: skip
                return await asyncio.to_thread(function, *args)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        except BrokenProcessPool:
            self._pool = None  # the worker died (killed, out of memory): a new one next time
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


RENDERER_KEY = web.AppKey("web_console_renderer", Renderer)


def setup_renderer(app: web.Application) -> None:
    """Give the console its :class:`Renderer`, stopped with the application."""
    renderer = app[RENDERER_KEY] = Renderer()

    async def stop(_: web.Application) -> None:
        renderer.close()

    app.on_cleanup.append(stop)


FORMAT_LABELS = {"xlsx": "Excel (XLSX)", "pdf": "PDF", "csv": "CSV", "json": "JSON"}
# The full Laporan SKM (``skm-bot report --format pdf --full``), offered beside the formats.
FULL = "lengkap"


@dataclass
class DownloadForm:
    """What the form asks, and what was wrong with it (field -> catalogue key)."""

    period: str = ""
    opd: str = ""
    format: str = "xlsx"
    unit: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _attachment(body: bytes, name: str, media_type: str) -> web.Response:
    return web.Response(
        body=body,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


async def _form_page(ctx: PageContext, form: DownloadForm, status: int = 200) -> web.Response:
    directory = await ctx.storage.directory()
    own = ctx.principal.opd_code if ctx.principal is not None else None
    principal = ctx.require(Action.DOWNLOAD_REPORT, own)  # the admin's is None: every OPD
    opds = [o for o in directory.opds if principal.regency_wide or o.code == principal.opd_code]
    units = [u for u in directory.units if any(u.opd_code == o.code for o in opds)]
    return ctx.render("downloads.html", status=status, form=form, opds=opds, units=units,
                      formats=[*((f, FORMAT_LABELS[f]) for f in FORMATS),
                               (FULL, ctx.t("web.downloads.full"))],
                      periods=picker(ctx, _shown_period(ctx)),
                      regency_wide=principal.regency_wide, pack_years=_pack_years(ctx),
                      posters=bool(ctx.config.telegram_bot_username
                                   or ctx.config.whatsapp_number))  # fmt: skip


def _pack_years(ctx: PageContext) -> list[int]:
    """The years whose PEKPPP pack is offered: this one and the last."""
    year = today(ctx).year
    return [year, year - 1]


def _shown_period(ctx: PageContext) -> Period:
    try:
        return chosen_period(ctx)
    except Refused:  # shown beside the field; the picker offers this quarter
        return quarter_of(today(ctx))


@area.page("/unduh", action=Action.DOWNLOAD_REPORT, scope_in_handler=True, name="downloads.form")
async def download_form(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    assert ctx.principal is not None
    return await _form_page(ctx, DownloadForm(opd=ctx.principal.opd_code or ""))


@area.page(
    "/unduh/laporan", action=Action.DOWNLOAD_REPORT, scope_in_handler=True, name="downloads.report"
)
async def download_report(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    query = request.query
    form = DownloadForm(query.get("periode", "")[:40], query.get("opd", "")[:40],
                        query.get("format", "")[:8], query.get("unit", "")[:40])  # fmt: skip
    if form.format not in (*FORMATS, FULL):
        form.errors["format"] = "web.downloads.error.format"
    period = None
    try:
        period = chosen_period(ctx)
    except Refused:
        form.errors["period"] = "web.downloads.error.period"
    directory = await ctx.storage.directory()
    if form.opd and directory.opd(form.opd) is None:
        form.errors["opd"] = "web.downloads.error.opd"
    unit = directory.unit(form.unit) if form.unit else None
    if form.unit and (unit is None or (form.opd and unit.opd_code != form.opd)):
        form.errors["unit"] = "web.downloads.error.unit"
    if form.errors or period is None:
        await ctx.audit("refused", target="report", detail=", ".join(sorted(form.errors)))
        return await _form_page(ctx, form, status=400)
    # A head may only ask for their OPD: "all OPDs" or another one is refused and audited.
    scope = unit.opd_code if unit is not None else form.opd or None
    ctx.require(Action.DOWNLOAD_REPORT, scope, target=f"report {form.unit or scope or 'all'}")
    request_ = ReportRequest(period, opd_codes=(form.opd,) if form.opd else (),
                             unit_codes=(form.unit,) if form.unit else ())  # fmt: skip
    report = await reports(ctx).report(request_)
    if form.format == FULL:
        complaints = await report_recap(ctx.storage, report, ctx.config.zone, ctx.now)
        rtl = await report_rtl(ctx.storage, report)
        renderer = ctx.request.app[RENDERER_KEY]
        body = await renderer.run(report_bytes, report, "pdf", complaints, rtl)
        name = full_report_filename(request_, form.unit or form.opd)
        media_type = MEDIA_TYPES["pdf"]
    else:
        body = await asyncio.to_thread(report_bytes, report, form.format)
        name = report_filename(request_, form.format, form.unit or form.opd)
        media_type = MEDIA_TYPES[form.format]
    await ctx.audit(target=name)
    return _attachment(body, name, media_type)


@area.page(
    "/unduh/poster/{unit}",
    action=Action.DOWNLOAD_POSTER,
    scope_in_handler=True,
    name="downloads.poster",
)
async def download_poster(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["unit"]
    directory = await ctx.storage.directory()
    unit = directory.unit(code)
    if unit is None:
        raise web.HTTPNotFound()
    ctx.require(Action.DOWNLOAD_POSTER, unit.opd_code, target=f"poster {code}")
    quarter = latest_complete_quarter(today(ctx))
    try:
        [content] = await posters_for(
            ctx.storage,
            [unit],
            directory,
            organisation=ctx.config.organisation,
            telegram_bot_username=ctx.config.telegram_bot_username,
            whatsapp_number=ctx.config.whatsapp_number,
            quarter=quarter,
            min_respondents=ctx.config.min_respondents,
            public_base=public_results_base(ctx),
        )
    except PosterError:
        raise Refused("poster_unavailable", 409, "no channel configured for posters") from None
    await record_first_publication(ctx, quarter)  # a poster to print publishes the quarter
    body = await asyncio.to_thread(poster_pdf, content)
    name = f"poster-{code}.pdf"
    await ctx.audit(target=name)
    return _attachment(body, name, MEDIA_TYPES["pdf"])


@area.page(
    "/unduh/pekppp/{opd}",
    action=Action.DOWNLOAD_REPORT,
    scope_in_handler=True,
    name="downloads.pekppp",
)
async def download_pekppp(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """The OPD's PEKPPP evidence pack (as ``skm-bot pekppp pack`` writes it) for ``?tahun=``
    (this year or the last; another is the console's 404)."""
    code = request.match_info["opd"]
    directory = await ctx.storage.directory()
    year_text = request.query.get("tahun", "")[:8]
    years = _pack_years(ctx)
    if directory.opd(code) is None or not year_text.isdigit() or int(year_text) not in years:
        raise web.HTTPNotFound()
    ctx.require(Action.DOWNLOAD_REPORT, code, target=f"pekppp {code} {year_text}")
    base = public_results_base(ctx)
    options = PackOptions(
        year=int(year_text),
        organisation=ctx.config.organisation,
        zone=ctx.config.zone,
        now=ctx.now,
        public_url=lambda unit: results_link(base, unit) if base else None,
    )
    with tempfile.TemporaryDirectory(prefix="skm-pack-") as folder:
        path = await write_pack(ctx.storage, code, Path(folder), options)
        body = await asyncio.to_thread(path.read_bytes)
    await ctx.audit(target=path.name)
    return _attachment(body, path.name, "application/zip")
