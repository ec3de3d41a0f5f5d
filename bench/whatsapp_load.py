"""Load on the WhatsApp channel: simulated citizens take the survey through the signed webhook.

The WhatsApp counterpart of ``bench/load.py`` (whose process, database and /proc helpers it
imports). One run, on this machine, against a fresh PostgreSQL database and the fake Graph API
(``tests/support/fakes/graph_api.py``) on 127.0.0.1:

1. **Floors.** The fake Graph API's own round trip for a ``/messages`` send of the list the bot
   sends for a question (sequential, then 64 in flight), and PostgreSQL's rate for the
   statements one tap costs the dispatcher (``load.postgres_floor``).
2. **Capacity.** ``python -m bot run`` as a service with only the WhatsApp settings
   (``WHATSAPP_ACCESS_TOKEN``, ``..._PHONE_NUMBER_ID``, ``..._APP_SECRET``, ``..._VERIFY_TOKEN``,
   ``..._API_BASE_URL``); ``--citizens`` citizens, at most ``--concurrency`` at once, each
   completes the survey of ``dukcapil-mpp`` (examples/mimika.yaml): the text ``SKM
   dukcapil-mpp`` and 17 taps on reply buttons and list rows, built by the fake's ``Citizen``
   and signed with ``X-Hub-Signature-256``, each sent once the bot's reply to the previous one
   reached the fake API. Each update costs one Graph API call (WhatsApp cannot edit the
   answered question). The fake API has no throughput limit here. Figures: updates/s, latency
   from posting the webhook to the reply's arrival at the fake API, the bot's CPU per 1,000
   updates and peak resident memory (``/proc``), the machine's busy share.
3. **Paced.** New citizens; updates issued at ``--paced-rate`` per second (open loop).
4. **Platform limit.** The fake API enforces the number's throughput (``--limit-per-s``, 80/s:
   Meta's default tier, TECH.md §2h; its opt-in ``messages_per_s``), 130429 beyond it; a new
   bot process told the same limit (``WHATSAPP_MESSAGES_PER_S``); ``--limit-citizens``
   citizens tap for ``--limit-seconds``. Messages per second (after 3 s of warm-up) against
   the limit, and the 130429s. The webhooks count against the limit too, as Meta counts them
   (inbound messages are never refused, so the replies get what the webhooks leave), unless
   ``--limit-sends-only``.

    python bench/whatsapp_load.py --citizens 300

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

from load import (  # noqa: E402
    BotProcess,
    Row,
    bench_arguments,
    closed_loop,
    figure_rows,
    fresh_database,
    import_directory,
    open_loop,
    postgres_floor,
    print_figures,
    verdict,
)

from handlers.whatsapp import render  # noqa: E402
from survey_flows.types import Choice, ChoiceRole, Outbound  # noqa: E402
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, SentMessage, signature_header  # noqa: E402

JsonDict = dict[str, Any]

TOKEN = "EAAG-load-bench"
APP_SECRET = "load-bench-app-secret"
VERIFY_TOKEN = "load-bench-verify"
UNIT = "dukcapil-mpp"
# The survey of UNIT, as choice ids (the part of a row or button id after its last "|").
CHOICES = [
    "yes", "26-35", "P", "skip", "WIRAUSAHA", "s:1",  # consent, profile, service type
    "4", "3", "3", "4", "3", "3", "4", "3", "4",  # the nine elements
    "skip", "submit",  # suggestion, summary
]  # fmt: skip
REPLY_TIMEOUT_S = 60.0  # one reply; a citizen gives up (and the phase fails) after this
REDELIVERIES = 50  # Meta redelivers a non-2xx webhook; here 0.1 s apart, at most this often
WARM_UP_S = 3.0  # the platform-limit phase counts after this


# --- Meta's side -----------------------------------------------------------------------------


class Replies:
    """What the fake Graph API accepted, per citizen, as it happens (a hook on its handler)."""

    def __init__(self, api: FakeGraphApi) -> None:
        self.last: dict[str, SentMessage] = {}
        self.arrivals: dict[str, list[float]] = {}
        self.events: dict[str, asyncio.Event] = {}
        self.accepted: list[float] = []  # arrival of every accepted message
        original = api._messages  # our own fake: note each accepted message as it arrives

        def messages(node: str, body: JsonDict | None) -> web.Response:
            before = len(api.sent)
            response = original(node, body)
            if len(api.sent) > before:
                sent = api.sent[-1]
                self.accepted.append(sent.at)
                self.last[sent.address] = sent
                self.arrivals.setdefault(sent.address, []).append(sent.at)
                if (event := self.events.get(sent.address)) is not None:
                    event.set()
            return response

        api._messages = messages  # type: ignore[method-assign]

    def count(self, address: str) -> int:
        return len(self.arrivals.get(address, ()))

    async def reply(self, address: str, after: int, timeout_s: float) -> float:
        """When the first message to ``address`` beyond its first ``after`` arrived."""
        deadline = time.monotonic() + timeout_s
        event = self.events.setdefault(address, asyncio.Event())
        while self.count(address) <= after:
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply to {address} within {timeout_s:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return self.arrivals[address][after]


def option(message: SentMessage, choice_id: str) -> JsonDict:
    """The button or row of ``message`` whose choice is ``choice_id``."""
    for reply in message.replies():
        if str(reply["id"]).rsplit("|", 1)[-1] == choice_id:
            return reply
    raise RuntimeError(f"no option {choice_id!r} in the reply {message.text[:80]!r}")


def citizen(api: FakeGraphApi, number: int) -> Citizen:
    """A WhatsApp user of 2026: a business-scoped user id (the bot's key) and a phone number."""
    return Citizen(
        user_id=f"ID.{7_100_000_000_000_000 + number}",
        wa_id=str(6_281_300_000_000 + number),
        name=f"Warga {number}",
        phone_number_id=api.phone_number_id,
    )


@dataclass
class Driver:
    """Posts citizens' signed webhooks and times the replies."""

    replies: Replies
    port: int
    on_delivered: Callable[[], None] | None = None  # each webhook answered 200
    latencies_ms: list[float] = field(default_factory=list)
    updates: int = 0
    redelivered: int = 0
    completed: int = 0

    def __post_init__(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.url = f"http://127.0.0.1:{self.port}/whatsapp/webhook"

    async def post(self, payload: JsonDict) -> float:
        """POST as Meta does (raw bytes, signed; again until a 2xx); returns when it began."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **signature_header(APP_SECRET, body)}
        started = time.monotonic()
        for _ in range(REDELIVERIES):
            async with self.session.post(self.url, data=body, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    if self.on_delivered is not None:
                        self.on_delivered()
                    return started
            self.redelivered += 1
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the webhook refused an update {REDELIVERIES} times")

    async def send(self, who: Citizen, build: Callable[[], JsonDict]) -> None:
        before = self.replies.count(who.reply_address)
        started = await self.post(build())
        self.updates += 1
        replied = await self.replies.reply(who.reply_address, before, REPLY_TIMEOUT_S)
        self.latencies_ms.append((replied - started) * 1000)

    def steps(self, who: Citizen) -> list[Callable[[], JsonDict]]:
        """The updates of one survey, each built when due (a tap needs the latest reply)."""

        def start() -> JsonDict:
            return who.text(f"SKM {UNIT}")

        def tapper(choice_id: str) -> Callable[[], JsonDict]:
            def tap() -> JsonDict:
                message = self.replies.last[who.reply_address]
                kind = "button" if message.interactive.get("type") == "button" else "list"
                return who.tap(option(message, choice_id), message.wamid, kind=kind)

            return tap

        return [start, *(tapper(choice_id) for choice_id in CHOICES)]

    async def survey(self, who: Citizen, deadline: float | None = None) -> None:
        for build in self.steps(who):
            if deadline is not None and time.monotonic() > deadline:
                return
            await self.send(who, build)
        self.completed += 1

    async def close(self) -> None:
        await self.session.close()


def bot_env(database_url: str, api: FakeGraphApi, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(
        DATABASE_URL=database_url,
        WHATSAPP_ACCESS_TOKEN=TOKEN,
        WHATSAPP_PHONE_NUMBER_ID=api.phone_number_id,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        WHATSAPP_API_BASE_URL=api.base_url,
        PSEUDONYM_SECRET="load-bench-pseudonym",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DIGEST_ENABLED="false",  # the weekly digest job would render charts mid-run
        LOG_LEVEL="WARNING",  # one JSON line per update costs CPU too; see docs/performance.md
    )
    return env


async def stored_responses(url: str) -> int:
    """Survey responses the bot stored from WhatsApp (every completed survey is one)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                text("SELECT count(*) FROM survey_responses WHERE channel = 'whatsapp'")
            )
    finally:
        await engine.dispose()
    return int(count or 0)


# --- the floor -------------------------------------------------------------------------------

# A question as the bot renders it: four answers and two navigation rows, a list.
SAMPLE = Outbound(
    "Pertanyaan 1 dari 9\nBagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan "
    "dengan jenis pelayanannya?",
    (
        Choice("1", "Tidak sesuai"),
        Choice("2", "Kurang sesuai"),
        Choice("3", "Sesuai"),
        Choice("4", "Sangat sesuai"),
        Choice("back", "Kembali", ChoiceRole.NAV),
        Choice("cancel", "Batal", ChoiceRole.NAV),
    ),
    prompt_token="floor",
    choices_header="Pilih jawaban",
)


async def graph_floor(api: FakeGraphApi, calls: int = 400) -> tuple[float, float]:
    """The fake API alone: (p50 round trip ms sequentially, sends/s with 64 in flight)."""
    url = f"{api.base_url}/{api.version}/{api.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    content = render(SAMPLE)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(n: int) -> float:
            body = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "recipient": f"ID.99{n % 50}",
                **content,
            }
            started = time.monotonic()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"the fake Graph API answered {response.status}")
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


