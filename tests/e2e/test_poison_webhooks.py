"""Poison payloads against the running WhatsApp service (`run_service`, the fake Graph API).

A well-signed delivery never gets a 500 for one bad message in it, for its nesting, its
encoding or its numbers; a header that is not even ASCII is refused as a bad signature; a
database refusing connections is a 503; deleted and edited messages are ignored.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from sqlalchemy import select

from bot.web import MAX_JSON_DEPTH
from storage import Storage, db
from storage.base import keyed_event_id
from storage.models import InboundEvent
from tests.support.databases import admin_dsn
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, fixture, signature_header
from tests.support.whatsapp_deliveries import KELLY, one_delivery
from tests.support.whatsapp_service import APP_SECRET, MARIA, Service, service_settings


def messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return list(payload["entry"][0]["changes"][0]["value"]["messages"])


def list_reply(citizen: Citizen, reply_id: str) -> dict[str, Any]:
    return citizen.tap({"id": reply_id, "title": "x"}, None)


async def stored_ids(storage: Storage) -> set[str]:
    async with storage.sessions() as session:
        return set((await session.execute(select(InboundEvent.event_id))).scalars())


async def test_a_poisoned_list_reply_does_not_lose_the_rest_of_the_delivery(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    good = KELLY.text("SKM dukcapil-mpp")
    delivery = one_delivery(
        list_reply(MARIA, "wp1|tok|²"),
        list_reply(MARIA, "wp1|tok|" + "9" * 5000),
        list_reply(MARIA, "v1|tok|" + "٣" * 5000),
        good,
    )
    assert await whatsapp_service.post(delivery) == 200
    await graph_api.wait_for(lambda: graph_api.last_to(KELLY.reply_address) is not None, timeout=10)
    # Stored as a keyed hash of the wamid, never the wamid itself (docs/privacy.md).
    wamid = messages(good)[0]["id"]
    stored = await stored_ids(pg_storage)
    assert keyed_event_id(b"whatsapp-tests-pseudonym", "whatsapp", wamid) in stored
    assert wamid not in stored


async def test_nesting_nan_and_utf16_never_answer_500(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    deep = b'{"object": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert await whatsapp_service.post(deep) == 400
    just_too_deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    assert await whatsapp_service.post(just_too_deep) == 400
    # Brackets a citizen types are text, not nesting.
    assert await whatsapp_service.post(KELLY.text("[" * 100 + "{" * 100)) == 200
    location = MARIA.location()
    messages(location)[0]["location"]["latitude"] = float("nan")
    assert await whatsapp_service.post(json.dumps(location).encode()) == 400  # NaN is not JSON
    for latitude, longitude in ((1e308, 10.0), (91.0, 0.0), (0.0, -181.0)):
        far = MARIA.location()
        messages(far)[0]["location"].update(latitude=latitude, longitude=longitude)
        assert await whatsapp_service.post(far) == 200
    # A UTF-16 body (JSON allows it) whose text hides NUL escapes.
    hidden = MARIA.text("SKM\\u0000 dukcapil-mpp")
    body = json.dumps(hidden).replace("\\\\u0000", "\\u0000").encode("utf-16")
    before = len(graph_api.messages_to(MARIA.reply_address))
    assert await whatsapp_service.post(body) == 200
    await graph_api.wait_for(
        lambda: len(graph_api.messages_to(MARIA.reply_address)) > before, timeout=10
    )


async def raw_post(port: int, signature: bytes, body: bytes) -> int:
    """A POST whose signature header holds any bytes (HTTP clients refuse non-ASCII)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /whatsapp/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nX-Hub-Signature-256: " + signature + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_a_non_ascii_signature_is_refused_before_anything(
    whatsapp_service: Service, pg_storage: Storage
) -> None:
    body = json.dumps(MARIA.text("halo")).encode()
    good = signature_header(APP_SECRET, body)["X-Hub-Signature-256"].encode()
    assert await raw_post(whatsapp_service.settings.http_port, good[:-1] + b"\xff", body) == 403
    assert await raw_post(whatsapp_service.settings.http_port, b"sha256=\xc3\xa9", body) == 403
    assert await stored_ids(pg_storage) == set()


async def test_deleted_and_edited_messages_are_ignored_mid_survey(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    await whatsapp_service.say(MARIA, MARIA.text("SKM dukcapil-mpp"))
    before = len(graph_api.messages_to(MARIA.reply_address))
    for name in ("revoke", "edit"):
        payload = MARIA._personalise(fixture(name))
        assert await whatsapp_service.post(payload) == 200
    await whatsapp_service.say(MARIA, MARIA.text("bantuan"), replies=1)
    texts = [m.text for m in graph_api.messages_to(MARIA.reply_address)[before:]]
    assert not any(t.startswith("Maaf, saya hanya dapat membaca teks") for t in texts)
    assert len(texts) <= 2  # the help, nothing for the deletion or the edit


async def test_a_database_refusing_connections_answers_503(
    graph_api: FakeGraphApi, pg_storage: Storage, scratch_pg: str
) -> None:
    engine = db.create_engine(scratch_pg)
    await db.upgrade(engine)
    await engine.dispose()
    dsn, _ = admin_dsn(scratch_pg)
    name = scratch_pg.rsplit("/", 1)[1]
    async with Service(service_settings(graph_api, scratch_pg), graph_api) as running:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
            for _ in range(3):  # dead pooled connections first, then refused new ones (55000)
                assert await running.post(MARIA.text("SKM dukcapil-mpp")) == 503
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
