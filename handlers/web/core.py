"""The console's small framework: configuration, the request context, and how pages register.

Every area of the console (sign-in, the overview, downloads, the complaint desk, the directory
editor, the public results) is one module with one :class:`Area`; a page is a coroutine
decorated with ``area.page(path, action=...)``. The decorator does what every page needs, so
no page can forget it:

- finds who is signed in (the session cookie, re-checked against the registrations);
- refuses, with a clear page in the person's language and a line in the audit log, anyone
  not signed in or whose role may not take the page's :class:`Action` on the OPD named in the
  URL (``scope="opd"`` names the match_info key holding the OPD code);
- checks the CSRF token of every POST;
- hands the page a :class:`PageContext`: ``ctx.render(...)``, ``ctx.require(...)`` for a scope
  only known after a read (a complaint's OPD), ``ctx.audit(...)``, ``ctx.t(...)`` texts.

See docs/web.md ("Adding a page").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from storage import Storage
from storage.web import record_audit
from survey_flows.rtl import EVIDENCE_MAX_BYTES, EVIDENCE_MAX_FILES
from survey_flows.web_access import ALLOWED, Action, Principal, csrf_token, csrf_valid, may
from survey_flows.web_catalog import DEFAULT_LANGUAGE, LANGUAGES, web_text

log = logging.getLogger(__name__)

SESSION_COOKIE = "skm_sesi"
LANGUAGE_COOKIE = "skm_bahasa"
CSRF_FIELD = "_csrf"
# Beyond the files of an upload: the form's other fields and the multipart framing.
UPLOAD_FORM_SLACK = 256 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs from the settings (built in ``bot/``)."""

    secret: bytes
    prefix: str = "/konsol"
    base_url: str = "http://127.0.0.1:8080"
    idle: timedelta = timedelta(minutes=30)
    secure_cookies: bool = False
    organisation: str = "Pemerintah Kabupaten"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Jayapura"))
    min_respondents: int = 30
    # The posters' QR links (TELEGRAM_BOT_USERNAME, WHATSAPP_NUMBER).
    telegram_bot_username: str | None = None
    whatsapp_number: str | None = None
    # PUBLIC_BASE_URL when set: posters then print the unit's public results page.
    public_base_url: str | None = None
    # The approved WhatsApp template for "you said, we did" news (None: WhatsApp gets none).
    followup_template: str | None = None
    # RTL evidence files (RTL_EVIDENCE_MAX_BYTES, RTL_EVIDENCE_MAX_FILES).
    evidence_max_bytes: int = EVIDENCE_MAX_BYTES
    evidence_max_files: int = EVIDENCE_MAX_FILES
    clock: Callable[[], datetime] = utc_now

    @property
    def upload_body_max(self) -> int:
        """The largest body a page taking files reads: an item's files and the form."""
        return self.evidence_max_bytes * self.evidence_max_files + UPLOAD_FORM_SLACK

    def link(self, path: str) -> str:
        """An absolute URL of a console page (for links sent in chats or printed)."""
        return f"{self.base_url.rstrip('/')}{self.prefix}{path}"


CONFIG_KEY = web.AppKey("web_console_config", ConsoleConfig)
STORAGE_KEY = web.AppKey("web_console_storage", Storage)
# Set on every request by the session middleware (handlers/web/app.py).
PRINCIPAL = web.RequestKey("web_principal", Principal)
SESSION_DIGEST = web.RequestKey("web_session_digest", str)
LANGUAGE = web.RequestKey("web_language", str)


