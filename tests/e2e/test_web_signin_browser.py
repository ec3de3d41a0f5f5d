"""Signing in to the console in Chromium: through the chat link, and every refusal."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser

from storage.web import audit_entries
from storage.web_models import WebLoginLink
from tests.support.browser import (
    HEAD_CHAT,
    OFFICER_CHAT,
    WIDTHS,
    Console,
    no_horizontal_scroll,
    shoot,
)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_head_signs_in_with_the_link_the_bot_sends_and_signs_out(
    console: Console, chromium: Browser, width: int
) -> None:
    link = await console.login_link(HEAD_CHAT)
    assert link.startswith(console.url("/masuk/"))
    page = await console.page(chromium, width)
    await page.goto(link)
    await shoot(page, "signin")
    await console.sign_in(page, link)
    assert await page.get_by_text("Masuk sebagai Kepala (contoh)").count() == 1
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["skm_sesi"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/konsol"
    assert await no_horizontal_scroll(page)
    await shoot(page, "head-home")
    await page.get_by_role("button", name="Keluar").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("heading", name="Anda sudah keluar").count() == 1
    await page.goto(console.url("/audit"))
    assert await page.get_by_role("heading", name="Silakan masuk dahulu").count() == 1
    async with console.storage.reading() as tx:
        actions = [(e.action, e.outcome) for e in await audit_entries(tx)]
    assert ("sign_in", "ok") in actions and ("sign_out", "ok") in actions
    assert ("audit.view", "refused") in actions


async def test_a_used_expired_or_unknown_link_is_refused_and_audited(
    console: Console, chromium: Browser
) -> None:
    page = await console.page(chromium, 390)
    link = await console.admin_link()
    await console.sign_in(page, link)
    assert await page.get_by_role("heading", name="Ikhtisar semua OPD").count() == 1
    other = await console.page(chromium, 390)
    await other.goto(link)  # the same link again, in another browser
    assert await other.get_by_role("heading", name="Tautan sudah dipakai").count() == 1
    await shoot(other, "link-used")
    expired = await console.admin_link()
    async with console.storage.transaction() as tx:
        await tx.session.execute(sa.update(WebLoginLink).values(expires_at=WebLoginLink.created_at))
    response = await other.goto(expired)
    assert response is not None and response.status == 410
    assert await other.get_by_role("heading", name="Tautan sudah kedaluwarsa").count() == 1
    response = await other.goto(console.url("/masuk/not-a-token"))
    assert response is not None and response.status == 404
    async with console.storage.reading() as tx:
        refused = [e.detail for e in await audit_entries(tx) if e.outcome == "refused"]
    assert {"sign-in link used", "sign-in link expired", "sign-in link unknown"} <= set(refused)


async def test_a_forged_form_changes_nothing(console: Console, chromium: Browser) -> None:
    page = await console.page(chromium, 1280)
    await console.sign_in(page, await console.admin_link())
    forged = await page.request.post(console.url("/keluar"), form={"_csrf": "forged"})
    assert forged.status == 403
    assert "Formulir tidak sah" in await forged.text()
    elsewhere = await page.request.post(
        console.url("/keluar"),
        form={"_csrf": await page.locator("input[name=_csrf]").first.input_value()},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status == 403  # the right token, posted from another site
    await page.goto(console.url("/audit"))  # still signed in: the forged sign-outs did nothing
    assert await page.get_by_role("heading", name="Log audit konsol").count() == 1
    async with console.storage.reading() as tx:
        details = {e.detail for e in await audit_entries(tx) if e.outcome == "refused"}
    assert {"CSRF token missing or wrong", "posted from elsewhere"} <= details


async def test_someone_not_registered_gets_no_link(console: Console) -> None:
    await console.send(555, "MASUK")
    await console.api.wait_for(lambda: bool(console.api.sent_messages(555)), timeout=10)
    reply = console.api.sent_messages(555)[-1]["text"]
    assert "hanya untuk pimpinan dan petugas OPD yang terdaftar" in reply
    assert "/masuk/" not in reply


async def test_the_console_speaks_english_when_asked(console: Console, chromium: Browser) -> None:
    page = await console.page(chromium, 390)
    await page.goto(console.url("/?lang=en"))
    assert await page.get_by_role("heading", name="How to sign in").count() == 1
    await page.goto(console.url("/"))  # remembered
    assert await page.get_by_role("heading", name="How to sign in").count() == 1
    await page.get_by_role("link", name="Bahasa Indonesia").click()
    assert await page.get_by_role("heading", name="Cara masuk").count() == 1


async def test_an_officer_signs_in_and_sees_no_figures(console: Console, chromium: Browser) -> None:
    page = await console.page(chromium, 390)
    await console.sign_in(page, await console.login_link(OFFICER_CHAT))
    assert "Masuk sebagai Petugas Dukcapil (Petugas OPD)" in await page.inner_text("footer")
    for path in ("/opd/disdukcapil", "/unit/dukcapil-mpp", "/unduh"):
        response = await page.goto(console.url(path))
        assert response is not None and response.status == 403, path
