"""Load: simulated citizens take the survey through the Telegram webhook, with the floors.

One run, on this machine, against a fresh PostgreSQL database:

1. **Floors.** The fake Bot API's own round trip (sequential and 64 in flight), and
   PostgreSQL's rate for the statements one tap costs the dispatcher (an asyncpg loop that
   runs the same SQL on as many connections as the bot's pool).
2. **Capacity.** `python -m bot run` in webhook mode; ``--citizens`` citizens, at most
   ``--concurrency`` at once, each completes the survey (18 updates: /start and 17 taps). Each
   tap is answered with editMessageText and sendMessage, and its callback query in the
   webhook's answer (the fake API makes that call, as Telegram does; ``--polling``: the bot
   polls getUpdates and calls answerCallbackQuery itself). The fake API's flood limits are off
   here and the bot's own limiter raised, so this measures the bot: updates/s sustained,
   update-to-reply latency, CPU per 1,000 updates, peak resident memory. ``--workers 1,2``
   runs this phase and the next once per process count.
3. **Paced.** New citizens, updates issued at ``--paced-rate`` per second (open loop): the
   latency at a realistic rate.
4. **Platform limit.** The fake API enforces Telegram's limits (30 messages/s overall, 1/s per
   chat after a burst of 3, 429 with ``retry_after``) and a bot process is restarted with
   ``TELEGRAM_OVERALL_PER_S`` just under it; ``--limit-citizens`` citizens tap for
   ``--limit-seconds``. Prints messages delivered per second against the limit and the 429s.

    python bench/load.py --citizens 500

Nothing here leaves 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pg import fresh_database  # noqa: E402

from storage import hot_path_statements  # noqa: E402
from storage.driver import driver_statement  # noqa: E402
from tests.support.fakes.telegram_api import FakeTelegramApi  # noqa: E402
from tests.support.processes import wait_ready  # noqa: E402

C = TypeVar("C")  # a citizen, as a channel's driver names one
S = TypeVar("S")  # one step of a citizen's survey

TOKEN = "4242:load"
SECRET = "load_webhook_secret"
PLATFORM_LIMIT_PER_S = 30
# The survey of examples/mimika.yaml's first unit: a label or the index of the button to tap.
TAPS: list[str | int] = [
    "Setuju", 1, "Perempuan", "Lewati", "Wirausaha", 0,
    3, 2, 2, 3, 2, 2, 3, 2, 3,  # U1..U9
    "Lewati", "Kirim",
]  # fmt: skip
UNIT = "dukcapil-mpp"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the bot process -------------------------------------------------------------------------


class BotProcess:
    """`python -m bot run` as a subprocess; CPU and memory read from /proc."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1, root: Path = ROOT) -> None:
        self.env = env
        self.root = root  # the source tree whose bot runs (bench/ab.py compares two)
        self.port = int(env["HTTP_PORT"])
        self.log = log
        self.workers = workers
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--workers", str(self.workers),
                env=self.env, stdout=sink, stderr=sink, cwd=self.root,
            )  # fmt: skip
        await wait_ready(self.port, self.process, lambda: f"the bot exited; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def pids(self) -> list[int]:
        """The process and, with ``--workers``, its worker processes."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [self.pid, *(int(child) for child in children)]

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process (and its workers) so far."""
        total = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def peak_rss_mb(self) -> float:
        """The largest peak resident size of one process (the supervisor's is tiny)."""
        peaks = [0.0]
        for pid in self.pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), timeout=30)


def bot_env(database_url: str, api: FakeTelegramApi, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_WEBHOOK_URL="https://load.invalid/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        PSEUDONYM_SECRET="load-bench-pseudonym",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DIGEST_ENABLED="false",  # the weekly digest job would render charts mid-run
        LOG_LEVEL="WARNING",  # one JSON line per update costs CPU too; see docs/performance.md
        **extra,
    )
    return env


async def import_directory(env: dict[str, str], root: Path = ROOT) -> None:
    importer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "units", "import", "examples/mimika.yaml",
        env={**env, "LOG_FORMAT": "text"}, cwd=root, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if await importer.wait() != 0:
        raise RuntimeError("units import failed")


