"""A/B of the bot's CPU per update: two source trees (or two settings) side by side.

On a machine whose cores are shared with other work, two runs of `bench/load.py` minutes apart
differ by more than most levers change (±15 % was seen). Here both bots run at once, each on
its own fresh PostgreSQL database and port, against one fake Bot API; short bursts of citizens
(the survey of bench/load.py, by webhook or by polling) alternate between them A B B A ..., so
both see the same background load. Printed: each side's bot CPU per update (all rounds
together, and the median of the rounds) and B's CPU as a share of A's, round by round.

    python bench/ab.py --a /path/to/main/checkout --b .              # two trees
    python bench/ab.py --a . --b . --a-env LOG_LEVEL=INFO             # one setting
    python bench/ab.py --a ../main --b . --polling                   # the polling path

Each tree runs `python -m bot` from its own directory with this interpreter (its
dependencies must be installed in it). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import TOKEN, BotProcess, Driver, Replies, bot_env, import_directory  # noqa: E402
from pg import fresh_database  # noqa: E402

from tests.support.fakes.telegram_api import FakeTelegramApi  # noqa: E402


@dataclass
class Side:
    """One bot under test and what it has cost so far."""

    name: str
    bot: BotProcess
    first_chat: int
    polling: bool
    cpu_s: float = 0.0
    updates: int = 0
    rounds: int = 0

    async def burst(
        self, api: FakeTelegramApi, replies: Replies, citizens: int, concurrency: int
    ) -> float:
        """One burst of new citizens; this burst's CPU seconds per 1,000 updates."""
        driver = Driver(api, replies, self.bot.port, polling=self.polling)
        gate = asyncio.Semaphore(concurrency)
        first = self.first_chat + self.rounds * citizens
        self.rounds += 1

        async def one(chat: int) -> None:
            async with gate:
                await driver.citizen(chat)

        before = self.bot.cpu_s()
        await asyncio.gather(*(one(first + n) for n in range(citizens)))
        await asyncio.sleep(0.3)  # the last replies' "sent" receipts belong to this burst
        cpu = self.bot.cpu_s() - before
        await driver.close()
        self.cpu_s += cpu
        self.updates += driver.updates
        return cpu / driver.updates * 1000


def env_pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, _, value = item.partition("=")
        pairs[name] = value
    return pairs


async def main(args: argparse.Namespace) -> None:
    logs = Path(args.log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    sides: list[Side] = []
    async with FakeTelegramApi(token=TOKEN) as api:
        replies = Replies(api)
        for index, (name, tree, extra) in enumerate(
            (("A", args.a, args.a_env), ("B", args.b, args.b_env))
        ):
            url = f"{args.database_url}_{name.lower()}"
            await fresh_database(url)
            env = bot_env(
                url, api, args.port + index,
                TELEGRAM_OVERALL_PER_S="1000", TELEGRAM_PER_CHAT_INTERVAL_S="0",
                **env_pairs(extra),
            )  # fmt: skip
            if args.polling:
                env.pop("TELEGRAM_WEBHOOK_URL")
                env.pop("TELEGRAM_WEBHOOK_SECRET")
            await import_directory(env, Path(tree).resolve())
            bot = BotProcess(env, logs / f"bot-{name}.log", root=Path(tree).resolve())
            sides.append(Side(name, bot, 800_000_000 + index * 50_000_000, args.polling))
        a, b = sides
        if args.polling:
            # One poller per token: the two bots take turns, each started for its bursts.
            print("polling: each side's bot is started for its own bursts", file=sys.stderr)
        ratios: list[float] = []
        per_round: dict[str, list[float]] = {"A": [], "B": []}

        async def burst(side: Side, citizens: int) -> float:
            if args.polling:
                await side.bot.start()
            try:
                return await side.burst(api, replies, citizens, args.concurrency)
            finally:
                if args.polling:
                    await side.bot.stop()

        try:
            if not args.polling:
                await asyncio.gather(a.bot.start(), b.bot.start())
            for side in (a, b):  # warm-up, not counted
                await burst(side, args.concurrency)
                side.cpu_s, side.updates = 0.0, 0
            for round_number in range(args.rounds):
                order = (a, b) if round_number % 2 == 0 else (b, a)
                figures = {side.name: await burst(side, args.citizens) for side in order}
                per_round["A"].append(figures["A"])
                per_round["B"].append(figures["B"])
                ratios.append(figures["B"] / figures["A"])
                print(f"round {round_number + 1}: A {figures['A']:.2f}, B {figures['B']:.2f} "
                      f"CPU s per 1,000 updates", file=sys.stderr)  # fmt: skip
        finally:
            await asyncio.gather(a.bot.stop(), b.bot.stop())
    mode = "polling" if args.polling else "webhook"
    a_env, b_env = " ".join(args.a_env), " ".join(args.b_env)
    print(f"\n{args.rounds} rounds of {args.citizens} citizens ({args.concurrency} at once), "
          f"{mode}; A = {args.a} {a_env}; B = {args.b} {b_env}")  # fmt: skip
    for side in sides:
        print(f"{side.name}: bot CPU {side.cpu_s / side.updates * 1000:.2f} s per 1,000 updates "
              f"({side.updates} updates), median of rounds "
              f"{statistics.median(per_round[side.name]):.2f}")  # fmt: skip
    overall = b.cpu_s / b.updates / (a.cpu_s / a.updates)
    print(f"B / A: {overall:.0%} overall; per round median {statistics.median(ratios):.0%}, "
          f"range {min(ratios):.0%}-{max(ratios):.0%}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="source tree of bot A")
    parser.add_argument("--b", required=True, help="source tree of bot B")
    parser.add_argument("--a-env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--b-env", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--citizens", type=int, default=40, help="citizens per burst")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--polling", action="store_true", help="getUpdates instead of webhooks")
    parser.add_argument("--port", type=int, default=18093)
    parser.add_argument("--log-dir", default="/tmp/skm-ab")
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/skm_bench_ab"
    )
    asyncio.run(main(parser.parse_args()))
