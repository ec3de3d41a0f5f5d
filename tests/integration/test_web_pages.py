"""The page decorator's checks, on an application of test pages (no browser): a regency-wide
page refuses heads, a page that forgets its scope check is refused, a checked one is served."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from handlers.web import Area, PageContext, build_console
from handlers.web.core import SESSION_COOKIE
from storage import Storage
from storage.web import audit_entries, start_session
from survey_flows.web_access import Action, new_token, sign, token_digest
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.web_pages import CONFIG

pages = Area("test")


@pages.page("/everywhere", action=Action.VIEW_OVERVIEW)
async def everywhere(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return web.Response(text="regency")


@pages.page("/forgot/{unit}", action=Action.VIEW_OPD, scope_in_handler=True)
async def forgot(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return web.Response(text="another OPD's secrets")


@pages.page("/checked/{opd}", action=Action.VIEW_OPD, scope_in_handler=True)
async def checked(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    ctx.require(Action.VIEW_OPD, request.match_info["opd"])
    return web.Response(text="own OPD")


@pytest_asyncio.fixture
async def head(sqlite_storage: Storage) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """A client signed in as the small directory's head of Disdukcapil."""
    await load_small_directory(sqlite_storage)
    token = new_token()
    async with sqlite_storage.transaction() as tx:
        head_id = (await tx.session.execute(sa.text("SELECT id FROM recipients"))).scalar_one()
        await start_session(tx, token_digest(token), "recipient", head_id, T0)
    app = web.Application()
    app.add_subapp(CONFIG.prefix, build_console(sqlite_storage, CONFIG, [pages]))
    async with TestClient(TestServer(app)) as client:
        client.session.cookie_jar.update_cookies({SESSION_COOKIE: sign(CONFIG.secret, token)})
        yield client


async def test_the_decorator_checks_what_the_page_might_forget(
    head: TestClient[web.Request, web.Application],
) -> None:
    refused = await head.get("/konsol/everywhere")
    assert refused.status == 403 and "Akses ditolak" in await refused.text()
    forgot = await head.get("/konsol/forgot/rsud-igd")
    assert forgot.status == 403 and "secrets" not in await forgot.text()
    other = await head.get("/konsol/checked/rsud")
    assert other.status == 403
    own = await head.get("/konsol/checked/disdukcapil")
    assert own.status == 200 and await own.text() == "own OPD"
    head.session.cookie_jar.clear()  # signed out: not even the own OPD
    anonymous = await head.get("/konsol/checked/disdukcapil")
    assert anonymous.status == 401 and "Silakan masuk dahulu" in await anonymous.text()


async def test_a_scanners_misses_are_not_audited_a_signed_in_miss_is(
    sqlite_storage: Storage, head: TestClient[web.Request, web.Application]
) -> None:
    async def audited() -> list[str | None]:
        async with sqlite_storage.transaction() as tx:
            return [entry.target for entry in await audit_entries(tx)]

    before = await audited()
    missing = await head.get("/konsol/tidak-ada")
    assert missing.status == 404
    assert await audited() == ["/konsol/tidak-ada", *before]
    head.session.cookie_jar.clear()
    for path in ("/konsol/wp-login.php", "/konsol/.env"):
        probe = await head.get(path)
        assert probe.status == 404 and "<html" in (await probe.text()).lower()
    assert await audited() == ["/konsol/tidak-ada", *before]
