"""The Graph API client and the WhatsApp sender against the fake Graph API on 127.0.0.1.

Covers what the end-to-end tests do not reach quickly: the 24-hour window decisions with and
without a template, the token check at start-up, media upload, and the fake's own rules.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from handlers.outbox import PermanentSendError, TransientSendError
from handlers.whatsapp import (
    AccessTokenInvalid,
    GraphClient,
    GraphUnavailable,
    Template,
    ThroughputReached,
    WhatsAppRejected,
    WhatsAppSender,
    check_credentials,
    media_fetcher,
    render,
    whatsapp_limiter,
)
from storage.outbox import ContactWindow, PendingMessage
from survey_flows.types import Choice, Outbound
from tests.support.fakes.graph_api import FakeGraphApi

TOKEN = "EAAG-sender-tests"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
BSUID = "ID.1349120865530274"


class Windows:
    """An in-memory stand-in for Storage's window methods."""

    def __init__(
        self, last_inbound_at: datetime | None, template_sent_at: datetime | None = None
    ) -> None:
        self.window = ContactWindow(last_inbound_at, template_sent_at)
        self.notes: dict[int, str] = {}

    async def contact_window(self, contact_id: int) -> ContactWindow | None:
        return self.window

    async def mark_template_sent(self, contact_id: int, at: datetime) -> None:
        self.window = ContactWindow(self.window.last_inbound_at, at)

    async def note_outbox(self, message_id: int, note: str) -> None:
        self.notes[message_id] = note

    async def address_window(self, channel: str, address: str) -> ContactWindow | None:
        return self.window


