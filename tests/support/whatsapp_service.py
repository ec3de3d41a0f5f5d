"""The in-process service in WhatsApp mode against the fake Graph API, and its citizens."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.app import run_service
from bot.settings import Settings, load_settings
from storage import Storage
from storage.models import OutboxMessage
from tests.support.fakes.graph_api import (
    Citizen,
    FakeGraphApi,
    SentMessage,
    signature_header,
)

TOKEN = "EAAG-test-token"


APP_SECRET = "meta-app-secret-for-tests"


VERIFY_TOKEN = "skm-verify-token-123"


TEMPLATE = "skm_lanjutkan"


MARIA = Citizen()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_settings(api: FakeGraphApi, pg_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": pg_url,
        "telegram_bot_token": None,
        "whatsapp_access_token": TOKEN,
        "whatsapp_phone_number_id": api.phone_number_id,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_api_base_url": api.base_url,
        "whatsapp_template_name": TEMPLATE,
        "http_host": "127.0.0.1",
        "http_port": free_port(),
        "pseudonym_secret": "whatsapp-tests-pseudonym",
    }
    if "digest_enabled" in Settings.model_fields:
        # Weekly digests (another feature) would queue charts for other channels at start-up.
        values["digest_enabled"] = False
    values.update(extra)
    return load_settings(**values)


class Service:
    """`run_service` in a background task, plus Meta's side of the webhook."""

    def __init__(self, settings: Settings, api: FakeGraphApi) -> None:
        self.settings = settings
        self.api = api
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.url = f"http://127.0.0.1:{settings.http_port}/whatsapp/webhook"

    async def __aenter__(self) -> Service:
        self.task = asyncio.create_task(run_service(self.settings, self.stop))
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                if self.task.done():
                    self.task.result()  # raises the start-up error
                try:
                    healthz = f"http://127.0.0.1:{self.settings.http_port}/healthz"
                    async with session.get(healthz) as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError("the service did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=15)

    async def post(
        self, payload: dict[str, Any] | bytes, *, headers: dict[str, str] | None = None
    ) -> int:
        """POST as Meta does: the raw bytes, signed with the app secret unless told otherwise."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if headers is None:
            headers = signature_header(APP_SECRET, body)
        headers = {"Content-Type": "application/json", **headers}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as response,
        ):
            return response.status

    async def say(self, citizen: Citizen, payload: dict[str, Any], replies: int = 1) -> SentMessage:
        """Post a citizen's message and wait for the bot's replies; returns the last one."""
        address = citizen.reply_address
        before = len(self.api.messages_to(address))
        assert await self.post(payload) == 200
        await self.api.wait_for(
            lambda: len(self.api.messages_to(address)) >= before + replies, timeout=10
        )
        last = self.api.last_to(address)
        assert last is not None
        return last

    async def tap(self, citizen: Citizen, choice_id: str, replies: int = 1) -> SentMessage:
        """Tap the row or button of the bot's latest message whose choice is ``choice_id``."""
        message = self.api.last_to(citizen.reply_address)
        assert message is not None
        reply = option(message, choice_id)
        kind = "button" if message.interactive.get("type") == "button" else "list"
        return await self.say(citizen, citizen.tap(reply, message.wamid, kind=kind), replies)


def option(message: SentMessage, choice_id: str) -> dict[str, Any]:
    for reply in message.replies():
        if str(reply["id"]).split("|")[-1] == choice_id:
            return reply
    raise AssertionError(f"no option {choice_id!r} in {message.replies()}")


def numbered(message: SentMessage) -> dict[int, str]:
    """The numbered full labels of the body: what a citizen can type instead of tapping."""
    return {int(n): label for n, label in re.findall(r"^(\d+)\. (.+)$", message.text, re.M)}


async def outbox_rows(storage: Storage) -> list[OutboxMessage]:
    """The WhatsApp rows of the outbox (other jobs may queue digests for other channels)."""
    query = (
        select(OutboxMessage).where(OutboxMessage.channel == "whatsapp").order_by(OutboxMessage.id)
    )
    async with storage.sessions() as session:
        return list((await session.execute(query)).scalars())


async def settled_rows(storage: Storage, timeout: float = 5.0) -> list[OutboxMessage]:
    """The outbox once nothing is being sent any more (the sender marks rows after the call)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await outbox_rows(storage)
        if all(r.status != "sending" for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)