# --- Telegram's side -----------------------------------------------------------------------


class Replies:
    """What the fake API accepted, per chat, as it happens (a hook on its handlers)."""

    def __init__(self, api: FakeTelegramApi) -> None:
        self.api = api
        self.last: dict[int, dict[str, Any]] = {}
        self.count: Counter[int] = Counter()
        self.events: dict[int, asyncio.Event] = {}
        self.accepted: list[float] = []  # arrival of every accepted send-type call
        for method in ("sendMessage", "editMessageText"):
            self._wrap(method)

    def _wrap(self, method: str) -> None:
        original = self.api._handlers[method]  # noqa: SLF001 - our own fake

        def handler(params: dict[str, Any]) -> Any:
            result = original(params)
            now = time.monotonic()
            self.accepted.append(now)
            if method == "sendMessage":
                chat = int(params["chat_id"])
                self.last[chat] = result
                self.count[chat] += 1
                self.event(chat).set()
            return result

        self.api._handlers[method] = handler  # noqa: SLF001

    def event(self, chat: int) -> asyncio.Event:
        return self.events.setdefault(chat, asyncio.Event())

    async def next_reply(self, chat: int, after: int, timeout_s: float) -> float:
        """Wait until chat has more than ``after`` messages; returns when the first arrived."""
        deadline = time.monotonic() + timeout_s
        while self.count[chat] <= after:
            event = self.event(chat)
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply to chat {chat}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return time.monotonic()


def pick(message: dict[str, Any], choice: str | int) -> str:
    buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
    if isinstance(choice, int):
        return str(buttons[choice]["callback_data"])
    return str(next(b for b in buttons if b["text"] == choice)["callback_data"])


