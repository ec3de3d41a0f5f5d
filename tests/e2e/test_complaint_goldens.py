"""Golden transcripts of a complaint's whole life and its refusals, one test per channel.

See :mod:`tests.support.complaint_goldens` for the script and the harness. The files record what the
code does today; after a behaviour change, re-record with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from tests.support.complaint_goldens import (
    CITIZEN,
    TELEGRAM_TOKEN,
    WHATSAPP_TOKEN,
    ConsoleDriver,
    TelegramDriver,
    WhatsAppDriver,
    check_channel,
)
from tests.support.dispatcher import Clock
from tests.support.fakes.graph_api import FakeGraphApi
from tests.support.fakes.telegram_api import FakeTelegramApi


@pytest_asyncio.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TELEGRAM_TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def graph_api() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(access_token=WHATSAPP_TOKEN) as fake:
        yield fake


def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'complaints.sqlite3'}"


def assert_filed(transcript: dict[str, Any]) -> None:
    """Whatever else changes, the citizen's complaint is filed on every channel: a harness that
    lost its way would record a golden without one."""
    step = next(s for s in transcript["steps"] if s["does"] == "sends the complaint")
    assert step["actor"] == CITIZEN
    assert step["complaint"] == {"status": "DITERIMA", "events": 1}


async def test_console_golden(tmp_path: Path) -> None:
    assert_filed(await check_channel(ConsoleDriver(database(tmp_path), Clock())))


async def test_telegram_golden(tmp_path: Path, telegram_api: FakeTelegramApi) -> None:
    assert_filed(await check_channel(TelegramDriver(database(tmp_path), Clock(), telegram_api)))


async def test_whatsapp_golden(tmp_path: Path, graph_api: FakeGraphApi) -> None:
    assert_filed(await check_channel(WhatsAppDriver(database(tmp_path), Clock(), graph_api)))
