"""Does the console keep answering while it builds the regency-wide full Laporan SKM?

Generates responses over 200 units in 20 OPDs (``report_bench.generate``), serves the console
in-process on 127.0.0.1, signs an administrator in, then times a warm unit page
(``/konsol/unit/unit-1``) at rest and while ``/konsol/unduh/laporan?periode=2026&format=lengkap``
(the 400-page PDF, ``skm-bot report --format pdf --full``) is being built, and how late the
event loop wakes from a 50 ms sleep meanwhile. Prints the medians, 95th percentiles and
maxima, and when the worst stalls came (seconds after the download began: the first second
or so is the year's report built on the loop, as any cold figures page builds it).

    python bench/console_full_report.py --responses 20000
    python bench/console_full_report.py --reuse
    python bench/console_full_report.py --reuse --in-thread   # as before: drawn in a thread
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]

import aiohttp  # noqa: E402
from report_bench import generate  # noqa: E402
from web_pages import CONFIG, serve, timed  # noqa: E402

from handlers.web import build_console  # noqa: E402
from handlers.web.downloads import RENDERER_KEY, Renderer  # noqa: E402
from storage import Storage, db  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/skm_console_full_report_bench"
PAGE = "/konsol/unit/unit-1"
FULL = "/konsol/unduh/laporan?periode=2026&format=lengkap"
R = TypeVar("R")


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"{name:<28} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {ordered[-1]:7.1f} ms   [{len(ordered)}]")  # fmt: skip


async def loop_lag(stop: asyncio.Event, lags: list[tuple[float, float]]) -> None:
    """How much later than asked the loop wakes from 50 ms sleeps (ms, and when: s)."""
    began = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(((time.perf_counter() - started) * 1000 - 50, started - began))


class ThreadRenderer(Renderer):
    """The drawing in a thread of the server's process, for comparison."""

    async def run(self, function: Callable[..., R], *args: Any) -> R:
        return await asyncio.to_thread(function, *args)


async def run(url: str, in_thread: bool) -> None:
    storage = Storage(db.create_engine(url))
    console = build_console(storage, CONFIG)
    if in_thread:
        console[RENDERER_KEY] = ThreadRenderer()
    runner, base, cookies = await serve(storage, console)
    try:
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(cookies=cookies, timeout=timeout) as session:
            await timed(session, base + PAGE)  # warm: the page's reports are cached
            rest = [await timed(session, base + PAGE) for _ in range(30)]
            stop = asyncio.Event()
            lags: list[tuple[float, float]] = []
            lagging = asyncio.create_task(loop_lag(stop, lags))
            started = time.perf_counter()
            build = asyncio.create_task(timed(session, base + FULL))
            during: list[float] = []
            while not build.done():
                during.append(await timed(session, base + PAGE))
                await asyncio.sleep(0.2)
            built = (time.perf_counter() - started, await build)
            stop.set()
            await lagging
        where = "a thread" if in_thread else "a process of its own"
        print(f"full report download, drawn in {where}: {built[0]:.1f} s")
        print(summary("unit page at rest", rest))
        print(summary("unit page during the build", during))
        print(summary("loop lag during the build", [lag for lag, _ in lags]))
        worst = sorted(lags, reverse=True)[:3]
        print("worst stalls: " + ", ".join(f"{lag:.0f} ms at {at:.1f} s" for lag, at in worst)
              + f"; stalls over 250 ms: {sum(1 for lag, _ in lags if lag > 250)}")  # fmt: skip
    finally:
        await runner.cleanup()
        await storage.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL URL")
    parser.add_argument("--responses", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="reuse an earlier run's database")
    parser.add_argument("--in-thread", action="store_true", help="draw in a thread, as before")
    args = parser.parse_args()
    if not args.reuse:
        asyncio.run(generate(args.database_url, args.responses))
    asyncio.run(run(args.database_url, args.in_thread))


if __name__ == "__main__":
    main()
