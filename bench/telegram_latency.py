"""Update-to-reply latency of the Telegram webhook path, on PostgreSQL.

Starts the fake Bot API on 127.0.0.1 in this process, one `skm-bot run` process in webhook mode
on a fresh PostgreSQL database, and simulated citizens who each complete a survey by tapping
buttons. For every update it measures the time from posting it to the webhook until the reply's
sendMessage reaches the fake API. Rate limits are raised so that the figure is our own latency,
not Telegram's pacing (the limiter has its own tests).

    python bench/telegram_latency.py --citizens 200 --concurrency 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pg import fresh_database  # noqa: E402

from tests.support.fakes.telegram_api import FakeTelegramApi  # noqa: E402
from tests.support.processes import wait_ready  # noqa: E402

TOKEN = "4242:bench"
SECRET = "bench_webhook_secret"
TAPS = [
    "Setuju",
    1,
    "Perempuan",
    "Lewati",
    "Wirausaha",
    0,
    3,
    2,
    2,
    3,
    2,
    2,
    3,
    2,
    3,
    "Lewati",
    "Kirim",
]


def pick(message: dict[str, object], choice: str | int) -> str:
    rows = message["reply_markup"]["inline_keyboard"]  # type: ignore[index]
    buttons = [b for row in rows for b in row]  # type: ignore[attr-defined]
    if isinstance(choice, int):
        return str(buttons[choice]["callback_data"])
    return str(next(b for b in buttons if b["text"] == choice)["callback_data"])


class Replies:
    """sendMessage arrival times per chat, read incrementally from the fake's call log."""

    def __init__(self, api: FakeTelegramApi) -> None:
        self.api = api
        self.seen = 0
        self.times: dict[int, list[float]] = {}

    def of(self, chat: int) -> list[float]:
        calls = self.api.calls
        for call in calls[self.seen :]:
            if call.method == "sendMessage":
                self.times.setdefault(int(call.params["chat_id"]), []).append(call.at)
        self.seen = len(calls)
        return self.times.get(chat, [])


async def citizen(
    api: FakeTelegramApi, replies: Replies, session: aiohttp.ClientSession, url: str, chat: int
) -> list[float]:
    latencies: list[float] = []

    async def send(update: dict[str, object]) -> None:
        count = len(replies.of(chat))
        started = time.monotonic()
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with session.post(url, json=update, headers=headers) as response:
            assert response.status == 200, response.status
        await api.wait_for(lambda: len(replies.of(chat)) > count, timeout=30)
        latencies.append((replies.of(chat)[count] - started) * 1000)

    await send(api.make_message_update(chat, "/start u_dukcapil-mpp"))
    for choice in TAPS:
        message = api.last_sent(chat)
        assert message is not None
        await send(api.make_callback_update(chat, message["message_id"], pick(message, choice)))
    return latencies


async def main(citizens: int, concurrency: int, database_url: str, port: int) -> None:
    await fresh_database(database_url)
    async with FakeTelegramApi(token=TOKEN) as api:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://bench.invalid/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_OVERALL_PER_S": "1000",
            "TELEGRAM_PER_CHAT_INTERVAL_S": "0",
            "PSEUDONYM_SECRET": "bench-pseudonym-secret",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        importer = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "units", "import", "examples/mimika.yaml",
            env=env, stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await importer.wait()
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env)
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        await wait_ready(port, process, lambda: "the bot exited")
        async with aiohttp.ClientSession() as session:
            gate = asyncio.Semaphore(concurrency)
            replies = Replies(api)

            async def one(n: int) -> list[float]:
                async with gate:
                    return await citizen(api, replies, session, url, 700_000_000 + n)

            cpu_before = _child_cpu_s()
            started = time.monotonic()
            results = await asyncio.gather(*(one(n) for n in range(citizens)))
            elapsed = time.monotonic() - started
        process.terminate()
        await process.wait()
        cpu = _child_cpu_s() - cpu_before
    latencies = sorted(x for r in results for x in r)
    n = len(latencies)
    print(f"citizens            {citizens} (concurrency {concurrency})")
    print(f"updates             {n} in {elapsed:.1f} s ({n / elapsed:.0f} updates/s)")
    print(f"update->reply p50   {statistics.median(latencies):.1f} ms")
    print(f"update->reply p95   {latencies[int(n * 0.95)]:.1f} ms")
    print(f"update->reply p99   {latencies[min(int(n * 0.99), n - 1)]:.1f} ms")
    print(f"bot CPU per update  {cpu / n * 1000:.2f} ms (includes start-up)")


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--port", type=int, default=18089)
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/skm_bench_tg"
    )
    args = parser.parse_args()
    asyncio.run(main(args.citizens, args.concurrency, args.database_url, args.port))
