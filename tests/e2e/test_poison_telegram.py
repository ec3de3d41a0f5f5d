"""Telegram's own shapes against the running service in webhook mode: what cannot be served is
accepted and ignored (Telegram retries any non-2xx), service messages are never answered, and
a secret header that is not even ASCII is refused like a wrong one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from sqlalchemy import func, select

from storage import Storage
from storage.models import InboundEvent
from tests.support.directory import load_small_directory
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.telegram_service import CHAT, SECRET, TOKEN, Service, service_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "telegram"
GUIDE = (
    "guide_message_without_is_bot",
    "guide_edited_message",
    "guide_callback_query_without_is_bot",
)
SERVICE = ("auto_delete_timer_changed", "write_access_allowed", "users_shared")
METRICS_TOKEN = "metrics-token-for-tests"


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN) as fake:
        yield fake


def fixture(name: str, chat: int, update_id: int) -> dict[str, Any]:
    update: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    update["update_id"] = update_id
    message = update.get("message")
    if message is not None and message["chat"].get("type") == "private":
        message["chat"]["id"] = message["from"]["id"] = chat
    return update


async def raw_post(port: int, secret: bytes, body: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_unservable_updates_get_200_and_service_messages_no_reply(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    settings = service_settings(
        api,
        pg_url,
        telegram_webhook_url="https://skm.example.go.id/telegram/webhook",
        telegram_webhook_secret=SECRET,
        metrics_token=METRICS_TOKEN,
    )
    async with Service(settings) as service:
        for number, name in enumerate(GUIDE):
            assert await service.post_update(fixture(name, CHAT, 500 + number)) == 200, name
        start = api.make_message_update(CHAT, "/start u_dukcapil-mpp")
        assert await service.post_update(start) == 200
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=10)
        await asyncio.sleep(0.3)
        sent = len(api.calls_to("sendMessage"))
        for number, name in enumerate(SERVICE):
            assert await service.post_update(fixture(name, CHAT, 600 + number)) == 200, name
        await asyncio.sleep(0.5)
        assert len(api.calls_to("sendMessage")) == sent, "a service message is never answered"
        assert await service.post_update({"not": "an update"}) == 400
        body = json.dumps(start).encode()
        port = settings.http_port
        assert await raw_post(port, SECRET.encode()[:-1] + b"\xff", body) == 403
        assert await raw_post(port, b"\xc3\xa9" * 10, body) == 403
        # METRICS_TOKEN: /metrics and /readyz answer only the bearer of the token.
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for path in ("/metrics", "/readyz"):
                async with session.get(base + path) as response:
                    assert response.status == 401, path
                bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
                async with session.get(base + path, headers=bearer) as response:
                    assert response.status == 200, path
            async with session.get(base + "/healthz") as response:
                assert response.status == 200
    async with pg_storage.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(InboundEvent))
    assert stored == 1, "only /start reached the dispatcher"
