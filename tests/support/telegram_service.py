"""The in-process service in Telegram webhook mode against the fake Bot API; the survey's taps."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp

from bot.app import run_service
from bot.settings import Settings, load_settings
from tests.support.fakes.telegram_api import FakeTelegramApi

TOKEN = "123456:TEST-token"


SECRET = "webhook_secret-123"


CHAT = 555000111


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_settings(api: FakeTelegramApi, pg_url: str, **extra: Any) -> Settings:
    return load_settings(
        database_url=pg_url,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=api.base_url,
        http_host="127.0.0.1",
        http_port=free_port(),
        pseudonym_secret="telegram-tests-pseudonym",
        # Tests tap faster than any person; the limiter itself has its own tests.
        telegram_per_chat_interval_s=0.02,
        digest_enabled=False,  # digests have their own tests; here they would add messages
        **extra,
    )


class Service:
    """`run_service` in a background task, stopped at the end of the test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Service:
        self.task = asyncio.create_task(run_service(self.settings, self.stop))
        await self.wait_ready()
        return self

    async def wait_ready(self) -> None:
        url = f"http://127.0.0.1:{self.settings.http_port}/healthz"
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                assert self.task is not None
                if self.task.done():
                    self.task.result()  # raises the start-up error
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError("the service did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=15)

    async def post_update(
        self,
        update: dict[str, Any],
        secret: str | None = SECRET,
        api: FakeTelegramApi | None = None,
    ) -> int:
        """POST an update to the webhook; with ``api``, the fake runs the call the webhook's
        answer names, as Telegram does."""
        url = f"http://127.0.0.1:{self.settings.http_port}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=update, headers=headers) as response,
        ):
            answer = await response.read()
            if api is not None and response.status == 200:
                await api.run_webhook_reply(answer, response.content_type)
            return response.status


def last_keyboard(api: FakeTelegramApi, chat: int = CHAT) -> dict[str, Any]:
    message = api.last_sent(chat)
    assert message is not None and "reply_markup" in message, message
    return message


def button(message: dict[str, Any], label: str | None = None, index: int = 0) -> str:
    rows = message["reply_markup"]["inline_keyboard"]
    buttons = [b for row in rows for b in row]
    if label is not None:
        buttons = [b for b in buttons if b["text"] == label]
    return str(buttons[index]["callback_data"])


async def tap(api: FakeTelegramApi, label: str | None = None, index: int = 0) -> None:
    """Tap a button of the newest message and wait until the bot has answered it."""
    message = last_keyboard(api)
    before = len(sends_to(api, CHAT))
    update = api.make_callback_update(CHAT, message["message_id"], button(message, label, index))
    api.push_update(update)
    await api.wait_for(lambda: len(sends_to(api, CHAT)) > before, timeout=10)


def sends_to(api: FakeTelegramApi, chat: int) -> list[Any]:
    """sendMessage calls to one chat (other chats, e.g. a head's digest, do not count)."""
    return [c for c in api.calls_to("sendMessage") if str(c.params.get("chat_id")) == str(chat)]


SURVEY_TAPS: list[tuple[str | None, int]] = [
    ("Setuju", 0),  # consent
    (None, 1),  # age 26-35
    ("Perempuan", 0),
    ("Lewati", 0),  # education skipped
    ("Wirausaha", 0),
    ("Kartu Keluarga", 0),  # service type
    ("Sangat sesuai", 0),  # U1
    ("Mudah", 0),  # U2
    ("Cepat", 0),  # U3
    ("Gratis", 0),  # U4
    ("Sesuai", 0),  # U5
    ("Kompeten", 0),  # U6
    ("Sangat sopan dan ramah", 0),  # U7
    ("Baik", 0),  # U9 (asked 8th)
    ("Dikelola dengan baik", 0),  # U8 (asked 9th)
    ("Lewati", 0),  # suggestion
    ("Kirim", 0),
]


EXPECTED_SCORES = {"U1": 4, "U2": 3, "U3": 3, "U4": 4, "U5": 3, "U6": 3, "U7": 4, "U9": 3, "U8": 4}
