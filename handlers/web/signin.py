"""Signing in with a one-time link, signing out, and the home page.

A link (``/masuk/<token>``) first shows a page with one button: chat apps open links to make
previews, and a GET that used the link would spend it before the person taps it. The button's
POST uses the link (once, within 10 minutes) and starts a session.
"""

from __future__ import annotations

from aiohttp import web

from handlers.web.core import (
    AREAS_KEY,
    CSRF_FIELD,
    SESSION_COOKIE,
    Area,
    PageContext,
    Refused,
)
from storage.web import (
    end_session,
    login_link_state,
    principal,
    prune,
    redeem_login_link,
    start_session,
)
from survey_flows.web_access import (
    LinkState,
    csrf_token,
    csrf_valid,
    new_token,
    sign,
    token_digest,
)

area = Area("auth")

LINK_REFUSALS = {
    LinkState.UNKNOWN: ("link_unknown", 404),
    LinkState.EXPIRED: ("link_expired", 410),
    LinkState.USED: ("link_used", 410),
}


def _link_refusal(state: LinkState) -> Refused:
    reason, status = LINK_REFUSALS[state]
    return Refused(reason, status, f"sign-in link {state.value}")


@area.page("/", action=None, name="home")
async def home(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """Signed in: the first page of the menu; otherwise how to sign in."""
    if ctx.principal is not None:
        for item in (i for a in request.app[AREAS_KEY] for i in a.nav):
            path = item.for_principal(ctx.principal)
            if path is not None:
                raise ctx.redirect(path)
        return ctx.render("message.html", title=ctx.t("web.title"),
                          message=ctx.t("web.home.nothing_yet"), sign_in_hint=False)  # fmt: skip
    return ctx.render("signin_help.html")


@area.page("/masuk/{token}", action=None, name="sign_in.open")
async def open_link(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    digest = token_digest(request.match_info["token"])
    async with ctx.storage.reading() as tx:
        state = await login_link_state(tx, digest, ctx.now)
    if state is not LinkState.VALID:
        raise _link_refusal(state)
    return ctx.render("signin.html", link_csrf=csrf_token(ctx.config.secret, f"link|{digest}"))


@area.page("/masuk/{token}", action=None, method="POST", name="sign_in")
async def use_link(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    digest = token_digest(request.match_info["token"])
    form = await request.post()
    given = form.get(CSRF_FIELD)
    if not csrf_valid(ctx.config.secret, f"link|{digest}", given if isinstance(given, str)
                      else None):  # fmt: skip
        raise Refused("bad_form", 403, "sign-in form token missing or wrong")
    session_token = new_token()
    async with ctx.storage.transaction() as tx:
        state, owner = await redeem_login_link(tx, digest, ctx.now)
        who = await principal(tx, *owner) if owner is not None else None
        if who is not None:
            await start_session(tx, token_digest(session_token), who.kind.value, who.id, ctx.now)
            await prune(tx, ctx.now)
    if state is not LinkState.VALID:
        raise _link_refusal(state)
    if who is None:
        raise Refused("not_registered", 403, "link of a person no longer registered")
    await ctx.audit(who=who, target=who.opd_code)
    response = web.HTTPSeeOther(ctx.url("/"))
    response.set_cookie(
        SESSION_COOKIE,
        sign(ctx.config.secret, session_token),
        httponly=True,
        secure=ctx.config.secure_cookies,
        samesite="Lax",
        path=ctx.config.prefix,
    )
    return response


@area.page("/keluar", action=None, method="POST", name="sign_out")
async def sign_out(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    form = await request.post()
    given = form.get(CSRF_FIELD)
    if ctx.session_digest is not None:
        if not csrf_valid(ctx.config.secret, ctx.session_digest, given if isinstance(given, str)
                          else None):  # fmt: skip
            raise Refused("bad_form", 403, "CSRF token missing or wrong")
        async with ctx.storage.transaction() as tx:
            await end_session(tx, ctx.session_digest, ctx.now)
        await ctx.audit()
    ctx.principal = None  # the page after signing out shows no menu
    response = ctx.render("message.html", title=ctx.t("web.signed_out.title"),
                          message=ctx.t("web.signed_out"), sign_in_hint=False)  # fmt: skip
    response.del_cookie(SESSION_COOKIE, path=ctx.config.prefix)
    return response