def pending(
    payload: dict[str, Any] | None = None, *, kind: str = "message", attempts: int = 1
) -> PendingMessage:
    message = payload or Outbound("Halo", (Choice("yes", "Ya"), Choice("no", "Tidak"))).to_json()
    return PendingMessage(7, "whatsapp", BSUID, kind, message, attempts, contact_id=3)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(access_token=TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def client(api: FakeGraphApi) -> AsyncIterator[GraphClient]:
    async with aiohttp.ClientSession() as session:
        yield GraphClient(
            session, access_token=TOKEN, phone_number_id=api.phone_number_id, base_url=api.base_url
        )


def sender(client: GraphClient, windows: Windows, template: bool = True) -> WhatsAppSender:
    return WhatsAppSender(
        client,
        windows,
        template=Template("skm_lanjutkan", "id") if template else None,
        clock=lambda: NOW,
    )


async def test_inside_the_window_the_message_itself_goes_out(
    api: FakeGraphApi, client: GraphClient
) -> None:
    windows = Windows(NOW - timedelta(hours=23, minutes=59))
    receipt = await sender(client, windows).send(pending())
    [sent] = api.sent
    assert receipt.platform_message_id == sent.wamid
    assert sent.body["recipient"] == BSUID and sent.interactive["type"] == "button"
    assert api.calls[0].path == f"/v25.0/{api.phone_number_id}/messages"


async def test_outside_the_window_one_template_then_superseded(
    api: FakeGraphApi, client: GraphClient
) -> None:
    windows = Windows(NOW - timedelta(hours=24))
    bot = sender(client, windows)
    receipt = await bot.send(pending())
    [sent] = api.sent
    assert sent.type == "template" and receipt.platform_message_id == sent.wamid
    assert "outside the 24-hour window" in windows.notes[7]
    assert windows.window.template_sent_at == NOW
    with pytest.raises(PermanentSendError, match="superseded"):
        await bot.send(pending())
    assert len(api.sent) == 1


async def test_without_a_template_the_message_waits_then_fails(
    api: FakeGraphApi, client: GraphClient
) -> None:
    bot = sender(client, Windows(NOW - timedelta(days=2)), template=False)
    with pytest.raises(TransientSendError, match="waiting for the citizen") as waiting:
        await bot.send(pending())
    assert waiting.value.retry_after_s == 15 * 60
    with pytest.raises(PermanentSendError, match="no WHATSAPP_TEMPLATE_NAME"):
        await bot.send(pending(attempts=96))
    assert api.calls == []


async def test_a_template_row_is_dropped_when_the_citizen_wrote_meanwhile(
    api: FakeGraphApi, client: GraphClient
) -> None:
    bot = sender(client, Windows(NOW - timedelta(minutes=5)))
    receipt = await bot.send(pending({"failed_message": "wamid.x"}, kind="template"))
    assert receipt.platform_message_id is None and api.calls == []


async def test_answered_notices_cost_no_call(api: FakeGraphApi, client: GraphClient) -> None:
    receipt = await sender(client, Windows(NOW)).send(pending({"answer": "Ya"}, kind="answered"))
    assert receipt.platform_message_id is None and api.calls == []


async def test_an_erased_contact_is_not_sent_to(client: GraphClient) -> None:
    message = PendingMessage(1, "whatsapp", "", "message", Outbound("x").to_json(), 1, None)
    with pytest.raises(PermanentSendError, match="erased"):
        await sender(client, Windows(NOW)).send(message)


async def test_the_page_of_a_long_list_is_rendered(api: FakeGraphApi, client: GraphClient) -> None:
    choices = tuple(Choice(str(i), f"Pilihan {i}") for i in range(1, 15))
    payload = {**Outbound("Pilih", choices, "4").to_json(), "wa_page": 1}
    await sender(client, Windows(NOW)).send(pending(payload))
    assert (
        api.sent[0].body["interactive"] == render(Outbound("Pilih", choices, "4"), 1)["interactive"]
    )


async def test_throughput_error_pauses_the_next_send(
    api: FakeGraphApi, client: GraphClient
) -> None:
    bot = sender(client, Windows(NOW))
    api.fail_next(130429)
    with pytest.raises(TransientSendError) as error:
        await bot.send(pending())
    assert isinstance(error.value.__cause__, ThroughputReached)
    await bot.send(pending())
    calls = api.message_calls()
    assert calls[1].at - calls[0].at >= 0.9


# --- the client and the fake -----------------------------------------------------------------


async def test_a_wrong_token_is_refused_with_code_190(api: FakeGraphApi) -> None:
    async with aiohttp.ClientSession() as session:
        wrong = GraphClient(
            session, access_token="nope", phone_number_id=api.phone_number_id, base_url=api.base_url
        )
        with pytest.raises(AccessTokenInvalid) as error:
            await wrong.send(BSUID, {"type": "text", "text": {"body": "x"}})
        assert error.value.http_status == 401
        with pytest.raises(WhatsAppRejected, match="WHATSAPP_ACCESS_TOKEN"):
            await check_credentials(wrong)
        other_number = GraphClient(
            session, access_token=TOKEN, phone_number_id="123", base_url=api.base_url
        )
        with pytest.raises(WhatsAppRejected, match="WHATSAPP_PHONE_NUMBER_ID"):
            await check_credentials(other_number)


async def test_credentials_are_checked_and_an_outage_is_only_logged(
    api: FakeGraphApi, client: GraphClient
) -> None:
    info = await check_credentials(client)
    assert info is not None and info["id"] == api.phone_number_id
    async with aiohttp.ClientSession() as session:
        nowhere = GraphClient(
            session, access_token=TOKEN, phone_number_id="1", base_url="http://127.0.0.1:9"
        )
        assert await check_credentials(nowhere) is None
        with pytest.raises(GraphUnavailable):
            await nowhere.send(BSUID, {"type": "text", "text": {"body": "x"}})


async def test_an_outage_drops_the_connection(api: FakeGraphApi, client: GraphClient) -> None:
    api.set_down(True)
    with pytest.raises(GraphUnavailable):
        await client.send(BSUID, {"type": "text", "text": {"body": "x"}})
    api.set_down(False)
    assert (await client.send(BSUID, {"type": "text", "text": {"body": "x"}})).startswith("wamid.")


async def test_phone_numbers_go_in_to_and_bsuids_in_recipient(
    api: FakeGraphApi, client: GraphClient
) -> None:
    await client.send("6281234567890", {"type": "text", "text": {"body": "a"}})
    await client.send(BSUID, {"type": "text", "text": {"body": "b"}})
    assert api.sent[0].body["to"] == "6281234567890" and "recipient" not in api.sent[0].body
    assert api.sent[1].body["recipient"] == BSUID and "to" not in api.sent[1].body


@pytest.mark.parametrize(
    ("content", "details"),
    [
        ({"type": "text", "text": {"body": "x" * 4097}}, "Text body is too long"),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "b"},
                    "action": {
                        "buttons": [
                            {"type": "reply", "reply": {"id": str(i), "title": "T"}}
                            for i in range(2)
                        ]
                    },
                },
            },
            "Duplicate button titles",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": {"text": "b"},
                    "action": {
                        "button": "Pilih",
                        "sections": [
                            {"rows": [{"id": str(i), "title": f"R{i}"} for i in range(11)]}
                        ],
                    },
                },
            },
            "Total row count",
        ),
        (
            {"type": "template", "template": {"name": "unknown", "language": {"code": "id"}}},
            "does not exist",
        ),
    ],
    ids=["text-4097", "duplicate-buttons", "eleven-rows", "unapproved-template"],
)
async def test_the_fake_refuses_what_meta_refuses(
    api: FakeGraphApi, client: GraphClient, content: dict[str, Any], details: str
) -> None:
    with pytest.raises(Exception) as error:
        await client.send(BSUID, content)
    assert details in str(getattr(error.value, "details", ""))
    assert api.sent == []


