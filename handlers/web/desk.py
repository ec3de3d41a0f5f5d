"""The officer's complaint desk (issue 16): an OPD's complaints, one complaint with its photos,
place and history, and the chat's actions (verify, reject, answer, finish).

An action runs the chat's own path in one transaction: ``load_desk_context`` (the person's
registrations by their chat address, the complaint locked) -> the pure
``survey_flows.desk.officer_step`` -> ``apply_desk_effects`` (the move, its history row, the
citizen's notice in the outbox). So the chat and the console agree on who may do what, and
an action in one shows in the other at once. Admins read every desk; officers and heads act
on their OPD's complaints as the chat lets them (in an OPD with officers, only officers
answer citizens).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from handlers.web.core import Area, PageContext, Refused
from storage import Tx
from storage.complaints import CalendarCache, apply_desk_effects, load_desk_context
from storage.web import record_audit
from storage.web_desk import (
    DeskDetail,
    desk_detail,
    desk_opds,
    desk_rows,
    opd_name,
    opd_units,
    photo_ref,
    staff_address,
)
from survey_flows.catalog import text
from survey_flows.complaints import REJECTION_REASONS, find_ticket
from survey_flows.dates import deadline_words, moment_words
from survey_flows.desk import DeskContext, MoveComplaint, desk_actions, officer_step
from survey_flows.engine import FlowSettings
from survey_flows.web_access import Action, PrincipalKind
from survey_flows.web_desk import (
    STATUS_CHOICES,
    age_days,
    current_due,
    form_request,
    is_overdue,
    map_link,
    parse_filter,
    photo_type,
)

PhotoFetch = Callable[[str], Awaitable[bytes | None]]


@dataclass(frozen=True)
class DeskServices:
    """What the desk shares with the chat's dispatcher (wired in ``bot/web_console.py``)."""

    settings: FlowSettings
    calendar: CalendarCache
    wake: Callable[[], None]  # the outbox sender, after a commit queued a notice
    # Per channel, how to fetch a complaint photo by its stored reference (Telegram's
    # getFile); a channel without one shows placeholders.
    photos: Mapping[str, PhotoFetch] = field(default_factory=dict)


DESK_KEY = web.AppKey("web_desk_services", DeskServices)

area = Area("desk")
area.menu("web.desk.menu", "/opd/{opd}/pengaduan", Action.VIEW_COMPLAINTS)
area.menu("web.desk.menu", "/pengaduan", Action.VIEW_COMPLAINTS)  # admins: every OPD


def _chat_text(ctx: PageContext) -> Callable[..., str]:
    """Texts shared with the chat (statuses, kinds, reasons, actions): the chat catalogue."""
    return lambda key, **values: text(ctx.language, key, **values)


