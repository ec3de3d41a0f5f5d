"""How long one survey step takes through the dispatcher (dedupe, lock, step, persist, send).

Runs complete surveys for many simulated citizens, one step at a time, against a fresh
PostgreSQL database (or SQLite with --database-url sqlite+aiosqlite:///...), with a sender that
discards messages, and prints the median and tail of the per-step time.

    python bench/step_latency.py --respondents 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from pg import fresh_database
from sqlalchemy.engine import make_url

from bot.app import bundled_example, import_directory
from handlers.dispatcher import Dispatcher
from handlers.outbox import OutboxWorker, Sender, SendReceipt
from storage import Storage, db
from storage.outbox import PendingMessage
from survey_flows.engine import FlowSettings
from survey_flows.types import Channel, Inbound, InboundKind

SURVEY = ["1", "2", "1", "4", "5", "1", *["4", "3", "4", "3", "4", "3", "4", "3", "4"], "1", "1"]


class DiscardingSender:
    channel = "console"

    async def send(self, message: PendingMessage) -> SendReceipt:
        return SendReceipt()


async def main(url: str, respondents: int) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        await fresh_database(url)
    storage = Storage(db.create_engine(url))
    await db.upgrade(storage.engine)
    await import_directory(storage, bundled_example())
    senders: dict[str, Sender] = {"console": DiscardingSender()}
    outbox = OutboxWorker(storage, senders, lambda: datetime.now(UTC))
    dispatcher = Dispatcher(storage, FlowSettings(), b"bench-secret", outbox)
    timings: list[float] = []
    cpu = 0.0
    started = time.perf_counter()
    for n in range(respondents):
        contact = f"bench-{n}"
        for i, body in enumerate(["/start u_dukcapil-mpp", *SURVEY]):
            kind = InboundKind.COMMAND if body.startswith("/") else InboundKind.TEXT
            inbound = Inbound(
                channel=Channel.CONSOLE,
                contact=contact,
                event_id=f"{contact}:{i}",
                kind=kind,
                received_at=datetime.now(UTC),
                text=None if kind is InboundKind.COMMAND else body,
                command="start" if kind is InboundKind.COMMAND else None,
                command_args=("u_dukcapil-mpp",) if kind is InboundKind.COMMAND else (),
            )
            t0, c0 = time.perf_counter(), time.process_time()
            await dispatcher.handle(inbound)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu += time.process_time() - c0
    elapsed = time.perf_counter() - started
    stored = len(await storage.responses())
    await storage.dispose()
    timings.sort()

    def pct(p: float) -> float:
        return timings[min(int(len(timings) * p), len(timings) - 1)]

    print(f"database        {make_url(url).get_backend_name()}")
    print(f"respondents     {respondents} (responses stored: {stored})")
    print(f"steps           {len(timings)} in {elapsed:.1f} s ({len(timings) / elapsed:.0f}/s)")
    print(f"step median     {statistics.median(timings):.2f} ms")
    print(f"step p95        {pct(0.95):.2f} ms")
    print(f"step p99        {pct(0.99):.2f} ms")
    print(f"step max        {timings[-1]:.2f} ms")
    print(f"CPU per step    {cpu / len(timings) * 1000:.2f} ms (this process: dispatcher, driver)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/skm_bench"
    )
    parser.add_argument("--respondents", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.database_url, arguments.respondents))