# --- the phases -------------------------------------------------------------------------------


async def capacity(
    api: FakeGraphApi, replies: Replies, bot: BotProcess, citizens: int, concurrency: int
) -> dict[str, float]:
    driver = Driver(replies, bot.port)
    figures = await closed_loop(
        bot, driver, lambda n: driver.survey(citizen(api, n)), citizens, concurrency
    )
    return {**figures, "completed": driver.completed, "redelivered": driver.redelivered}


async def paced(
    api: FakeGraphApi, replies: Replies, bot: BotProcess, rate: float, seconds: float
) -> dict[str, float]:
    driver = Driver(replies, bot.port)
    citizens = (citizen(api, n) for n in range(1_000_000, 2_000_000))
    return await open_loop(driver, citizens, driver.steps, driver.send, rate, seconds)


async def platform_limit(
    api: FakeGraphApi,
    replies: Replies,
    bot: BotProcess,
    citizens: int,
    seconds: float,
    limit_per_s: float,
    counts_inbound: bool,
) -> dict[str, float]:
    """Citizens tap for ``seconds`` while the fake API enforces ``limit_per_s``."""
    inbound: list[float] = []

    def delivered() -> None:
        inbound.append(time.monotonic())
        if counts_inbound:  # as Meta counts it: received and sent together
            api.note_inbound()

    driver = Driver(replies, bot.port, on_delivered=delivered)
    rejected_before = api.throughput_rejected
    first_accepted = len(replies.accepted)
    api.messages_per_s = limit_per_s
    started = time.monotonic()
    deadline = started + seconds
    try:
        tasks = [
            asyncio.create_task(driver.survey(citizen(api, 2_000_000 + n), deadline))
            for n in range(citizens)
        ]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        api.messages_per_s = None
        await driver.close()
    accepted = [t for t in replies.accepted[first_accepted:] if t <= deadline]
    warm = started + WARM_UP_S  # the first seconds fill the pipeline
    span = deadline - warm
    rejected = api.throughput_rejected - rejected_before
    return {
        "messages": len(accepted),
        "out_per_s": len([t for t in accepted if t >= warm]) / span,
        "in_per_s": len([t for t in inbound if warm <= t <= deadline]) / span,
        "rejected": rejected,
        "rejected_later": max(rejected - 1, 0),
        "updates_per_s": driver.updates / seconds,
    }