@area.page("/pengaduan", action=Action.VIEW_COMPLAINTS, name="desk.opds")
async def every_desk(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with ctx.storage.reading() as tx:
        opds = await desk_opds(tx, ctx.now)
    return ctx.render("desk_opds.html", opds=opds)


@area.page("/opd/{opd}/pengaduan", action=Action.VIEW_COMPLAINTS, scope="opd", name="desk.list")
async def desk_list(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    opd = request.match_info["opd"]
    async with ctx.storage.reading() as tx:
        name = await opd_name(tx, opd)
        if name is None:
            raise Refused("not_found", 404, f"no OPD {opd}")
        units = await opd_units(tx, opd)
        chosen, errors = parse_filter(request.query, frozenset(code for code, _ in units))
        rows = await desk_rows(tx, opd, statuses=chosen.statuses, unit_code=chosen.unit,
                               overdue_at=ctx.now if chosen.overdue else None)  # fmt: skip
    now, zone = ctx.now, ctx.config.zone
    items = [
        {
            "row": r,
            "overdue": is_overdue(r.status, r.verify_by, r.answer_by, now),
            "due": _due_words(ctx, r.status, r.verify_by, r.answer_by),
            "age": age_days(r.created_at, now, zone),
        }
        for r in rows
    ]
    return ctx.render("desk_list.html", opd=opd, opd_name=name, units=units, items=items,
                      chosen=chosen, errors=errors, statuses=STATUS_CHOICES,
                      ct=_chat_text(ctx))  # fmt: skip


@area.page("/opd/{opd}/pengaduan/{ticket}", action=Action.VIEW_COMPLAINTS, scope="opd",
           name="desk.view")  # fmt: skip
async def desk_view(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    detail, actions = await _load(ctx, request.match_info["opd"], request.match_info["ticket"])
    done = request.query.get("hasil") == "ok"
    return _detail_page(ctx, detail, actions, done=done)


@area.page("/opd/{opd}/pengaduan/{ticket}", action=Action.ACT_ON_COMPLAINT, scope="opd",
           method="POST", name="desk.act")  # fmt: skip
async def desk_act(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    opd, ticket = request.match_info["opd"], request.match_info["ticket"]
    if ctx.principal is None or ctx.principal.kind is not PrincipalKind.RECIPIENT:
        # The desk's rules are about registered officers and heads; admins read it.
        raise Refused("not_allowed", 403, f"only registered staff act on complaints: {ticket}")
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    wanted, errors = form_request(ticket, fields)
    services = request.app[DESK_KEY]
    moved = False
    async with ctx.storage.transaction() as tx:
        detail, desk = await _read(ctx, tx, opd, ticket)
        ticket = detail.ticket
        acted = officer_step(desk, wanted) if wanted is not None else None
        moves = [e for e in acted.effects if isinstance(e, MoveComplaint)] if acted else []
        if acted is not None and moves:
            await apply_desk_effects(tx, acted.effects, ctx.now)
            move, moved = moves[0], True
            # In the same transaction as the move: no change without its audit line.
            await record_audit(tx, ctx.now, ctx.principal, ctx.action, "ok", target=ticket,
                               detail=f"{move.action.value}: {move.from_status.value}"
                               f"->{move.to.value}")  # fmt: skip
        elif acted is not None and acted.replies:
            errors = {"action": acted.replies[0].text}  # the desk's own refusal, as in chat
    if moved:
        services.wake()  # the citizen's notice is queued: send it now
        raise ctx.redirect(f"/opd/{opd}/pengaduan/{ticket}?hasil=ok")
    await ctx.audit("rejected", target=ticket, detail=f"{fields.get('action', '?')[:20]}: "
                    + ", ".join(sorted(errors)))  # fmt: skip
    detail, actions = await _load(ctx, opd, ticket)
    status = 400 if wanted is None else 409  # a form to fix, or a move the desk refused
    return _detail_page(ctx, detail, actions, errors=errors, form=fields, status=status)


@area.page("/opd/{opd}/pengaduan/{ticket}/foto/{n:[0-9]{1,3}}", action=Action.VIEW_COMPLAINTS,
           scope="opd", name="desk.photo")  # fmt: skip
async def desk_photo(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """A complaint photo, fetched from the channel through the app (no platform URL or token
    ever reaches the browser)."""
    opd, ticket = request.match_info["opd"], request.match_info["ticket"]
    position = int(request.match_info["n"]) - 1
    async with ctx.storage.reading() as tx:
        detail = await desk_detail(tx, find_ticket(ticket) or ticket)
        if detail is None or detail.opd_code != opd:
            raise Refused("complaint_unknown", 404, f"{ticket[:40]} is not a complaint of {opd}")
        ref = await photo_ref(tx, detail.ticket, position)
    fetch = request.app[DESK_KEY].photos.get(ref[0]) if ref is not None else None
    data = await fetch(ref[1]) if fetch is not None and ref is not None else None
    kind = photo_type(data) if data is not None else None
    if data is None or kind is None:
        raise Refused("not_found", 404, f"photo {position + 1} of {detail.ticket} not available")
    return web.Response(body=data, content_type=kind)


async def _read(ctx: PageContext, tx: Tx, opd: str, ticket: str) -> tuple[DeskDetail, DeskContext]:
    """The complaint and the chat's desk context for the signed-in person (the complaint
    locked). Unknown and another OPD's tickets are refused alike: nothing is revealed."""
    detail = await desk_detail(tx, find_ticket(ticket) or ticket)
    if detail is None or detail.opd_code != opd:
        raise Refused("complaint_unknown", 404, f"{ticket[:40]} is not a complaint of {opd}")
    services = ctx.request.app[DESK_KEY]
    address = None
    if ctx.principal is not None and ctx.principal.kind is PrincipalKind.RECIPIENT:
        address = await staff_address(tx, ctx.principal.id)
    desk = await load_desk_context(
        tx,
        now=ctx.now,
        settings=services.settings,
        calendar=await services.calendar.get(tx),
        channel=address[0] if address else "console",
        address=address[1] if address else None,
        ticket=detail.ticket,
    )
    # Replies in the page's language, whatever the person's chat language.
    sender = tuple(dataclasses.replace(s, language=ctx.language) for s in desk.sender)
    return detail, dataclasses.replace(desk, sender=sender)


async def _load(ctx: PageContext, opd: str, ticket: str) -> tuple[DeskDetail, tuple[str, ...]]:
    """The complaint and what the signed-in person may do to it now."""
    async with ctx.storage.transaction() as tx:
        detail, desk = await _read(ctx, tx, opd, ticket)
    return detail, desk_actions(desk)


def _due_words(ctx: PageContext, status: Any, verify_by: Any, answer_by: Any) -> str | None:
    due = current_due(status, verify_by, answer_by)
    return deadline_words(due, ctx.config.zone, ctx.language) if due is not None else None


def _detail_page(
    ctx: PageContext,
    detail: DeskDetail,
    actions: tuple[str, ...],
    *,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> web.Response:
    zone, now = ctx.config.zone, ctx.now
    located = detail.latitude is not None and detail.longitude is not None
    return ctx.render(
        "desk_view.html",
        status=status,
        c=detail,
        actions=actions,
        errors=dict(errors or {}),
        form=dict(form or {}),
        done=done,
        reasons=REJECTION_REASONS,
        overdue=is_overdue(detail.status, detail.verify_by, detail.answer_by, now),
        due=_due_words(ctx, detail.status, detail.verify_by, detail.answer_by),
        age=age_days(detail.created_at, now, zone),
        filed=moment_words(detail.created_at, zone, ctx.language),
        when=lambda at: f"{moment_words(at, zone, ctx.language)} {at.astimezone(zone):%H.%M}",
        map_url=map_link(detail.latitude, detail.longitude) if located else None,  # type: ignore[arg-type]
        max_chars=ctx.request.app[DESK_KEY].settings.complaint_max_chars,
        photos_shown=detail.channel in ctx.request.app[DESK_KEY].photos,
        ct=_chat_text(ctx),
    )
