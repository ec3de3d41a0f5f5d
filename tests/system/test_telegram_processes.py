"""Real bot processes against the fake Bot API: killed mid-survey, and two behind one webhook."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from storage import Storage
from storage.models import Conversation
from tests.support.directory import load_small_directory
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.processes import wait_ready
from tests.support.telegram_service import (
    CHAT,
    EXPECTED_SCORES,
    SECRET,
    SURVEY_TAPS,
    TOKEN,
    button,
    free_port,
    last_keyboard,
    tap,
)

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN) as fake:
        yield fake


def bot_env(api: FakeTelegramApi, pg_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(
        DATABASE_URL=pg_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_PER_CHAT_INTERVAL_S="0.02",
        PSEUDONYM_SECRET="process-tests-pseudonym-key",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DIGEST_ENABLED="false",
        **extra,
    )
    return env


def _read(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode()


@asynccontextmanager
async def bot_process(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    # A file, not a pipe: nobody reads the log while the test runs, and a full pipe would
    # block the bot's logging (and the bot) once a few hundred lines were written.
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stderr=log
        )
        try:
            await wait_ready(int(env["HTTP_PORT"]), process, lambda: _read(log))
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout=15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def post(port: int, update: dict[str, Any]) -> int:
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        ) as response,
    ):
        return response.status


async def test_killed_mid_survey_the_citizen_continues_where_they_were(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    env = bot_env(api, pg_url, free_port())
    half = len(SURVEY_TAPS) // 2
    async with bot_process(env) as first:
        api.push_update(api.make_message_update(CHAT, "/start u_dukcapil-mpp"))
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=15)
        for label, index in SURVEY_TAPS[:half]:
            await tap(api, label, index)
        first.kill()  # SIGKILL: no clean shutdown
        await first.wait()
    # The citizen taps while the bot is down; Telegram keeps the update for the next poll.
    label, index = SURVEY_TAPS[half]
    message = last_keyboard(api)
    before = len(api.calls_to("sendMessage"))
    api.push_update(
        api.make_callback_update(CHAT, message["message_id"], button(message, label, index))
    )
    async with bot_process(env):
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) > before, timeout=15)
        for label, index in SURVEY_TAPS[half + 1 :]:
            await tap(api, label, index)
        await api.wait_for(
            lambda: "Terima kasih" in (api.last_sent(CHAT) or {}).get("text", ""), timeout=15
        )
    [response] = await pg_storage.responses()
    assert response.scores == EXPECTED_SCORES


async def test_two_webhook_processes_share_one_citizen_without_loss_or_doubling(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    ports = (free_port(), free_port())
    webhook = {
        "TELEGRAM_WEBHOOK_URL": "https://skm.example.go.id/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    async with (
        bot_process(bot_env(api, pg_url, ports[0], **webhook)),
        bot_process(bot_env(api, pg_url, ports[1], **webhook)),
    ):
        start = api.make_message_update(CHAT, "/start u_dukcapil-mpp")
        # Telegram retries the same update; the retry lands on the other process.
        assert await asyncio.gather(post(ports[0], start), post(ports[1], start)) == [200, 200]
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=15)
        for step, (label, index) in enumerate(SURVEY_TAPS):
            message = last_keyboard(api)
            data = button(message, label, index)
            # A nervous double tap: two updates for the same button, one per process.
            taps = [api.make_callback_update(CHAT, message["message_id"], data) for _ in ports]
            before = len(api.calls_to("sendMessage"))
            statuses = await asyncio.gather(*(post(p, u) for p, u in zip(ports, taps, strict=True)))
            assert statuses == [200, 200]
            await api.wait_for(
                lambda b=before: len(api.calls_to("sendMessage")) >= b + 2, timeout=15
            )
            await asyncio.sleep(0.05)
            if step < len(SURVEY_TAPS) - 1:
                # Exactly one tap moved the survey on; the other got the stale-button notice
                # and the newest question again.
                assert "reply_markup" in api.last_sent(CHAT)  # type: ignore[operator]
        await asyncio.sleep(0.5)
    [response] = await pg_storage.responses()
    assert response.scores == EXPECTED_SCORES
    async with pg_storage.sessions() as session:
        states = (await session.execute(select(Conversation.state))).scalars().all()
    assert len(states) == 1
