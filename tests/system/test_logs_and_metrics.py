"""Operations: JSON logs that name no one, and Prometheus metrics at ``GET /metrics``.

The main test runs a real `python -m bot run` with both channels, takes a Telegram citizen and a
WhatsApp citizen through whole surveys (typed answers and a written suggestion included, plus a
failed send and a delivery report), and then greps the captured log for what the citizens
wrote, the chat id and the phone number: none may appear. The same process's ``/metrics`` must
have counted what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.logging_setup import configure_logging
from bot.metrics import Metrics
from bot.settings import load_settings
from bot.web import build_web_app
from handlers.dispatcher import utc_now
from storage import Storage
from tests.support.directory import load_small_directory
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, signature_header, status_payload
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.processes import wait_ready
from tests.support.telegram_service import SECRET, SURVEY_TAPS, TOKEN, free_port
from tests.support.whatsapp_service import APP_SECRET, VERIFY_TOKEN, numbered
from tests.support.whatsapp_service import TOKEN as GRAPH_TOKEN

CHAT = 918273645
WA_CITIZEN = Citizen(user_id="ID.7708112233445566", wa_id="6281298765432", name="Yohana")
TYPED = {2: "Perempuan", 4: "Wirausaha"}  # steps answered by typing the label
SUGGESTION_TG = "Kursi ruang tunggu loket kurang untuk lansia zebra"
SUGGESTION_WA = "Antrean pagi terlalu panjang kijang"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(exposition: str) -> Samples:
    """Every sample of a text exposition, by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[tuple[FakeTelegramApi, FakeGraphApi]]:
    async with FakeTelegramApi(token=TOKEN) as telegram, FakeGraphApi(GRAPH_TOKEN) as graph:
        yield telegram, graph


@contextlib.asynccontextmanager
async def service(env: dict[str, str], log: Path) -> AsyncIterator[int]:
    port = int(env["HTTP_PORT"])
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=sink, stderr=sink
        )
    try:
        await wait_ready(port, process, log.read_text)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=15)


async def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}{path}",
            data=body,
            headers={"Content-Type": "application/json", **headers},
        ) as response,
    ):
        return response.status


@pytest.mark.slow
async def test_json_logs_of_two_whole_surveys_name_no_one_and_metrics_count_them(
    fakes: tuple[FakeTelegramApi, FakeGraphApi], pg_storage: Storage, pg_url: str, tmp_path: Path
) -> None:
    telegram, graph = fakes
    await load_small_directory(pg_storage)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.pop("LOG_FORMAT", None)  # the default for the service: JSON
    env.update(
        DATABASE_URL=pg_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL="https://skm.example.go.id/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_PER_CHAT_INTERVAL_S="0.02",
        WHATSAPP_ACCESS_TOKEN=GRAPH_TOKEN,
        WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        WHATSAPP_API_BASE_URL=graph.base_url,
        PSEUDONYM_SECRET="log-tests-pseudonym-key",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(free_port()),
        DIGEST_ENABLED="false",
        LOG_LEVEL="DEBUG",  # the most talkative level must be just as discreet
    )
    log = tmp_path / "bot.log"
    async with service(env, log) as port:

        async def telegram_says(update: dict[str, Any]) -> None:
            before = len(telegram.sent_messages(CHAT))
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            body = json.dumps(update).encode()
            assert await post(port, "/telegram/webhook", body, headers) == 200
            await telegram.wait_for(lambda: len(telegram.sent_messages(CHAT)) > before, 15)

        async def whatsapp_says(payload: dict[str, Any]) -> str:
            address = WA_CITIZEN.reply_address
            before = len(graph.messages_to(address))
            body = json.dumps(payload).encode()
            headers = signature_header(APP_SECRET, body)
            assert await post(port, "/whatsapp/webhook", body, headers) == 200
            await graph.wait_for(lambda: len(graph.messages_to(address)) > before, 15)
            last = graph.last_to(address)
            assert last is not None
            return last.text

        # Telegram: taps, two typed answers, a written suggestion, and a failed send.
        telegram.fail_next("sendMessage", status=500)
        await telegram_says(telegram.make_message_update(CHAT, "/start u_dukcapil-mpp"))
        for step, (label, index) in enumerate(SURVEY_TAPS):
            message = telegram.last_sent(CHAT)
            assert message is not None and "reply_markup" in message
            if step in TYPED:
                await telegram_says(telegram.make_message_update(CHAT, TYPED[step]))
                continue
            if step == len(SURVEY_TAPS) - 2:  # the suggestion: written instead of skipped
                await telegram_says(telegram.make_message_update(CHAT, SUGGESTION_TG))
                continue
            buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
            if label is not None:
                buttons = [b for b in buttons if b["text"] == label] or buttons
            data = buttons[index]["callback_data"]
            await telegram_says(telegram.make_callback_update(CHAT, message["message_id"], data))
        assert "Terima kasih" in (telegram.last_sent(CHAT) or {}).get("text", "")

        # WhatsApp: every answer typed, a written suggestion, a delivery report.
        text = await whatsapp_says(WA_CITIZEN.text("SKM rsud-igd"))
        text = await whatsapp_says(WA_CITIZEN.text("1"))
        for _ in range(30):
            if "Ringkasan" in text:
                break
            labels = numbered(graph.last_to(WA_CITIZEN.reply_address))  # type: ignore[arg-type]
            if "Pertanyaan" in text:
                typed = "2"
            elif "saran" in text.lower() and len(labels) == 1:
                typed = SUGGESTION_WA
            else:
                typed = labels[1]
            text = await whatsapp_says(WA_CITIZEN.text(typed))
        assert "Terima kasih" in await whatsapp_says(WA_CITIZEN.text("kirim"))
        last = graph.last_to(WA_CITIZEN.reply_address)
        assert last is not None
        report = json.dumps(status_payload(last.wamid, "read", recipient=WA_CITIZEN)).encode()
        assert await post(port, "/whatsapp/webhook", report, signature_header(APP_SECRET, report))
        refused = await post(port, "/whatsapp/webhook", report, {"X-Hub-Signature-256": "x"})
        assert refused == 403

        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            exposition = await response.text()

    responses = await pg_storage.responses()
    assert sorted(r.suggestion or "" for r in responses) == sorted([SUGGESTION_TG, SUGGESTION_WA])

    # The logs: JSON lines, with ids, channels, outcomes and step times...
    lines = log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    inbound = [r for r in records if r["event"] == "inbound"]
    assert {r["channel"] for r in inbound} == {"telegram", "whatsapp"}
    assert all({"event_id", "outcome", "step_ms", "ts", "level"} <= set(r) for r in inbound)
    assert any(r["event"] == "outbox retry" for r in records), "the failed send was logged"
    # ... and nothing a citizen wrote, nor who they are.
    raw = "\n".join(lines)
    secrets = [
        SUGGESTION_TG, SUGGESTION_WA, *TYPED.values(),
        str(CHAT), WA_CITIZEN.wa_id, WA_CITIZEN.user_id, WA_CITIZEN.user_id.removeprefix("ID."),
        "+" + str(WA_CITIZEN.wa_id), TOKEN, GRAPH_TOKEN, "wamid.",
    ]  # fmt: skip
    for secret in secrets:
        assert secret and secret not in raw, f"{secret!r} is in the log"

    # The metrics counted the same run.
    found = samples(exposition)
    taps = len(SURVEY_TAPS) + 1
    assert value(found, "skm_inbound_total", channel="telegram", outcome="processed") >= taps
    assert value(found, "skm_inbound_total", channel="whatsapp", outcome="processed") >= 10
    assert value(found, "skm_inbound_total", channel="whatsapp", outcome="status") == 1
    assert value(found, "skm_inbound_total", channel="whatsapp", outcome="refused") == 1
    assert value(found, "skm_replies_total", channel="telegram", result="queued") >= 1
    assert value(found, "skm_replies_total", channel="telegram", result="sent") >= taps
    assert value(found, "skm_replies_total", channel="whatsapp", result="sent") >= 10
    assert value(found, "skm_step_seconds_count", channel="telegram") >= taps
    assert value(found, "skm_database_up") == 1
    assert ("skm_digests_sent_total", (("channel", "telegram"),)) not in found  # none sent


