"""The follow-up plan (RTL) in the console (issue 17): an OPD's items, one item with its plan,
approval and progress, and every OPD's items for the admin.

A change runs: the item locked -> the pure ``survey_flows.rtl.step`` (and ``attach`` for
files) -> ``apply_change``, ``add_evidence`` and the audit line, in one transaction. Officers
and heads change their own OPD's items; the admin reads them all.

Evidence files come with the progress form or the item's upload form (multipart, no
JavaScript) and are served by ``rtl_evidence`` only to those who may read the item, as the
type their bytes are, never as a page the browser could run (``EVIDENCE_HEADERS``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from aiohttp import web

from handlers.web.core import Area, PageContext, Refused
from handlers.web.desk import DESK_KEY
from reports.model import ELEMENT_NAMES
from storage import Tx
from storage.rtl import (
    EvidenceRow,
    RtlRow,
    add_evidence,
    apply_change,
    evidence_data,
    evidence_rows,
    followup_readers,
    remove_evidence,
    rtl_row,
    rtl_rows,
)
from storage.web import record_audit
from storage.web_desk import opd_name
from survey_flows.dates import date_words, moment_words
from survey_flows.rtl import (
    EVIDENCE_TYPES,
    EvidenceLimits,
    RtlStatus,
    Upload,
    attach,
    available,
    detach,
    evidence_type,
    followup_news,
    is_overdue,
    step,
)
from survey_flows.types import Outbound
from survey_flows.web_access import Action, PrincipalKind

area = Area("rtl")
area.menu("web.rtl.menu", "/opd/{opd}/rtl", Action.VIEW_RTL)
area.menu("web.rtl.menu", "/rtl", Action.VIEW_RTL)  # admins: every OPD

PROGRESS_CHOICES = tuple(s.value for s in RtlStatus if s is not RtlStatus.DIRENCANAKAN)
FILE_FIELD = "evidence_file"
ACCEPTED_TYPES = ",".join(EVIDENCE_TYPES)  # the file picker's hint; the bytes decide
# An evidence file is shown, never run: no script, no plugin, no frame, no form even inside a
# PDF viewer (sandbox); the type is the stored one, never sniffed; no other site embeds it.
EVIDENCE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


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
        files = (await evidence_rows(tx, [row.id])).get(row.id, [])
    return _item_page(ctx, row, files, done=request.query.get("hasil") == "ok")


def _limits(ctx: PageContext) -> EvidenceLimits:
    return EvidenceLimits(ctx.config.evidence_max_bytes, ctx.config.evidence_max_files)


def _read_uploads(fields: Sequence[object], limit: int) -> list[Upload]:
    """The files sent (a file input left empty sends no file); each read up to one byte past
    the limit, which is enough to refuse it."""
    uploads = []
    for field in fields:
        if isinstance(field, web.FileField):
            with field.file:
                uploads.append(Upload(field.filename, field.file.read(limit + 1)))
    return uploads


@area.page(ITEM, action=Action.EDIT_RTL, scope="opd", method="POST", uploads=True,
           name="rtl.change")  # fmt: skip
async def rtl_change(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if ctx.principal is None or ctx.principal.kind is not PrincipalKind.RECIPIENT:
        raise Refused("not_allowed", 403, "only an OPD's staff change its RTL")
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    limits = _limits(ctx)
    uploads = await asyncio.to_thread(_read_uploads, posted.getall(FILE_FIELD, []),
                                      limits.max_bytes)  # fmt: skip
    role = ctx.principal.role.value
    op = form.get("op", "")
    change = None
    woken = False
    async with ctx.storage.transaction() as tx:
        row = await _row(ctx, tx, request, lock=True)
        stored = (await evidence_rows(tx, [row.id])).get(row.id, [])
        if op == "evidence_remove":
            errors = detach(row.state, role)
            what = [await _remove(tx, row, form.get("evidence", ""))] if not errors else []
        else:
            # Hashing a few megabytes: off the event loop.
            files, errors = await asyncio.to_thread(
                attach, row.state, role, uploads, [f.sha256 for f in stored], limits,
                required=op == "evidence")  # fmt: skip
            if op != "evidence":
                # Files sent are evidence for Selesai (a bad one is refused by attach()).
                change, step_errors = step(row.state, role, form, _today(ctx),
                                           files=len(stored) + len(uploads))  # fmt: skip
                errors = step_errors | errors
            what = [] if errors else [change.what] if change is not None else []
            if not errors and files:
                ids = await add_evidence(tx, row.id, files, ctx.principal.name, ctx.now)
                what += [f"evidence +{i} {f.type.content_type} {len(f.data)} B"
                         for i, f in zip(ids, files, strict=True)]  # fmt: skip
            if not errors and change is not None:
                await apply_change(tx, row.id, change, ctx.principal.name, ctx.now)
        if not errors:
            # In the same transaction as the change: no change without its audit line.
            await record_audit(tx, ctx.now, ctx.principal, ctx.action, "ok",
                               target=f"rtl:{row.id}", detail="; ".join(what))  # fmt: skip
            if change is not None and change.done_now and change.after.action:
                woken = await queue_news(tx, row, change.after.action, ctx.now,
                                         ctx.config.followup_template)  # fmt: skip
    if not errors:
        desk = request.app.get(DESK_KEY)
        if woken and desk is not None:
            desk.wake()  # the news is queued: send it now
        raise ctx.redirect(f"/opd/{row.opd_code}/rtl/{row.id}?hasil=ok")
    await ctx.audit("rejected", target=f"rtl:{row.id}",
                    detail=f"{op[:20] or '?'}: " + ", ".join(sorted(errors)))  # fmt: skip
    status = 409 if "op" in errors else 400  # a refused step, or a form to fix
    return _item_page(ctx, row, stored, errors=errors, form=form, status=status)


async def _remove(tx: Tx, row: RtlRow, given: str) -> str:
    """Remove the item's file ``given`` (its id); another item's or none is the 404."""
    evidence_id = int(given) if given.isdigit() and len(given) <= 12 else None
    if evidence_id is None or not await remove_evidence(tx, row.id, evidence_id):
        raise Refused("not_found", 404, f"no evidence {given[:20]!r} of RTL item {row.id}")
    return f"evidence -{evidence_id}"


@area.page(ITEM + "/bukti/{evidence:[0-9]{1,12}}", action=Action.VIEW_RTL, scope="opd",
           name="rtl.evidence")  # fmt: skip
async def rtl_evidence(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """An evidence file, to whoever may read its item: images inline (the item page's
    thumbnails), PDFs as a download; every one audited like the console's other downloads."""
    async with ctx.storage.reading() as tx:
        row = await _row(ctx, tx, request, lock=False)
        found = await evidence_data(tx, row.id, int(request.match_info["evidence"]))
    kind = evidence_type(found[1]) if found is not None else None
    if found is None or kind is None or kind.content_type != found[0].content_type:
        # Unknown, another item's, or bytes that are not what was stored: nothing is served.
        raise Refused("not_found", 404, f"no evidence {request.match_info['evidence']}")
    evidence, data = found
    await ctx.audit(target=f"rtl:{row.id}:bukti:{evidence.id}")
    disposition = "inline" if kind.image else "attachment"
    headers = {**EVIDENCE_HEADERS, "Content-Type": kind.content_type,
               # safe_name() made the name plain ASCII letters, digits, - and _
               "Content-Disposition": f'{disposition}; filename="{evidence.name}"'}  # fmt: skip
    return web.Response(body=data, headers=headers)


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
    files: Sequence[EvidenceRow],
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
    limits = _limits(ctx).words()
    return ctx.render(
        "rtl_item.html",
        status=status,
        r=row,
        s=state,
        ops=available(state, role),
        errors={name: ctx.t(key, **limits) for name, key in (errors or {}).items()},
        values=values,
        done=done,
        overdue=is_overdue(state, _today(ctx)),
        element_name=ELEMENT_NAMES.get(row.element_code, row.element_code),
        progress_choices=PROGRESS_CHOICES,
        files=files,
        file_field=FILE_FIELD,
        accepted_types=ACCEPTED_TYPES,
        limits=limits,
        when=lambda at: moment_words(at, zone, ctx.language),
        day=lambda d: date_words(d, ctx.language),
    )
