"""Browser tests of the web console: the real service, the fake Bot API, and Chromium.

How to write one (docs/web.md, "Browser tests"):

    # the fixtures come from tests/conftest.py
    from tests.support.browser import WIDTHS, Console, shoot

    pytestmark = [pytest.mark.browser, pytest.mark.postgres]

    async def test_something(console: Console, chromium: Browser) -> None:
        url = await console.login_link(HEAD_CHAT)          # /masuk sent through the webhook
        page = await console.page(chromium, width=390)
        await console.sign_in(page, url)
        await page.goto(console.url("/opd/disdukcapil"))
        await shoot(page, "head-opd")                        # test-artifacts/web/head-opd-390.png

``console`` runs ``run_service`` on PostgreSQL in Telegram webhook mode against
:class:`FakeTelegramApi`, with the small directory loaded and the console at ``/konsol``.
Chromium is Debian's (``/usr/bin/chromium``, or ``$CHROMIUM``), launched with
``--no-sandbox`` (tests run as root); Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from handlers.dispatcher import utc_now
from storage import Storage
from storage.directory import add_recipient
from storage.web import create_login_link, ensure_admin
from survey_flows.web_access import LOGIN_LINK_TTL, PrincipalKind, new_token, token_digest
from tests.support.directory import load_small_directory
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.telegram_service import SECRET, TOKEN, Service, service_settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
WIDTHS = (390, 1280)
PREFIX = "/konsol"

# The small directory's head of Disdukcapil (tests/conftest.py), and an officer added here.
HEAD_CHAT = 100000001
OFFICER_CHAT = 100000002
RSUD_HEAD_CHAT = 100000003
LINK = re.compile(r"https?://\S+/masuk/[A-Za-z0-9_-]+")


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """One Chromium for the whole session (each test gets its own context)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()


@dataclass
class Console:
    """The running service, its fake Bot API, its database, and helpers for a browser."""

    service: Service
    api: FakeTelegramApi
    storage: Storage

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.service.settings.http_port}"

    def url(self, path: str) -> str:
        return f"{self.base}{PREFIX}{path}"

    async def send(self, chat: int, text: str) -> None:
        """A Telegram message from ``chat``, through the webhook like Telegram sends it."""
        status = await self.service.post_update(self.api.make_message_update(chat, text))
        assert status == 200

    async def login_link(self, chat: int) -> str:
        """Send ``/masuk`` from ``chat`` and return the link the bot answered with."""
        before = len(self.api.sent_messages(chat))
        await self.send(chat, "/masuk")
        await self.api.wait_for(lambda: len(self.api.sent_messages(chat)) > before, timeout=10)
        reply = str(self.api.sent_messages(chat)[-1].get("text", ""))
        found = LINK.search(reply)
        assert found is not None, reply
        return found[0]

    async def admin_link(self, name: str = "Bagian Organisasi") -> str:
        """What ``skm-bot web login-link --admin NAME`` prints."""
        token = new_token()
        now = utc_now()
        async with self.storage.transaction() as tx:
            admin_id, _ = await ensure_admin(tx, name, now)
            await create_login_link(tx, token_digest(token), PrincipalKind.ADMIN, admin_id, now,
                                    LOGIN_LINK_TTL)  # fmt: skip
        return self.url(f"/masuk/{token}")

    async def page(self, browser: Browser, width: int = 1280, language: str = "id") -> Page:
        context = await browser.new_context(
            viewport={"width": width, "height": 900}, locale=language, accept_downloads=True
        )
        return await context.new_page()

    async def sign_in(self, page: Page, link: str) -> None:
        """Open the link and press its button; lands on the person's home page."""
        await page.goto(link)
        await page.get_by_role("button", name=re.compile("Masuk|Sign in")).click()
        await page.wait_for_load_state()


@pytest_asyncio.fixture
async def console(pg_storage: Storage, pg_url: str) -> AsyncIterator[Console]:
    """The service with the console, the small directory, a head and an officer."""
    await load_small_directory(pg_storage)
    async with pg_storage.transaction() as tx:
        await add_recipient(tx, opd_code="disdukcapil", role="officer", channel="telegram",
                            address=str(OFFICER_CHAT), name="Petugas Dukcapil",
                            language="id")  # fmt: skip
        await add_recipient(tx, opd_code="rsud", role="head", channel="telegram",
                            address=str(RSUD_HEAD_CHAT), name="Direktur RSUD",
                            language="id")  # fmt: skip
    async with FakeTelegramApi(token=TOKEN) as api:
        settings = service_settings(
            api,
            pg_url,
            telegram_webhook_url="https://skm.example.go.id/telegram/webhook",
            telegram_webhook_secret=SECRET,
            web_session_secret="browser-tests-cookie-secret",
            telegram_bot_username="skm_mimika_bot",
        )
        async with Service(settings) as service:
            yield Console(service, api, pg_storage)


async def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot: ``test-artifacts/web/<name>-<width>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = ARTIFACTS / f"{name}-{width}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def no_horizontal_scroll(page: Page) -> bool:
    """The page fits its width (tables may scroll inside their own box)."""
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )
