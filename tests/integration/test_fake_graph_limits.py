"""The fake Graph API's opt-in throughput limit (TECH.md §2h), as the bot's client sees it.

Off by default; with ``messages_per_s`` a send beyond that many accepted messages (and noted
inbound webhooks) in any sliding second is answered with Graph's 130429, which the bot's
:class:`handlers.whatsapp.GraphClient` raises as :class:`ThroughputReached`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from handlers.whatsapp import GraphClient, ThroughputReached
from tests.support.fakes.graph_api import FakeGraphApi

TOKEN = "EAAG-limit-tests"
TEXT = {"type": "text", "text": {"body": "Halo"}}


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client(session: aiohttp.ClientSession, api: FakeGraphApi) -> GraphClient:
    return GraphClient(
        session, access_token=TOKEN, phone_number_id=api.phone_number_id, base_url=api.base_url
    )


async def outcomes(graph: GraphClient, count: int) -> list[str]:
    """Send ``count`` messages at once: "sent" or the error's class name, sorted."""
    results = await asyncio.gather(
        *(graph.send(f"ID.{1000 + n}", TEXT) for n in range(count)), return_exceptions=True
    )
    return sorted("sent" if isinstance(r, str) else type(r).__name__ for r in results)


async def test_no_limit_unless_asked(session: aiohttp.ClientSession) -> None:
    async with FakeGraphApi(access_token=TOKEN) as api:
        assert set(await outcomes(client(session, api), 120)) == {"sent"}
        assert api.throughput_rejected == 0 and len(api.sent) == 120


async def test_sends_beyond_the_limit_get_130429_until_the_second_has_passed(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeGraphApi(access_token=TOKEN, messages_per_s=5) as api:
        graph = client(session, api)
        results = await outcomes(graph, 8)
        assert results.count("sent") == 5
        assert results.count("ThroughputReached") == 3
        assert api.throughput_rejected == 3 and len(api.sent) == 5
        refused = [c for c in api.message_calls() if c.status != 200]
        assert [c.status for c in refused] == [400] * 3
        with pytest.raises(ThroughputReached) as caught:
            await graph.send("ID.2000", TEXT)
        assert caught.value.code == 130429
        await asyncio.sleep(1.05)  # the sliding second has passed
        assert (await outcomes(graph, 5)).count("sent") == 5
        assert len(api.sent) == 10


async def test_inbound_noted_counts_against_the_same_second(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeGraphApi(access_token=TOKEN, messages_per_s=4) as api:
        api.note_inbound(3)  # three webhooks delivered to the business just now
        assert await outcomes(client(session, api), 3) == ["ThroughputReached"] * 2 + ["sent"]
        assert api.throughput_rejected == 2


async def test_injected_failures_and_the_limit_are_counted_apart(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeGraphApi(access_token=TOKEN, messages_per_s=2) as api:
        api.fail_next(130429)
        graph = client(session, api)
        with pytest.raises(ThroughputReached):
            await graph.send("ID.1", TEXT)
        assert api.throughput_rejected == 0, "an injected failure is not the limit"
        assert await outcomes(graph, 3) == ["ThroughputReached", "sent", "sent"]
        api.messages_per_s = None  # switched off at run time
        assert await outcomes(graph, 3) == ["sent"] * 3