@dataclass
class Driver:
    """Posts citizens' updates to the webhook and times the replies."""

    api: FakeTelegramApi
    replies: Replies
    port: int
    polling: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    updates: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        self.session = aiohttp.ClientSession(connector=connector)
        self.url = f"http://127.0.0.1:{self.port}/telegram/webhook"
        self.headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def send(self, chat: int, update: dict[str, Any], timeout_s: float = 120) -> None:
        before = self.replies.count[chat]
        started = time.monotonic()
        if self.polling:
            self.api.push_update(update)  # the bot's long poll takes it
        else:
            await self.post(update)
        self.updates += 1
        replied = await self.replies.next_reply(chat, before, timeout_s)
        self.latencies_ms.append((replied - started) * 1000)

    async def post(self, update: dict[str, Any]) -> None:
        """Deliver to the webhook as Telegram does: again until a 2xx, then make the call its
        answer names (answerCallbackQuery)."""
        body = json.dumps(update).encode()
        headers = {**self.headers, "Content-Type": "application/json"}
        while True:
            async with self.session.post(self.url, data=body, headers=headers) as response:
                answer = await response.read()
                if response.status == 200:
                    await self.api.run_webhook_reply(answer, response.content_type)
                    return
            self.failures += 1  # Telegram redelivers until 2xx
            await asyncio.sleep(0.1)

    def steps(self, chat: int) -> list[Callable[[], dict[str, Any]]]:
        """The updates of one survey, each built when it is due (taps need the last message)."""
        api = self.api

        def start() -> dict[str, Any]:
            return api.make_message_update(chat, f"/start u_{UNIT}")

        def tapper(choice: str | int) -> Callable[[], dict[str, Any]]:
            def tap() -> dict[str, Any]:
                message = self.replies.last[chat]
                return api.make_callback_update(chat, message["message_id"], pick(message, choice))

            return tap

        return [start, *(tapper(choice) for choice in TAPS)]

    async def citizen(self, chat: int, deadline: float | None = None) -> None:
        for build in self.steps(chat):
            if deadline is not None and time.monotonic() > deadline:
                return
            await self.send(chat, build())

    async def close(self) -> None:
        await self.session.close()


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving ``database`` (from /proc: the
    server's shared processes, the WAL writer and the checkpointer, are not counted)."""
    marker = f" {database} ".encode()
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if not command.startswith(b"postgres: ") or marker not in command:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


class PostgresCpu:
    """The CPU of ``database``'s backends over a phase. Sampled every 0.1 s, as the bot's pool
    opens and closes overflow connections all along: a backend that ends between two samples
    is counted up to its last sample (a short one not at all), so the figure is a floor."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.before = postgres_cpu(database)
        self.latest = dict(self.before)
        self.opened = 0
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            for pid, used in postgres_cpu(self.database).items():
                if pid not in self.latest:
                    self.opened += 1
                self.latest[pid] = used

    async def stop(self) -> float:
        """CPU seconds used in the phase."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for pid, used in postgres_cpu(self.database).items():
            self.latest[pid] = used
        return sum(used - self.before.get(pid, 0.0) for pid, used in self.latest.items())


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


# --- floors ----------------------------------------------------------------------------------


async def api_floor(api: FakeTelegramApi, calls: int = 400) -> tuple[float, float]:
    """The fake API alone: (p50 round trip ms sequentially, calls/s with 64 in flight)."""
    url = api.method_url("sendMessage")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(n: int) -> float:
            started = time.monotonic()
            payload = {"chat_id": 990_000_000 + n % 50, "text": "floor"}
            async with session.post(url, json=payload) as response:
                await response.read()
            return (time.monotonic() - started) * 1000

        sequential = [await one(n) for n in range(calls)]
        gate = asyncio.Semaphore(64)

        async def gated(n: int) -> float:
            async with gate:
                return await one(n)

        started = time.monotonic()
        await asyncio.gather(*(gated(n) for n in range(calls * 4)))
        concurrent_rate = calls * 4 / (time.monotonic() - started)
    return statistics.median(sequential), concurrent_rate


# The statements one survey tap costs on PostgreSQL, compiled from the very objects
# storage executes: the dispatcher's transaction (begin_event, which also locks the
# conversation, enqueue-and-save), then "mark sent" in autocommit.
HOT = hot_path_statements()
BEGIN_EVENT = driver_statement(HOT["begin_event"])
LOCK = driver_statement(HOT["lock_conversation"])
ENQUEUE = driver_statement(HOT["enqueue"])
MARK_SENT = driver_statement(HOT["mark_sent"])
STATE = {"flow": "skm", "step": "q", "answers": {f"U{n}": 3 for n in range(1, 10)}}
MESSAGES = [
    {"kind": "answered", "payload": {"question": "Pertanyaan 2", "answer": "Baik"}},
    {
        "kind": "message",
        "payload": {"text": "Pertanyaan 3 dari 9 " + "x" * 200, "choices": [["1", "a"]]},
    },
]


async def postgres_floor(url: str, workers: int, seconds: float) -> float:
    """Taps per second PostgreSQL sustains for one tap's statements on ``workers`` conns."""
    parsed = make_url(url).set(drivername="postgresql")
    dsn = parsed.render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(dsn, min_size=workers, max_size=workers)
    done = 0
    stop_at = time.monotonic() + seconds

    async def worker(number: int) -> None:
        nonlocal done
        sequence = 0
        async with pool.acquire() as connection:
            while time.monotonic() < stop_at:
                sequence += 1
                now = datetime.now(UTC)
                address = f"floor-{number}-{sequence % 40}"
                key = f"floor:{number}:{sequence}"
                values: dict[str, Any] = {
                    "channel": "floor",
                    "event_id": key,
                    "received_at": now,
                    "address": address,
                    "language": "id",
                    "respondent_key": address,
                    "since": now.date(),
                }
                async with connection.transaction():
                    contact = await connection.fetchrow(
                        BEGIN_EVENT.sql, *BEGIN_EVENT.arguments(values)
                    )
                    values.update(contact_id=contact["id"], key_contact_id=contact["id"])
                    # begin_event locked the conversation; a new contact's is created first.
                    if not contact["locked"]:
                        await connection.execute(
                            "INSERT INTO conversations (contact_id, updated_at) VALUES ($1, $2)",
                            contact["id"],
                            now,
                        )
                        await connection.fetchrow(LOCK.sql, *LOCK.arguments(values))
                    values.update(
                        recipient_id=None,
                        priority=0,
                        status="sending",
                        attempts=1,
                        now=now,
                        lease_until=now + timedelta(minutes=2),
                        prefix=key,
                        messages=MESSAGES,
                        save_contact_id=contact["id"],
                        state=STATE,
                        expires_at=now + timedelta(minutes=30),
                    )
                    rows = await connection.fetch(ENQUEUE.sql, *ENQUEUE.arguments(values))
                await connection.executemany(
                    MARK_SENT.sql,
                    [
                        MARK_SENT.arguments(
                            {"message_id": row["id"], "platform_id": str(sequence), "sent_at": now}
                        )
                        for row in rows
                    ],
                )
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    rate = done / (time.monotonic() - started)
    async with pool.acquire() as connection:  # leave the bot's tables as they were
        await connection.execute("DELETE FROM outbox WHERE channel = 'floor'")
        await connection.execute("DELETE FROM contacts WHERE channel = 'floor'")
        await connection.execute("DELETE FROM inbound_events WHERE channel = 'floor'")
    await pool.close()
    return rate


# --- the phases -------------------------------------------------------------------------------


class LoadDriver(Protocol):
    """What the phases read from a channel's driver (Telegram here, WhatsApp in
    whatsapp_load.py)."""

    updates: int
    latencies_ms: list[float]

    async def close(self) -> None: ...


async def closed_loop(
    bot: BotProcess,
    driver: LoadDriver,
    survey: Callable[[int], Awaitable[None]],
    citizens: int,
    concurrency: int,
) -> dict[str, float]:
    """Citizens ``0..citizens-1`` take the survey, at most ``concurrency`` at once; the
    throughput, latency, the bot's CPU and memory, and how busy the machine was."""
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await survey(n)

    postgres = PostgresCpu(str(make_url(bot.env["DATABASE_URL"]).database))
    cpu_before, started, own_before = bot.cpu_s(), time.monotonic(), time.process_time()
    busy_before, total_before = machine_busy()
    await asyncio.gather(*(one(n) for n in range(citizens)))
    elapsed = time.monotonic() - started
    cpu = bot.cpu_s() - cpu_before
    pg_cpu = await postgres.stop()
    own = time.process_time() - own_before
    busy_after, total_after = machine_busy()
    await driver.close()
    return {
        "updates": driver.updates,
        "seconds": elapsed,
        "rate": driver.updates / elapsed,
        "p50": percentile(driver.latencies_ms, 0.50),
        "p95": percentile(driver.latencies_ms, 0.95),
        "p99": percentile(driver.latencies_ms, 0.99),
        "cpu_s_per_1000": cpu / driver.updates * 1000,
        "pg_cpu_s_per_1000": pg_cpu / driver.updates * 1000,
        "pg_connections_opened": postgres.opened,
        "rss_mb": bot.peak_rss_mb(),
        "bot_cpu_share": cpu / elapsed,
        "bench_cpu_share": own / elapsed,
        "machine_busy": (busy_after - busy_before) / max(total_after - total_before, 1),
    }


async def open_loop(
    driver: LoadDriver,
    new_citizens: Iterator[C],
    steps: Callable[[C], list[S]],
    send: Callable[[C, S], Awaitable[None]],
    rate: float,
    seconds: float,
) -> dict[str, float]:
    """Issue updates at ``rate`` per second for ``seconds``, each from a citizen not waiting
    for a reply (a new one when all are waiting); the latency at that rate."""
    idle: asyncio.Queue[tuple[C, list[S]]] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()
    late = 0

    async def step(who: C, remaining: list[S]) -> None:
        await send(who, remaining[0])
        if remaining[1:]:
            idle.put_nowait((who, remaining[1:]))

    started = time.monotonic()
    issued = 0
    while (now := time.monotonic()) - started < seconds:
        due = started + issued / rate
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > 0.05:
            late += 1
        if idle.empty():
            who = next(new_citizens)
            idle.put_nowait((who, steps(who)))
        who, remaining = idle.get_nowait()
        task = asyncio.create_task(step(who, remaining))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        issued += 1
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    await driver.close()
    return {
        "updates": driver.updates,
        "rate": driver.updates / elapsed,
        "p50": percentile(driver.latencies_ms, 0.50),
        "p95": percentile(driver.latencies_ms, 0.95),
        "p99": percentile(driver.latencies_ms, 0.99),
        "late": late,
    }


# Chat ids per run of the capacity and paced phases (one run per --workers count): each run's
# citizens are new, so none of them meets the one-response-per-day rule.
RUN_CHATS = 40_000_000


async def capacity(
    api: FakeTelegramApi,
    replies: Replies,
    bot: BotProcess,
    citizens: int,
    concurrency: int,
    *,
    run: int = 0,
    polling: bool = False,
) -> dict[str, float]:
    driver = Driver(api, replies, bot.port, polling=polling)
    first = 700_000_000 + run * RUN_CHATS
    figures = await closed_loop(
        bot, driver, lambda n: driver.citizen(first + n), citizens, concurrency
    )
    return {**figures, "redelivered": driver.failures}


async def paced(
    api: FakeTelegramApi,
    replies: Replies,
    bot: BotProcess,
    rate: float,
    seconds: float,
    *,
    run: int = 0,
    polling: bool = False,
) -> dict[str, float]:
    driver = Driver(api, replies, bot.port, polling=polling)

    async def send(chat: int, build: Callable[[], dict[str, Any]]) -> None:
        await driver.send(chat, build())

    first = 710_000_000 + run * RUN_CHATS
    chats = iter(range(first, first + 10_000_000))
    return await open_loop(driver, chats, driver.steps, send, rate, seconds)


async def platform_limit(
    api: FakeTelegramApi, replies: Replies, bot: BotProcess, citizens: int, seconds: float
) -> dict[str, float]:
    driver = Driver(api, replies, bot.port)
    before_429 = api.stats.rejected_429
    first_accepted = len(replies.accepted)
    first_429: list[float] = []
    check = api._check_rate_limit  # noqa: SLF001 - our own fake: note when the first 429 came

    def noting(method: str, params: dict[str, Any]) -> None:
        try:
            check(method, params)
        except Exception:
            first_429.append(time.monotonic())
            raise

    api._check_rate_limit = noting  # type: ignore[method-assign]  # noqa: SLF001
    started = time.monotonic()
    deadline = started + seconds
    tasks = [
        asyncio.create_task(driver.citizen(730_000_000 + n, deadline)) for n in range(citizens)
    ]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await driver.close()
    accepted = [t for t in replies.accepted[first_accepted:] if t <= deadline]
    warm = started + 3.0  # the first seconds fill the pipeline
    steady = [t for t in accepted if t >= warm]
    api._check_rate_limit = check  # type: ignore[method-assign]  # noqa: SLF001
    return {
        "messages": len(accepted),
        "per_s": len(steady) / (deadline - warm),
        "rejected_429": api.stats.rejected_429 - before_429,
        "rejected_429_later": max(len(first_429) - 1, 0),
        "updates_per_s": driver.updates / seconds,
    }


# --- main ------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


Row = tuple[str, str, str, str]  # figure, measured, target, verdict


def figure_rows(
    cap: dict[str, float],
    pace: dict[str, float],
    paced_rate: float,
    pg_rate: float,
    limit_rows: list[Row],
) -> list[Row]:
    """Every figure beside its target (issue 8's, with issue 18's throughput and paced p99),
    for either channel."""
    pg_ratio = cap["rate"] / pg_rate
    return [
        ("sustained updates/s (closed loop)", f"{cap['rate']:.0f}", ">= 700",
         verdict(cap["rate"] >= 700)),
        ("  update->reply p50 / p95 / p99 ms",
         f"{cap['p50']:.1f} / {cap['p95']:.1f} / {cap['p99']:.1f}", "p99 <= 100",
         verdict(cap["p99"] <= 100)),
        (f"at {paced_rate:.0f} updates/s: p50 / p95 / p99 ms",
         f"{pace['p50']:.1f} / {pace['p95']:.1f} / {pace['p99']:.1f}", "p99 <= 10",
         verdict(pace["p99"] <= 10)),
        ("bot CPU s per 1,000 updates", f"{cap['cpu_s_per_1000']:.2f}", "<= 1.0",
         verdict(cap["cpu_s_per_1000"] <= 1.0)),
        ("PostgreSQL backends' CPU s per 1,000 updates", f"{cap['pg_cpu_s_per_1000']:.2f}",
         "", ""),
        ("  PostgreSQL connections opened in the phase", f"{cap['pg_connections_opened']:.0f}",
         "", ""),
        ("peak resident memory MB", f"{cap['rss_mb']:.0f}", "<= 200",
         verdict(cap["rss_mb"] <= 200)),
        *limit_rows,
        ("updates/s / PostgreSQL floor", f"{pg_ratio:.0%} ({cap['rate']:.0f} / {pg_rate:.0f})",
         ">= 50%", verdict(pg_ratio >= 0.5)),
    ]  # fmt: skip


def print_figures(rows: list[Row]) -> None:
    print()
    width = max(len(r[0]) for r in rows)
    measured = max(26, *(len(r[1]) for r in rows))
    goal = max(10, *(len(r[2]) for r in rows))
    print(f"{'figure':<{width}}  {'measured':>{measured}}  {'target':>{goal}}")
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:>{measured}}  {target:>{goal}}  {ok}")