async def test_media_upload_and_download(api: FakeGraphApi, client: GraphClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    media_id = await client.upload_media(png, "image/png", "chart.png")
    assert api.uploads[media_id].data == png
    await client.send(BSUID, {"type": "image", "image": {"id": media_id, "caption": "IKM"}})
    assert api.sent[0].type == "image"
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{api.base_url}/v25.0/{media_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response,
    ):
        info = await response.json()
    assert info["file_size"] == len(png) and info["mime_type"] == "image/png"


def digest_row(kind: str) -> PendingMessage:
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 50
    payload: dict[str, Any] = (
        {"png_base64": base64.b64encode(png).decode(), "caption": "Grafik SKM",
         "summary": "Minggu ke-47: 83 responden, IKM 80,12", "language": "id"}
        if kind == "digest_photo"
        else {"text": "Ringkasan mingguan SKM", "choices": [], "language": "id"}
    )  # fmt: skip
    return PendingMessage(9, "whatsapp", "6280000000001", kind, payload, 1, None)


async def test_a_digest_inside_the_heads_window_goes_out_as_it_is(
    api: FakeGraphApi, client: GraphClient
) -> None:
    head = sender(client, Windows(NOW - timedelta(hours=2)))
    await head.send(digest_row("digest"))
    receipt = await head.send(digest_row("digest_photo"))
    text, image = api.sent
    assert text.type == "text" and text.text == "Ringkasan mingguan SKM"
    assert receipt.platform_message_id == image.wamid and image.type == "image"
    assert api.uploads[image.body["image"]["id"]].data.startswith(b"\x89PNG")


async def test_outside_the_window_the_chart_goes_as_the_digest_template_and_the_text_waits(
    api: FakeGraphApi, client: GraphClient
) -> None:
    api.approved_templates["skm_ringkasan"] = ("id",)
    head = WhatsAppSender(client, Windows(None), digest_template=Template("skm_ringkasan", "id"),
                          clock=lambda: NOW)  # fmt: skip
    await head.send(digest_row("digest_photo"))
    [sent] = api.sent
    template = sent.body["template"]
    assert template["name"] == "skm_ringkasan"
    header, body = template["components"]
    assert header["parameters"][0]["image"]["id"] in api.uploads
    assert body["parameters"][0]["text"].startswith("Minggu ke-47")
    with pytest.raises(TransientSendError, match="24-hour window"):
        await head.send(digest_row("digest"))
    assert len(api.sent) == 1
    # Without a digest template the chart waits for the head's reply too.
    plain = sender(client, Windows(None), template=False)
    with pytest.raises(TransientSendError):
        await plain.send(digest_row("digest_photo"))


async def test_sends_are_paced_under_the_number_s_throughput(
    api: FakeGraphApi, client: GraphClient
) -> None:
    """With Meta's limit enforced (received messages count too), a burst of replies goes out
    whole and on time: paced just under the limit, never refused with 130429."""
    api.messages_per_s = 40
    limiter = whatsapp_limiter(40)
    whatsapp = WhatsAppSender(client, Windows(NOW), clock=lambda: NOW, limiter=limiter)
    for _ in range(10):  # ten citizens just wrote: ten of this second's forty are used
        limiter.note_inbound()
        api.note_inbound()
    loop = asyncio.get_running_loop()
    started = loop.time()
    receipts = await asyncio.gather(*(whatsapp.send(pending()) for _ in range(60)))
    elapsed = loop.time() - started
    assert len({r.platform_message_id for r in receipts}) == 60
    assert api.throughput_rejected == 0
    # 70 messages at 38.8/s, after a burst of two: at least ~1.7 s, and not much more.
    assert 1.5 <= elapsed <= 3.5


async def test_a_complaint_photo_is_fetched_by_its_media_id(
    api: FakeGraphApi, client: GraphClient
) -> None:
    """The web console's complaint desk reads a citizen's photo: Graph names its URL, which
    is fetched with the token; an unknown (expired) id or a too large file gives None."""
    jpeg = b"\xff\xd8\xff\xe0" + b"\1" * 200
    media_id = await client.upload_media(jpeg, "image/jpeg", "photo.jpg")
    fetch = media_fetcher(client)
    assert await fetch(media_id) == jpeg
    assert await fetch("404404404") is None
    assert await client.download_media(media_id, max_bytes=100) is None


async def test_follow_up_news_goes_as_its_template_even_outside_the_window(
    api: FakeGraphApi, client: GraphClient
) -> None:
    api.approved_templates["skm_tindak_lanjut"] = ("id",)
    windows = Windows(NOW - timedelta(days=40))  # answered a survey last quarter
    text = "Kabar tindak lanjut survei: Loket telah memperbaiki unsur.\nTerima kasih."
    news = {"template": "skm_tindak_lanjut", "language": "id", "text": text}
    receipt = await sender(client, windows).send(pending(news, kind="followup_news"))
    [sent] = api.sent
    assert sent.type == "template" and receipt.platform_message_id == sent.wamid
    template = sent.body["template"]
    assert template["name"] == "skm_tindak_lanjut"
    assert template["components"][0]["parameters"][0]["text"] == (
        "Kabar tindak lanjut survei: Loket telah memperbaiki unsur. Terima kasih."
    )
    assert windows.window.template_sent_at is None  # not the window's re-engagement template
