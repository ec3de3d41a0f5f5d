"""`skm-bot run` as a real process with only WhatsApp configured, against the fake Graph API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.cli import main
from storage import Storage
from tests.support.directory import load_small_directory
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, signature_header
from tests.support.processes import wait_ready
from tests.support.whatsapp_service import APP_SECRET, TOKEN, VERIFY_TOKEN, free_port

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(access_token=TOKEN) as fake:
        yield fake


def whatsapp_env(api: FakeGraphApi, pg_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(
        DATABASE_URL=pg_url,
        WHATSAPP_ACCESS_TOKEN=TOKEN,
        WHATSAPP_PHONE_NUMBER_ID=api.phone_number_id,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        WHATSAPP_API_BASE_URL=api.base_url,
        PSEUDONYM_SECRET="cli-tests-pseudonym-key",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DIGEST_ENABLED="false",  # weekly digests are another feature's concern
    )
    env.update(extra)
    return env


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )


async def test_a_whatsapp_only_configuration_serves_the_webhook(
    api: FakeGraphApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    port = free_port()
    process = await start(whatsapp_env(api, pg_url, port))
    try:
        await wait_ready(port, process, lambda: "the bot stopped")
        async with aiohttp.ClientSession() as session:
            body = json.dumps(Citizen().text("SKM dukcapil-mpp")).encode()
            async with session.post(
                f"http://127.0.0.1:{port}/whatsapp/webhook",
                data=body,
                headers=signature_header(APP_SECRET, body),
            ) as response:
                assert response.status == 200
        await api.wait_for_sent(1, timeout=10)
        assert "Sebelum mulai" in api.sent[0].text
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=15)
    assert process.returncode == 0


async def test_a_token_meta_rejects_stops_start_up_with_one_line(
    api: FakeGraphApi, pg_url: str
) -> None:
    process = await start(whatsapp_env(api, pg_url, free_port(), WHATSAPP_ACCESS_TOKEN="expired"))
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    expected = "skm-bot: configuration error: WHATSAPP_ACCESS_TOKEN: rejected by Meta"
    assert expected in stderr.decode()


def test_a_missing_app_secret_is_named_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "106540352242922")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    assert main(["run"]) == 2
    assert capsys.readouterr().err.strip() == (
        "skm-bot: configuration error: WHATSAPP_APP_SECRET: required for the WhatsApp channel "
        "(WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET, "
        "WHATSAPP_VERIFY_TOKEN go together)"
    )
