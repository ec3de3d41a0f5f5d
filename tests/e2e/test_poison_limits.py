"""Per-contact limits against the running WhatsApp service (finding 9 of the privacy issue).

A burst from one sender is dropped beyond its bucket, answered once, and counted in /metrics,
while another citizen is still served; ticket lookups have a tighter bucket; complaints per
citizen per day are capped. The buckets themselves are checked with a fake clock.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

import aiohttp
from prometheus_client import generate_latest

from bot.metrics import Metrics
from handlers.ratelimit import ContactLimits, is_ticket_lookup
from storage import Storage
from storage.complaints import apply_desk_effects
from survey_flows import skm
from survey_flows.complaints import ComplaintStatus, ComplaintView
from survey_flows.desk import InsertComplaint
from survey_flows.engine import FlowSettings, StepContext
from survey_flows.types import Channel, Inbound, InboundKind, LimitReached, StepResult
from tests.support.complaint_chat import DIRECTORY, NOW, view
from tests.support.complaints import filed as filed_complaint
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0, make_bot, text_in
from tests.support.fakes.graph_api import FakeGraphApi
from tests.support.whatsapp_deliveries import KELLY, one_delivery
from tests.support.whatsapp_service import MARIA, Service


def inbound(contact: str, text: str = "halo", **fields: object) -> Inbound:
    return Inbound(Channel.WHATSAPP, contact, "e", InboundKind.TEXT, T0, text=text,
                   **fields)  # type: ignore[arg-type]  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_limited_per_contact_answered_once_and_refilled() -> None:
    clock = FakeClock()
    limits = ContactLimits(burst=3, per_minute=60, status_burst=2, status_per_minute=6,
                           clock=clock)  # fmt: skip
    verdicts = [limits.check(inbound("a")) for _ in range(6)]
    assert verdicts[:3] == [None] * 3
    assert [(v.limit, v.notify) for v in verdicts[3:] if v] == [
        ("messages", True), ("messages", False), ("messages", False)
    ]  # fmt: skip
    assert limits.check(inbound("b")) is None, "another contact is not held back"
    clock.now += 1.0  # one message a second comes back, the episode goes on: no new notice
    assert limits.check(inbound("a")) is None
    assert limits.check(inbound("a")).notify is False  # type: ignore[union-attr]
    clock.now += 3.0  # calm long enough to refill the bucket: a new episode is told again
    assert [limits.check(inbound("a")) for _ in range(3)] == [None] * 3
    assert limits.check(inbound("a")).notify is True  # type: ignore[union-attr]


def test_ticket_lookups_have_their_own_tighter_bucket() -> None:
    clock = FakeClock()
    limits = ContactLimits(burst=50, per_minute=60, status_burst=2, status_per_minute=6,
                           clock=clock)  # fmt: skip
    lookups = [limits.check(inbound("a", "STATUS ADU-2222-2222")) for _ in range(4)]
    assert [v.limit if v else None for v in lookups] == [None, None, "status", "status"]
    assert limits.check(inbound("a", "halo")) is None, "other messages still go through"
    clock.now += 10.0
    assert limits.check(inbound("a", "status")) is None
    assert is_ticket_lookup(inbound("a", "/status ADU-2222-2222"))
    assert is_ticket_lookup(inbound("a", "adu-2222-2222"))
    assert not is_ticket_lookup(inbound("a", "Statusnya bagaimana, antre lama"))
    tap = Inbound(Channel.WHATSAPP, "a", "e", InboundKind.CHOICE, T0, choice_id="status",
                  prompt_token="3")  # fmt: skip
    assert is_ticket_lookup(tap)


def say_with_cap(complaints: tuple[ComplaintView, ...], cap: int, text: str) -> StepResult:
    event = Inbound(Channel.TELEGRAM, "42", "e1", InboundKind.TEXT, NOW, text=text)
    context = StepContext(NOW, DIRECTORY, "id", settings=FlowSettings(complaints_per_day=cap),
                          complaints=complaints)  # fmt: skip
    return skm.step(None, event, context)


def test_complaints_per_day_are_capped_politely() -> None:
    today = (view(ComplaintStatus.DITERIMA), view(ComplaintStatus.SELESAI))
    refused = say_with_cap(today, 2, "pengaduan")
    assert refused.effects == (LimitReached("complaints_per_day"),)
    assert "sudah menyampaikan 2 pengaduan hari ini" in refused.outbound[0].text
    yesterday = tuple(replace(c, filed_at=NOW - timedelta(days=1)) for c in today)
    # Under the cap, yesterday's complaints, or no cap (0): the complaint flow begins.
    for complaints, cap in ((today, 3), (yesterday, 2), (today, 0)):
        result = say_with_cap(complaints, cap, "pengaduan")
        assert not any(isinstance(e, LimitReached) for e in result.effects)
        assert result.state is not None and result.state["flow"] == "complaint"


# --- against the running service -----------------------------------------------------------


async def metric(whatsapp_service: Service, name: str, **labels: str) -> float:
    port = whatsapp_service.settings.http_port
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{selector}\}} (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_a_burst_from_one_sender_is_dropped_answered_once_and_counted(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    burst = [MARIA.text(f"pesan {n}") for n in range(60)]
    posts = [whatsapp_service.post(one_delivery(*burst[n : n + 10])) for n in range(0, 60, 10)]
    assert set(await asyncio.gather(*posts)) == {200}, "dropped, never refused"
    # Another citizen is served meanwhile.
    reply = await whatsapp_service.say(KELLY, KELLY.text("SKM dukcapil-mpp"))
    assert reply.text
    await graph_api.wait_for(
        lambda: any("terlalu banyak" in m.text for m in graph_api.messages_to(MARIA.reply_address)),
        timeout=10,
    )
    told = [m for m in graph_api.messages_to(MARIA.reply_address) if "terlalu banyak" in m.text]
    assert len(told) == 1, "answered once, not per dropped message"
    dropped = await metric(
        whatsapp_service, "skm_limited_total", channel="whatsapp", limit="messages"
    )
    # 30 at once (CONTACT_BURST), then 60 a minute: a few may refill while the burst arrives.
    assert 24 <= dropped <= 30
    assert await metric(whatsapp_service, "skm_inbound_total", channel="whatsapp",
                        outcome="limited") == dropped  # fmt: skip


async def test_ticket_lookups_are_limited_against_the_service(
    whatsapp_service: Service, graph_api: FakeGraphApi, pg_storage: Storage
) -> None:
    for _ in range(8):
        assert await whatsapp_service.post(KELLY.text("STATUS ADU-2222-2222")) == 200
    await graph_api.wait_for(
        lambda: any("terlalu sering" in m.text for m in graph_api.messages_to(KELLY.reply_address)),
        timeout=10,
    )
    texts = [m.text for m in graph_api.messages_to(KELLY.reply_address)]
    assert sum("terlalu sering" in t for t in texts) == 1
    assert (
        await metric(whatsapp_service, "skm_limited_total", channel="whatsapp", limit="status") == 3
    )


async def test_the_daily_complaint_cap_reaches_the_metrics(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage, settings=FlowSettings(complaints_per_day=1))
    metrics = Metrics()
    bot.dispatcher.observer = metrics.observe_dispatch
    await bot.dispatcher.handle(text_in("warga", "halo"))
    async with storage.transaction() as tx:
        contact = await tx.contact_for("console", "warga", "id", T0)
        filed = replace(filed_complaint(), filed_at=T0)
        await apply_desk_effects(tx, [InsertComplaint(filed, contact.id, "console")], T0)
    result = await bot.dispatcher.handle(text_in("warga", "pengaduan"))
    assert result.limit == "complaints_per_day"
    assert "batas per hari" in bot.sender.texts()[-2]
    exposition = generate_latest(metrics.registry).decode()
    assert 'skm_limited_total{channel="console",limit="complaints_per_day"} 1.0' in exposition