async def main(args: argparse.Namespace) -> None:
    logs = Path(args.log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    await fresh_database(args.database_url)
    async with FakeTelegramApi(token=TOKEN) as api:
        replies = Replies(api)
        env = bot_env(
            args.database_url, api, args.port,
            TELEGRAM_OVERALL_PER_S="1000", TELEGRAM_PER_CHAT_INTERVAL_S="0",
        )  # fmt: skip
        await import_directory(env)

        print("floor: the fake Bot API ...", file=sys.stderr)
        api_rtt_ms, api_rate = await api_floor(api)
        print("floor: PostgreSQL ...", file=sys.stderr)
        pg_rate = await postgres_floor(args.database_url, args.pg_workers, args.pg_seconds)

        if args.polling:
            env.pop("TELEGRAM_WEBHOOK_URL")
            env.pop("TELEGRAM_WEBHOOK_SECRET")
        runs: list[tuple[int, dict[str, float], dict[str, float]]] = []
        for run, workers in enumerate(args.workers):
            bot = BotProcess(env, logs / f"bot-capacity-{workers}.log", workers=workers)
            await bot.start()
            if args.profile:
                print(f"profile: py-spy record -p {bot.pid} (the capacity bot)", file=sys.stderr)
                await asyncio.sleep(args.profile)
            try:
                print(f"capacity ({workers} process{'es' if workers > 1 else ''}): "
                      f"{args.citizens} citizens ...", file=sys.stderr)  # fmt: skip
                cap = await capacity(
                    api, replies, bot, args.citizens, args.concurrency,
                    run=run, polling=args.polling,
                )  # fmt: skip
                print(f"paced: {args.paced_rate}/s for {args.paced_seconds} s ...", file=sys.stderr)
                pace = await paced(
                    api, replies, bot, args.paced_rate, args.paced_seconds,
                    run=run, polling=args.polling,
                )  # fmt: skip
            finally:
                await bot.stop()
            runs.append((workers, cap, pace))
        if args.polling:  # the platform phase is the webhook's
            env["TELEGRAM_WEBHOOK_URL"] = "https://load.invalid/telegram/webhook"
            env["TELEGRAM_WEBHOOK_SECRET"] = SECRET

        api.rate_limits = True  # Telegram's flood limits from now on
        limited_env = {
            **env,
            "TELEGRAM_OVERALL_PER_S": str(args.bot_overall_per_s),
            "TELEGRAM_PER_CHAT_INTERVAL_S": "1.0",
            "TELEGRAM_PER_CHAT_BURST": "3",
        }
        bot = BotProcess(limited_env, logs / "bot-limited.log")
        await bot.start()
        try:
            print(
                f"platform limit: {args.limit_citizens} citizens for {args.limit_seconds} s ...",
                file=sys.stderr,
            )
            limit = await platform_limit(api, replies, bot, args.limit_citizens, args.limit_seconds)
        finally:
            await bot.stop()

    share = limit["per_s"] / PLATFORM_LIMIT_PER_S
    limit_rows: list[Row] = [
        ("messages/s under the platform limit", f"{limit['per_s']:.1f} ({share:.0%} of 30)",
         ">= 95%", verdict(share >= 0.95)),
        ("429s received (after the first)",
         f"{limit['rejected_429']} ({limit['rejected_429_later']})", "0 after the first",
         verdict(limit["rejected_429_later"] == 0)),
    ]  # fmt: skip
    mode = "polling (getUpdates)" if args.polling else "webhook"
    print(f"floors: fake Bot API round trip p50 {api_rtt_ms:.2f} ms, {api_rate:.0f} calls/s "
          f"with 64 in flight; PostgreSQL {pg_rate:.0f} taps/s on {args.pg_workers} connections "
          f"(the dispatcher's statements)")  # fmt: skip
    print(f"platform phase {limit['messages']} messages, {limit['updates_per_s']:.1f} updates/s")
    for workers, cap, pace in runs:
        print()
        print(f"=== {workers} bot process{'es' if workers > 1 else ''}, {mode} ===")
        print(f"citizens {args.citizens} (at most {args.concurrency} at once), "
              f"{cap['updates']} updates in {cap['seconds']:.1f} s; "
              f"paced {pace['updates']} updates")  # fmt: skip
        print(f"CPU during the capacity phase: bot {cap['bot_cpu_share']:.0%} of a core, this "
              f"process (fake API and citizens) {cap['bench_cpu_share']:.0%}; machine "
              f"{cap['machine_busy']:.0%} busy over {os.cpu_count()} cores; "
              f"redelivered updates {cap['redelivered']}")  # fmt: skip
        print(f"ratios: reply p50 / API round trip = {cap['p50'] / api_rtt_ms:.1f}x; "
              f"updates/s / PostgreSQL taps/s = {cap['rate'] / pg_rate:.0%}")  # fmt: skip
        print_figures(figure_rows(cap, pace, args.paced_rate, pg_rate, limit_rows))


def worker_counts(text: str) -> list[int]:
    """``--workers``: one count (``2``) or several, run one after the other (``1,2``)."""
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError("process counts of 1 or more, e.g. 1,2")
    return counts


def bench_arguments(
    description: str, *, citizens: int, port: int, database: str
) -> argparse.ArgumentParser:
    """The options both load benches share (each adds its platform-limit ones)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--citizens", type=int, default=citizens)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--paced-rate", type=float, default=100.0)
    parser.add_argument("--paced-seconds", type=float, default=15.0)
    parser.add_argument("--limit-citizens", type=int, default=200)
    parser.add_argument("--limit-seconds", type=float, default=30.0)
    parser.add_argument(
        "--workers", type=worker_counts, default=[1], metavar="N[,N...]",
        help="bot processes in the capacity and paced phases (skm-bot run --workers); "
        "several counts (1,2) run those phases once for each",
    )  # fmt: skip
    parser.add_argument("--pg-workers", type=int, default=10)
    parser.add_argument("--pg-seconds", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--log-dir", default="/tmp/skm-load")
    parser.add_argument(
        "--profile", type=float, default=0, metavar="S",
        help="print the capacity bot's pid and wait S seconds before loading it (for py-spy)",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", default=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    )
    return parser


if __name__ == "__main__":
    parser = bench_arguments(
        __doc__.splitlines()[0], citizens=500, port=18091, database="skm_bench_load"
    )
    parser.add_argument("--bot-overall-per-s", type=float, default=29.0)
    parser.add_argument(
        "--polling", action="store_true",
        help="the capacity and paced phases by getUpdates long polling instead of the webhook",
    )  # fmt: skip
    options = parser.parse_args()
    if options.polling and options.workers != [1]:
        parser.error("--polling runs one process (one poller per bot token)")
    asyncio.run(main(options))
