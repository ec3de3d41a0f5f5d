"""The console as an aiohttp application, mounted under its prefix in the webhooks' app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from handlers.web import audit, desk, directory, downloads, figures, public, rtl, signin
from handlers.web.core import (
    AREAS_KEY,
    CONFIG_KEY,
    CSRF_FIELD,
    LANGUAGE,
    LANGUAGE_COOKIE,
    PRINCIPAL,
    SESSION_COOKIE,
    SESSION_DIGEST,
    STORAGE_KEY,
    Area,
    ConsoleConfig,
    PageContext,
    Refused,
    choose_language,
    refused_page,
)
from reports.cache import ReportCache
from storage import Storage
from storage.web import session_principal
from survey_flows.web_access import csrf_token, token_digest, unsign

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

# The areas of the console, in menu order. A new area: a module with ``area = Area(...)``,
# added here (docs/web.md, "Adding a page").
DEFAULT_AREAS: tuple[Area, ...] = (
    signin.area,
    figures.area,
    downloads.area,
    audit.area,
    desk.area,
    directory.area,
    public.area,
    rtl.area,
)

# Pages are never cached (they hold one person's figures); a page may not be framed (no
# clickjacking of the forms); no script or style from anywhere but the console itself; the
# sign-in link's token never leaves for another site in a Referer header.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin rather than no-referrer: with no-referrer, browsers send "Origin: null" on
    # the console's own forms, and the origin check below could not tell them from a forgery.
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}

Middleware = Callable[
    [web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]],
    Awaitable[web.StreamResponse],
]


@web.middleware
async def session_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Who is signed in (or nobody), the page's language, and the headers every page has."""
    config = request.app[CONFIG_KEY]
    if request.path.startswith(f"{config.prefix}/static/"):
        return await handler(request)
    token = unsign(config.secret, request.cookies.get(SESSION_COOKIE))
    principal = None
    if token is not None:
        digest = token_digest(token)
        async with request.app[STORAGE_KEY].transaction() as tx:
            principal = await session_principal(tx, digest, config.clock(), config.idle)
        if principal is not None:
            request[SESSION_DIGEST] = digest
            request[PRINCIPAL] = principal
    language, chosen = choose_language(request, principal)
    request[LANGUAGE] = language
    response: web.StreamResponse
    try:
        if request.method == "POST" and not same_origin(request, config.base_url):
            # A form posted from another site (login CSRF, or a forged form in a browser that
            # sent the cookie anyway): refused before any page sees it.
            ctx = PageContext(request, "cross_site_post", principal, language)
            response = await refused_page(ctx, Refused("bad_form", 403, "posted from elsewhere"))
        else:
            response = await handler(request)
    except web.HTTPNotFound:
        ctx = PageContext(request, "not_found", principal, language)
        # Scanners probe thousands of paths (/wp-login.php, /.env): anonymous misses would bury
        # the log's real lines. A signed-in person's miss is still recorded.
        response = await refused_page(
            ctx, Refused("not_found", 404, "no such page"), audit=principal is not None
        )
    except web.HTTPException as exc:
        if exc.status >= 400:
            raise
        response = exc  # redirects carry the headers below too
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if chosen:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600,
                            path=config.prefix, samesite="Lax",
                            secure=config.secure_cookies)  # fmt: skip
    if token is not None and principal is None and SESSION_COOKIE not in response.cookies:
        response.del_cookie(SESSION_COOKIE, path=config.prefix)  # ended or idle: forget it
    if isinstance(response, web.HTTPException):
        raise response
    return response


def same_origin(request: web.Request, base_url: str) -> bool:
    """True unless the browser says the request comes from another origin than the console's
    (its public address, or the address it was reached at)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-origin form (old browsers send none: CSRF still)
    own = f"{request.scheme}://{request.host}"
    public = urlsplit(base_url)
    return origin in {own, f"{public.scheme}://{public.netloc}"}


def build_console(
    storage: Storage, config: ConsoleConfig, areas: Sequence[Area] | None = None
) -> web.Application:
    """The console's application, to mount with ``app.add_subapp(config.prefix, ...)``."""
    app = web.Application(middlewares=[session_middleware])
    app[CONFIG_KEY] = config
    app[STORAGE_KEY] = storage
    app[figures.REPORTS_KEY] = ReportCache(
        storage,
        config.organisation,
        today=lambda: config.clock().astimezone(config.zone).date(),
    )
    downloads.setup_renderer(app)
    chosen = list(areas if areas is not None else DEFAULT_AREAS)
    app[AREAS_KEY] = chosen
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    env.globals["csrf_field"] = _csrf_field
    env.globals["num"] = _number
    env.globals["static"] = lambda name: f"{config.prefix}/static/{name}"
    app.router.add_static("/static", STATIC, append_version=False)
    for area in chosen:
        for route in area.routes:
            app.router.add_route(route.method, route.path, route.handler)
    return app


@jinja2.pass_context
def _csrf_field(context: jinja2.runtime.Context) -> Markup:
    """The hidden CSRF input of a POST form: ``{{ csrf_field() }}``."""
    ctx: PageContext = context["ctx"]
    value = csrf_token(ctx.config.secret, ctx.session_digest or "anonymous")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, value)


@jinja2.pass_context
def _number(context: jinja2.runtime.Context, value: object) -> str:
    """A figure as the report gives it, written the reader's way (88,31 or 88.31); — for none."""
    if value is None:
        return "—"
    return str(value).replace(".", ",") if context["lang"] == "id" else str(value)


def mount(app: web.Application, console: web.Application, prefix: str) -> None:
    """Mount the console under ``prefix`` and redirect the bare prefix to its home page."""

    async def to_home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(f"{prefix}/")

    app.router.add_get(prefix, to_home)
    app.add_subapp(prefix, console)