# --- main ------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    logs = Path(args.log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    await fresh_database(args.database_url)
    async with FakeGraphApi(access_token=TOKEN) as api:
        # The capacity phases measure the bot, not its pacing: a limit far above the load.
        env = {**bot_env(args.database_url, api, args.port), "WHATSAPP_MESSAGES_PER_S": "10000"}
        await import_directory(env)

        print("floor: the fake Graph API ...", file=sys.stderr)
        api_rtt_ms, api_rate = await graph_floor(api)
        print("floor: PostgreSQL ...", file=sys.stderr)
        pg_rate = await postgres_floor(args.database_url, args.pg_workers, args.pg_seconds)
        replies = Replies(api)

        bot = BotProcess(env, logs / "bot-whatsapp-capacity.log", workers=args.workers[0])
        await bot.start()
        if args.profile:
            print(f"profile: py-spy record -p {bot.pid} (the capacity bot)", file=sys.stderr)
            await asyncio.sleep(args.profile)
        try:
            print(f"capacity: {args.citizens} citizens ...", file=sys.stderr)
            cap = await capacity(api, replies, bot, args.citizens, args.concurrency)
            print(f"paced: {args.paced_rate}/s for {args.paced_seconds} s ...", file=sys.stderr)
            pace = await paced(api, replies, bot, args.paced_rate, args.paced_seconds)
        finally:
            await bot.stop()
        stored = await stored_responses(args.database_url)

        limited_env = {**env, "WHATSAPP_MESSAGES_PER_S": str(args.limit_per_s)}
        bot = BotProcess(limited_env, logs / "bot-whatsapp-limited.log")
        await bot.start()
        try:
            print(
                f"platform limit: {args.limit_per_s:.0f}/s, {args.limit_citizens} citizens for "
                f"{args.limit_seconds} s ...",
                file=sys.stderr,
            )
            limit = await platform_limit(
                api,
                replies,
                bot,
                args.limit_citizens,
                args.limit_seconds,
                args.limit_per_s,
                not args.limit_sends_only,
            )
        finally:
            await bot.stop()
        fake_errors = len(api.errors)

    used_per_s = limit["out_per_s"] + (0 if args.limit_sends_only else limit["in_per_s"])
    share = used_per_s / args.limit_per_s
    pg_ratio = cap["rate"] / pg_rate
    limit_rows: list[Row] = [
        ("messages/s under the platform limit",
         f"{used_per_s:.1f} ({share:.0%} of {args.limit_per_s:.0f})", ">= 95%",
         verdict(share >= 0.95)),
        ("130429s received (after the first)",
         f"{limit['rejected']} ({limit['rejected_later']})", "0 after the first",
         verdict(limit["rejected_later"] == 0)),
    ]  # fmt: skip
    print()
    print(f"citizens {args.citizens} (at most {args.concurrency} at once), "
          f"{cap['updates']} updates in {cap['seconds']:.1f} s, {cap['completed']} surveys "
          f"completed; paced {pace['updates']} updates ({pace['late']} issued late); "
          f"responses stored by the bot in these two phases {stored}")  # fmt: skip
    counted = (
        "sends only (--limit-sends-only)"
        if args.limit_sends_only
        else "sent and received counted together, as Meta does"
    )
    print(f"platform phase: the fake Graph API allows {args.limit_per_s:.0f} messages/s "
          f"({counted}), 130429 beyond; the bot paced by WHATSAPP_MESSAGES_PER_S="
          f"{args.limit_per_s:.0f}; {limit['messages']} messages sent ({limit['out_per_s']:.1f}/s)"
          f", after the warm-up "
          f"{limit['in_per_s']:.1f} webhooks/s; {limit['updates_per_s']:.1f} updates/s "
          f"overall")  # fmt: skip
    print(f"CPU during the capacity phase: bot ({args.workers[0]} process"
          f"{'es' if args.workers[0] > 1 else ''}) {cap['bot_cpu_share']:.0%} of a core, this "
          f"process (fake API and citizens) {cap['bench_cpu_share']:.0%}; machine "
          f"{cap['machine_busy']:.0%} busy over {os.cpu_count()} cores; "
          f"redelivered webhooks {cap['redelivered']}; fake API errors {fake_errors}")  # fmt: skip
    print(f"floors: fake Graph API round trip p50 {api_rtt_ms:.2f} ms, {api_rate:.0f} sends/s "
          f"with 64 in flight; PostgreSQL {pg_rate:.0f} taps/s on {args.pg_workers} connections "
          f"(the dispatcher's statements)")  # fmt: skip
    print(f"ratios: reply p50 / API round trip = {cap['p50'] / api_rtt_ms:.1f}x; "
          f"updates/s / API sends/s (1 send per update) = {cap['rate'] / api_rate:.0%}; "
          f"updates/s / PostgreSQL taps/s = {pg_ratio:.0%}")  # fmt: skip
    print_figures(figure_rows(cap, pace, args.paced_rate, pg_rate, limit_rows))


if __name__ == "__main__":
    parser = bench_arguments(
        __doc__.splitlines()[0], citizens=300, port=18092, database="skm_bench_whatsapp"
    )
    parser.add_argument(
        "--limit-per-s", type=float, default=80.0,
        help="the throughput the fake API enforces in the last phase (Meta: 80/s, up to 1,000)",
    )  # fmt: skip
    parser.add_argument(
        "--limit-sends-only", action="store_true",
        help="count only the bot's sends against the limit (Meta counts the webhooks too)",
    )  # fmt: skip
    options = parser.parse_args()
    if len(options.workers) > 1:
        parser.error("one process count here (bench/load.py runs several)")
    asyncio.run(main(options))
