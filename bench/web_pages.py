"""Server time of the web console's figures pages with many responses in PostgreSQL.

Generates responses over 200 units in 20 OPDs (``report_bench.generate``: server-side
``generate_series``, dated through 2026), signs an administrator in, and times over HTTP on
127.0.0.1 (the console's application in-process, the clock at 31 December 2026, 11:00 WIT:
the generated data end that day, so like a live regency nothing is dated after today):

* the overview (``/konsol/ikhtisar``: every OPD and unit for the quarter, the trend over four
  quarters, this month's silent units) and a unit page (``/konsol/unit/unit-1``: nine element
  scores, trend, suggestions);
* cold (a response just arrived: what the first visitor after it waits for; closed days'
  blocks stay kept, see reports/cache.py) and warm (cached: every later visitor until the
  next response).

    python bench/web_pages.py --responses 100000          # about a minute of generation
    python bench/web_pages.py --responses 1000000 --reuse # reuse a database made earlier
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from report_bench import generate  # noqa: E402

from handlers.web import ConsoleConfig, build_console, mount  # noqa: E402
from handlers.web.core import SESSION_COOKIE  # noqa: E402
from handlers.web.figures import REPORTS_KEY  # noqa: E402
from storage import Storage, db  # noqa: E402
from storage.reports import PaperResponse, ReportStore  # noqa: E402
from storage.web import ensure_admin, start_session  # noqa: E402
from survey_flows.web_access import new_token, sign, token_digest  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/skm_web_bench"
NOW = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
SECRET = b"bench-web-console-secret"
PAGES = {"overview": "/konsol/ikhtisar", "unit": "/konsol/unit/unit-1"}


async def timed(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
    return (time.perf_counter() - started) * 1000


CONFIG = ConsoleConfig(secret=SECRET, clock=lambda: NOW, idle=timedelta(days=1))


async def serve(
    storage: Storage, console: web.Application
) -> tuple[web.AppRunner, str, dict[str, str]]:
    """Serve ``console`` (built with :data:`CONFIG`) on a free port of 127.0.0.1 and sign an
    administrator in: the runner (to clean up), the base URL, the session's cookie."""
    app = web.Application()
    mount(app, console, CONFIG.prefix)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    token = new_token()
    async with storage.transaction() as tx:
        admin, _ = await ensure_admin(tx, "Bench", NOW)
        await start_session(tx, token_digest(token), "admin", admin, NOW)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return runner, base, {SESSION_COOKIE: sign(SECRET, token)}


async def run(url: str, repeat: int) -> None:
    storage = Storage(db.create_engine(url))
    console = build_console(storage, CONFIG)
    runner, base, cookies = await serve(storage, console)
    cache = console[REPORTS_KEY]
    try:
        async with aiohttp.ClientSession(cookies=cookies) as session:
            for name, path in PAGES.items():
                page = f"{base}{path}"
                await timed(session, page)  # the database's own caches warm up
                cold, warm = [], []
                for _ in range(repeat):
                    # A new response: the cache must build the page's reports again.
                    await ReportStore(storage).insert_paper_responses(
                        [
                            PaperResponse(
                                "unit-1",
                                NOW.date(),
                                None,
                                {},
                                {f"U{k}": 3 for k in range(1, 10)},
                                None,
                            )
                        ],  # fmt: skip
                        NOW,
                    )
                    cold.append(await timed(session, page))
                    warm.append(await timed(session, page))
                print(
                    f"{name:<9} cold median {statistics.median(cold):7.1f} ms "
                    f"(best {min(cold):.1f})   warm median {statistics.median(warm):6.1f} ms "
                    f"(best {min(warm):.1f})   [{repeat} runs]"
                )
        print(f"reports built: {cache.builds}, closed blocks queried: {cache.block_queries}")
    finally:
        await runner.cleanup()
        await storage.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL URL")
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the database from an earlier run"
    )
    args = parser.parse_args()
    if not args.reuse:
        asyncio.run(generate(args.database_url, args.responses))
    asyncio.run(run(args.database_url, args.repeat))


if __name__ == "__main__":
    main()