class Refused(Exception):  # noqa: N818 (it is an outcome, not an error)
    """A request the console will not serve: shown as a page, audited, nothing changed.

    ``reason`` is the catalogue key's last part (``web.refused.<reason>``)."""

    def __init__(self, reason: str, status: int = 403, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.detail = detail or reason


@dataclass
class PageContext:
    """What a page handler gets besides the request."""

    request: web.Request
    action: str  # the audit log's name of what the page does
    principal: Principal | None
    language: str
    scope_checked: bool = False  # set by a successful :meth:`require`

    @property
    def config(self) -> ConsoleConfig:
        return self.request.app[CONFIG_KEY]

    @property
    def storage(self) -> Storage:
        return self.request.app[STORAGE_KEY]

    @property
    def now(self) -> datetime:
        return self.config.clock()

    @property
    def session_digest(self) -> str | None:
        return self.request.get(SESSION_DIGEST)

    @property
    def csrf(self) -> str:
        """The token every POST form of this session carries (``{{ csrf_field() }}``)."""
        return csrf_token(self.config.secret, self.session_digest or "anonymous")

    def t(self, key: str, **values: object) -> str:
        return web_text(self.language, key, **values)

    def url(self, path: str) -> str:
        """A console path under the prefix (``ctx.url('/ikhtisar')``)."""
        return f"{self.config.prefix}{path}"

    def require(
        self, action: Action, opd_code: str | None = None, *, target: str | None = None
    ) -> Principal:
        """Refuse unless the signed-in person may take ``action`` on ``opd_code``."""
        if self.principal is None:
            raise Refused("not_signed_in", 401)
        if not may(self.principal, action, opd_code):
            raise Refused(
                "not_allowed", 403, f"{action.value} on {opd_code or 'all'}: {target or ''}"
            )
        self.scope_checked = True
        return self.principal

    def require_role(self, action: Action, *, target: str | None = None) -> Principal:
        """Refuse unless the signed-in person's role may take ``action`` somewhere."""
        if self.principal is None:
            raise Refused("not_signed_in", 401)
        if action not in ALLOWED[self.principal.role]:
            raise Refused("not_allowed", 403, f"{action.value}: {target or ''}")
        return self.principal

    async def audit(
        self, outcome: str = "ok", *, target: str | None = None, detail: str | None = None,
        action: str | None = None, who: Principal | None = None,
    ) -> None:  # fmt: skip
        """One line in the audit log, in its own transaction."""
        async with self.storage.transaction() as tx:
            await record_audit(tx, self.now, who or self.principal, action or self.action,
                               outcome, target=target, detail=detail)  # fmt: skip

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        context = {"ctx": self, "t": self.t, "url": self.url, "principal": self.principal,
                   "lang": self.language, "nav": visible_nav(self), **values}  # fmt: skip
        response = aiohttp_jinja2.render_template(template, self.request, context, status=status)
        response.headers["Content-Language"] = self.language
        return response

    def redirect(self, path: str) -> web.HTTPSeeOther:
        return web.HTTPSeeOther(self.url(path))


Handler = Callable[[web.Request, PageContext], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class NavItem:
    """A link in the console's menu, shown to whoever may take ``action`` (on their OPD when
    the path holds ``{opd}``)."""

    label_key: str
    path: str
    action: Action

    def for_principal(self, principal: Principal) -> str | None:
        if "{opd}" in self.path:
            if principal.opd_code is None or not may(principal, self.action, principal.opd_code):
                return None
            return self.path.format(opd=principal.opd_code)
        return self.path if may(principal, self.action) else None


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]


class Area:
    """One part of the console: its routes and its menu entries."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []
        self.nav: list[NavItem] = []

    def menu(self, label_key: str, path: str, action: Action) -> None:
        self.nav.append(NavItem(label_key, path, action))

    def page(
        self,
        path: str,
        *,
        action: Action | None,
        method: str = "GET",
        scope: str | None = None,
        scope_in_handler: bool = False,
        uploads: bool = False,
        name: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a page. ``action=None``: open to anyone (sign-in, public pages).

        ``scope``: the URL part holding the OPD code the action applies to. Neither ``scope``
        nor ``scope_in_handler``: a regency-wide page (only a role that may take the action
        on every OPD, the admin, passes). ``scope_in_handler``: a page about one OPD's thing
        (a unit, a complaint) known only after a read: the role is checked here, and the
        handler must call ``ctx.require(action, opd_code)``; a handler that returns without
        having done so is refused, so a forgotten check can never show another OPD's data.

        ``uploads``: the page takes files (multipart/form-data); its body may be as large as
        ``ConsoleConfig.upload_body_max`` instead of the server's small default. A body over
        the limit is refused (413) before anything is changed."""

        def register(handler: Handler) -> Handler:
            audit_name = name or f"{self.name}.{handler.__name__}"

            async def serve(request: web.Request) -> web.StreamResponse:
                if uploads:
                    config = request.app[CONFIG_KEY]
                    request = request.clone(client_max_size=config.upload_body_max)
                ctx = PageContext(request, audit_name, request.get(PRINCIPAL),
                                  request.get(LANGUAGE, DEFAULT_LANGUAGE))  # fmt: skip
                try:
                    if action is not None and scope is not None:
                        ctx.require(action, request.match_info.get(scope), target=request.path)
                    elif action is not None and scope_in_handler:
                        ctx.require_role(action, target=request.path)
                    elif action is not None:
                        ctx.require(action, None, target=request.path)
                    if method == "POST" and action is not None:
                        try:
                            form = await request.post()
                        except web.HTTPRequestEntityTooLarge:
                            raise Refused("too_large", 413, "body over the limit") from None
                        given = form.get(CSRF_FIELD)
                        if not csrf_valid(ctx.config.secret, ctx.session_digest or "anonymous",
                                          given if isinstance(given, str) else None):  # fmt: skip
                            raise Refused("bad_form", 403, "CSRF token missing or wrong")
                    response = await handler(request, ctx)
                    if scope_in_handler and not ctx.scope_checked:
                        log.error("page served without its scope check",
                                  extra={"page": audit_name})  # fmt: skip
                        raise Refused("not_allowed", 403, "scope never checked")
                    return response
                except Refused as refusal:
                    return await refused_page(ctx, refusal)

            self.routes.append(Route(method, path, serve))
            return handler

        return register


async def refused_page(ctx: PageContext, refusal: Refused, *, audit: bool = True) -> web.Response:
    """The clear page for a refusal; the attempt goes to the audit log (unless ``audit`` is
    false: an anonymous request for a page that does not exist, a scanner's noise)."""
    if audit:
        await ctx.audit("refused", target=ctx.request.path[:200], detail=refusal.detail)
    log.info("web request refused", extra={"reason": refusal.reason, "status": refusal.status})
    return ctx.render(
        "message.html",
        status=refusal.status,
        title=ctx.t(f"web.refused.{refusal.reason}.title"),
        message=ctx.t(f"web.refused.{refusal.reason}"),
        sign_in_hint=refusal.reason
        in {"not_signed_in", "link_expired", "link_used", "link_unknown"},  # fmt: skip
    )


AREAS_KEY = web.AppKey("web_console_areas", list)


def visible_nav(ctx: PageContext) -> list[tuple[str, str]]:
    """(label, URL) of the menu entries the signed-in person may open."""
    if ctx.principal is None:
        return []
    items: list[tuple[str, str]] = []
    for area in ctx.request.app[AREAS_KEY]:
        for item in area.nav:
            path = item.for_principal(ctx.principal)
            if path is not None:
                items.append((ctx.t(item.label_key), ctx.url(path)))
    return items


def choose_language(request: web.Request, principal: Principal | None) -> tuple[str, bool]:
    """The page's language and whether the choice came from ``?lang=`` (to remember it)."""
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        return asked, True
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered, False
    if principal is not None and principal.language in LANGUAGES:
        return principal.language, False
    return DEFAULT_LANGUAGE, False
