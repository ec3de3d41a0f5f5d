"""The follow-up plan (RTL) in the console (issue 17): an OPD's items, one item with its plan,
approval and progress, and every OPD's items for the admin.

A change runs: the item locked -> the pure ``survey_flows.rtl.step`` -> ``apply_change`` and
its audit line, in one transaction. Officers and heads change their own OPD's items; the
admin reads them all."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from aiohttp import web

from handlers.web.core import Area, PageContext, Refused
from handlers.web.desk import DESK_KEY
from reports.model import ELEMENT_NAMES
from storage import Tx
from storage.rtl import RtlRow, apply_change, followup_readers, rtl_row, rtl_rows
from storage.web import record_audit
from storage.web_desk import opd_name
from survey_flows.dates import date_words, moment_words
from survey_flows.rtl import RtlStatus, available, followup_news, is_overdue, step
from survey_flows.types import Outbound
from survey_flows.web_access import Action, PrincipalKind

area = Area("rtl")
area.menu("web.rtl.menu", "/opd/{opd}/rtl", Action.VIEW_RTL)
area.menu("web.rtl.menu", "/rtl", Action.VIEW_RTL)  # admins: every OPD

PROGRESS_CHOICES = tuple(s.value for s in RtlStatus if s is not RtlStatus.DIRENCANAKAN)


def _today(ctx: PageContext) -> date:
    return ctx.now.astimezone(ctx.config.zone).date()


def _items(ctx: PageContext, rows: list[RtlRow]) -> list[dict[str, object]]:
    today = _today(ctx)
    return [{"row": r, "overdue": is_overdue(r.state, today)} for r in rows]


@area.page("/rtl", action=Action.VIEW_RTL, name="rtl.all")
async def every_rtl(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with ctx.storage.reading() as tx:
        rows = await rtl_rows(tx)
    return ctx.render("rtl_list.html", opd=None, opd_name=None, items=_items(ctx, rows),
                      element_names=ELEMENT_NAMES)  # fmt: skip


@area.page("/opd/{opd}/rtl", action=Action.VIEW_RTL, scope="opd", name="rtl.list")
async def rtl_list(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    opd = request.match_info["opd"]
    async with ctx.storage.reading() as tx:
        name = await opd_name(tx, opd)
        if name is None:
            raise Refused("not_found", 404, f"no OPD {opd}")
        rows = await rtl_rows(tx, opd)
    return ctx.render("rtl_list.html", opd=opd, opd_name=name, items=_items(ctx, rows),
                      element_names=ELEMENT_NAMES)  # fmt: skip


def _item_id(request: web.Request) -> int:
    return int(request.match_info["item"])


ITEM = "/opd/{opd}/rtl/{item:[0-9]{1,12}}"


@area.page(ITEM, action=Action.VIEW_RTL, scope="opd", name="rtl.view")
async def rtl_view(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with ctx.storage.reading() as tx:
        row = await _row(ctx, tx, request, lock=False)
    return _item_page(ctx, row, done=request.query.get("hasil") == "ok")


@area.page(ITEM, action=Action.EDIT_RTL, scope="opd", method="POST", name="rtl.change")
async def rtl_change(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if ctx.principal is None or ctx.principal.kind is not PrincipalKind.RECIPIENT:
        raise Refused("not_allowed", 403, "only an OPD's staff change its RTL")
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    role = ctx.principal.role.value
    woken = False
    async with ctx.storage.transaction() as tx:
        row = await _row(ctx, tx, request, lock=True)
        change, errors = step(row.state, role, form, _today(ctx))
        if change is not None:
            await apply_change(tx, row.id, change, ctx.principal.name, ctx.now)
            # In the same transaction as the change: no change without its audit line.
            await record_audit(tx, ctx.now, ctx.principal, ctx.action, "ok",
                               target=f"rtl:{row.id}", detail=change.what)  # fmt: skip
            if change.done_now and change.after.action:
                woken = await queue_news(tx, row, change.after.action, ctx.now,
                                         ctx.config.followup_template)  # fmt: skip
    if change is not None:
        desk = request.app.get(DESK_KEY)
        if woken and desk is not None:
            desk.wake()  # the news is queued: send it now
        raise ctx.redirect(f"/opd/{row.opd_code}/rtl/{row.id}?hasil=ok")
    await ctx.audit("rejected", target=f"rtl:{row.id}",
                    detail=f"{form.get('op', '?')[:20]}: " + ", ".join(sorted(errors)))  # fmt: skip
    status = 409 if "op" in errors else 400  # a refused step, or a form to fix
    return _item_page(ctx, row, errors=errors, form=form, status=status)


async def queue_news(
    tx: Tx, row: RtlRow, action: str, now: datetime, whatsapp_template: str | None
) -> bool:
    """ "You said, we did": one short message to each citizen opted in for the item's unit
    and quarter, through the outbox, once per item and person (the dedupe key). Telegram and
    the console get it as a chat message; WhatsApp only as the approved template (a business
    message outside the 24-hour window), and not at all without one. True when any was
    queued."""
    queued = False
    for reader in await followup_readers(tx, row.id):
        news = followup_news(reader.language, row.unit_name, row.element_code, action)
        if reader.channel == "whatsapp":
            if whatsapp_template is None:
                continue
            message = (
                "followup_news",
                {"template": whatsapp_template, "language": reader.language, "text": news},
            )
        else:
            message = ("message", Outbound(news, language=reader.language).to_json())
        added = await tx.enqueue(channel=reader.channel, messages=[message],
                                 dedupe_prefix=f"rtl-done:{row.id}:{reader.contact_id}",
                                 now=now, contact_id=reader.contact_id)  # fmt: skip
        queued = queued or bool(added)
    return queued


async def _row(ctx: PageContext, tx: Tx, request: web.Request, *, lock: bool) -> RtlRow:
    """The item of the URL's OPD; an unknown item and another OPD's are refused alike."""
    opd = request.match_info["opd"]
    row = await rtl_row(tx, _item_id(request), lock=lock)
    if row is None or row.opd_code != opd:
        raise Refused("not_found", 404, f"no RTL item {request.match_info['item']} of {opd}")
    return row


def _item_page(
    ctx: PageContext,
    row: RtlRow,
    *,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> web.Response:
    role = ctx.principal.role.value if ctx.principal is not None else ""
    state = row.state
    values = dict(form) if form else {
        "action": state.action or "", "responsible": state.responsible or "",
        "due_date": state.due_date.isoformat() if state.due_date else "",
    }  # fmt: skip
    zone = ctx.config.zone
    return ctx.render(
        "rtl_item.html",
        status=status,
        r=row,
        s=state,
        ops=available(state, role),
        errors={name: ctx.t(key) for name, key in (errors or {}).items()},
        values=values,
        done=done,
        overdue=is_overdue(state, _today(ctx)),
        element_name=ELEMENT_NAMES.get(row.element_code, row.element_code),
        progress_choices=PROGRESS_CHOICES,
        when=lambda at: moment_words(at, zone, ctx.language),
        day=lambda d: date_words(d, ctx.language),
    )