def test_the_formatters_hash_ids_and_drop_bodies() -> None:
    stream = io.StringIO()
    configure_logging("json", logging.INFO, key=b"k", stream=stream)
    log = logging.getLogger("skm.test")
    try:
        log.info(
            "sent to 6281234567890 wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA",
            extra={"chat_id": 555000111, "text": "my secret", "outcome": "processed", "n": 3},
        )
        try:
            raise ValueError("Key (address)=(555000111) already exists")
        except ValueError:
            log.exception("failed", extra={"event_id": "4242:123456789"})
        configure_logging("text", logging.INFO, key=b"k", stream=stream)
        log.warning("recipient +6281234567890")
    finally:
        logging.getLogger().handlers.clear()
    first, second, third = stream.getvalue().splitlines()
    sent, failed = json.loads(first), json.loads(second)
    assert sent["event"].startswith("sent to #") and "wamid" not in sent["event"]
    assert sent["chat_id"].startswith("#") and "text" not in sent
    assert sent["outcome"] == "processed" and sent["n"] == 3
    assert "555000111" not in failed["exc"] and "ValueError" in failed["exc"]
    assert failed["event_id"].startswith("4242:#")
    assert "6281234567890" not in third and "WARNING skm.test recipient #" in third
    # The same value always gets the same hash: lines can still be correlated.
    assert sent["event"].split()[2] == third.split()[-1]


def test_log_format_is_json_or_text() -> None:
    assert load_settings(log_format="json").log_format == "json"
    assert load_settings(log_format="text").log_format == "text"
    with pytest.raises(Exception, match="LOG_FORMAT"):
        load_settings(log_format="xml")


async def test_metrics_read_the_outbox_backlog_from_the_database(pg_storage: Storage) -> None:
    now = utc_now()
    async with pg_storage.transaction() as tx:
        for age_s, prefix in ((300, "old"), (5, "new")):
            await tx.enqueue(
                channel="telegram",
                messages=[("message", {"text": "x"})],
                dedupe_prefix=prefix,
                now=now - timedelta(seconds=age_s),
            )
    metrics = Metrics()
    app = build_web_app(pg_storage, metrics=metrics)
    async with TestClient(TestServer(app)) as client:
        async with client.get("/metrics") as response:
            found = samples(await response.text())
        assert value(found, "skm_outbox_messages", channel="telegram", status="pending") == 2
        assert 299 <= value(found, "skm_outbox_oldest_age_seconds", channel="telegram") < 400
        claimed = await pg_storage.claim_outbox("telegram", utc_now(), ids=None)
        await pg_storage.mark_sent([(m.id, "1") for m in claimed], utc_now())
        async with client.get("/metrics") as response:
            found = samples(await response.text())
        assert value(found, "skm_outbox_messages", channel="telegram", status="pending") == 0
        assert ("skm_outbox_oldest_age_seconds", (("channel", "telegram"),)) not in found
        assert value(found, "skm_database_up") == 1
