"""The WhatsApp end-to-end fixtures: the fake Graph API and the service on PostgreSQL.

A plugin of tests/conftest.py, so every module gets them by name (``graph_api``,
``whatsapp_service``), distinct from the Telegram fake's ``api``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from storage import Storage
from tests.support.directory import load_small_directory
from tests.support.fakes.graph_api import FakeGraphApi
from tests.support.whatsapp_service import TOKEN, Service, service_settings


@pytest_asyncio.fixture
async def graph_api() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(access_token=TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def whatsapp_service(
    graph_api: FakeGraphApi, pg_storage: Storage, pg_url: str
) -> AsyncIterator[Service]:
    """The service with its default limits (30 messages at once, 5 lookups, 5 complaints) and
    the small directory."""
    await load_small_directory(pg_storage)
    async with Service(service_settings(graph_api, pg_url), graph_api) as running:
        yield running
