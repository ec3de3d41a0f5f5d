"""The audit log page (admin): every web action and refusal, newest first."""

from __future__ import annotations

from aiohttp import web

from handlers.web.core import Area, PageContext
from storage.web import audit_entries
from survey_flows.web_access import Action

area = Area("audit")
area.menu("web.audit.menu", "/audit", Action.VIEW_AUDIT)

PAGE_SIZE = 200


@area.page("/audit", action=Action.VIEW_AUDIT, name="audit.view")
async def audit_log(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with ctx.storage.reading() as tx:
        entries = await audit_entries(tx, PAGE_SIZE)
    zone = ctx.config.zone
    return ctx.render("audit.html", entries=entries, zone=zone)
