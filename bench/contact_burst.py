"""One sender's burst against everybody else's replies (per-contact limits, handlers/ratelimit.py).

Runs ``run_service`` in this process against a fresh PostgreSQL database and the fake Graph API
(tests/support/fakes/graph_api.py). One WhatsApp sender posts ``--burst`` text messages, in
deliveries of 10, all at once; meanwhile another citizen sends ``--probes`` messages one after
the other, each once the previous reply arrived. Printed: the other citizen's reply time
(webhook POST to the reply's arrival at the fake API), alone first, then during the burst, with
the default limits and with limits so high they never apply (``CONTACT_BURST=1000``, as before
them); how many of the burst were dropped and how many notices the sender got.

Meta counts inbound messages against the number's throughput tier (TECH.md §2h), and the
sender paces replies accordingly (``RateLimiter.note_inbound``): at the default 80/s a burst of
1,000 uses 12.5 s of the number's capacity whatever the bot does with the messages. ``--tier``
(default 1,000/s, the upgraded tier) sets ``WHATSAPP_MESSAGES_PER_S``; ``--tier 80`` shows it.

    python bench/contact_burst.py --burst 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from pg import fresh_database  # noqa: E402

from bot.app import bundled_example, import_directory, run_service  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage import Storage, db  # noqa: E402
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, signature_header  # noqa: E402

SECRET = "bench-app-secret-0123456789"
TOKEN = "bench-access-token-0123456789"
SENDER = Citizen(user_id="ID.1000000000000001", wa_id="6281100000001", name="Burst")
OTHER = Citizen(user_id="ID.1000000000000002", wa_id="6281100000002", name="Other")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delivery(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    batch = json.loads(json.dumps(payloads[0]))
    value = batch["entry"][0]["changes"][0]["value"]
    for payload in payloads[1:]:
        value["messages"] += payload["entry"][0]["changes"][0]["value"]["messages"]
    return batch


async def post(session: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> int:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signature_header(SECRET, body)}
    async with session.post(url, data=body, headers=headers) as response:
        return response.status


async def probe_replies(
    session: aiohttp.ClientSession, url: str, api: FakeGraphApi, count: int
) -> list[float]:
    """The other citizen's reply times, in seconds, one message at a time."""
    times: list[float] = []
    for n in range(count):
        before = len(api.messages_to(OTHER.reply_address))
        started = time.perf_counter()
        await post(session, url, OTHER.text(f"halo {n}"))
        await api.wait_for(
            lambda before=before: len(api.messages_to(OTHER.reply_address)) > before, 60
        )
        times.append(time.perf_counter() - started)
    return times


async def run(url: str, burst: int, probes: int, limited: bool, tier: float) -> dict[str, Any]:
    await fresh_database(url)
    storage = Storage(db.create_engine(url))
    await db.upgrade(storage.engine)
    await import_directory(storage, bundled_example())
    await storage.dispose()
    async with FakeGraphApi(access_token=TOKEN) as api:
        port = free_port()
        extra = {} if limited else {"contact_burst": 1000, "contact_messages_per_minute": 6000}
        settings = load_settings(
            database_url=url, telegram_bot_token=None, whatsapp_access_token=TOKEN,
            whatsapp_phone_number_id=api.phone_number_id, whatsapp_app_secret=SECRET,
            whatsapp_verify_token="bench-verify-token-0123", whatsapp_api_base_url=api.base_url,
            http_host="127.0.0.1", http_port=port, pseudonym_secret="bench-pseudonym-secret",
            digest_enabled=False, log_level="WARNING", whatsapp_messages_per_s=tier, **extra,
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(run_service(settings, stop))
        webhook = f"http://127.0.0.1:{port}/whatsapp/webhook"
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            alone = await probe_replies(session, webhook, api, probes)
            messages = [SENDER.text(f"spam {n}") for n in range(burst)]
            posts = [
                post(session, webhook, delivery(messages[n : n + 10])) for n in range(0, burst, 10)
            ]
            flood = asyncio.gather(*posts)
            during = await probe_replies(session, webhook, api, probes)
            statuses = await flood
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
        stop.set()
        await asyncio.wait_for(task, 30)
    dropped = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('skm_limited_total{channel="whatsapp",limit="messages"}')
    )
    notices = [m for m in api.messages_to(SENDER.reply_address) if "terlalu banyak" in m.text]
    return {
        "alone": alone,
        "during": during,
        "statuses": sorted(set(statuses)),
        "dropped": int(dropped),
        "notices": len(notices),
    }


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:7.0f} ms   max {max(times) * 1000:7.0f} ms"


async def main(url: str, burst: int, probes: int, tier: float) -> None:
    print(f"burst           {burst} messages from one sender, in deliveries of 10, at once")
    print(f"throughput tier {tier:g} messages/s (WHATSAPP_MESSAGES_PER_S; inbound counts too)")
    for limited in (False, True):
        figures = await run(url, burst, probes, limited, tier)
        label = "default limits " if limited else "no limits      "
        print(f"{label} other citizen alone:        {summary(figures['alone'])}")
        print(f"{label} other citizen during burst: {summary(figures['during'])}")
        print(
            f"{label} burst: webhook answers {figures['statuses']}, dropped "
            f"{figures['dropped']}, notices to the sender {figures['notices']}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/skm_bench_burst"
    )
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--tier", type=float, default=1000.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.burst, arguments.probes, arguments.tier))
