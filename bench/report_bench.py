"""How long the regency SKM report takes next to the bare GROUP BY, and its peak memory.

Generates responses (one million by default) over 200 units in 20 OPDs in a fresh PostgreSQL
database, server-side with ``INSERT ... SELECT generate_series`` (about nine scores each, a few
skipped; a profile with some items skipped; one suggestion in twenty), then times:

* the bare aggregate: ``SELECT unit_id, element_code, SUM(score), COUNT(*) ... GROUP BY``
  over the same tables and period;
* the regency report for the same period: every statement of ``skm-bot report`` (tallies,
  respondents, profile breakdown, suggestions, directory, in one snapshot), the exact IKM
  arithmetic for every unit, OPD and the regency, and the JSON document.

Each is run once to warm the cache, then ``--repeat`` times alternately; the medians and their
ratio are printed, and the ratio of the best runs (less sensitive to other load on the
machine). Peak memory is measured on a separate run of the report, with tracemalloc
(Python allocations) and as the growth of the process's maximum resident set size.

    python bench/report_bench.py                       # 1,000,000 responses, 200 units
    python bench/report_bench.py --responses 100000    # quicker
    python bench/report_bench.py --reuse               # skip generation, reuse the database
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date

import asyncpg
from pg import fresh_database
from sqlalchemy import text
from sqlalchemy.engine import make_url

from reports.build import assemble, request_scope
from reports.json_report import report_json
from reports.model import ReportRequest
from reports.period import parse_period
from storage import Storage, db
from storage.reports import ReportStore

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/skm_report_bench"
PERIOD = "2026"
UNITS = 200
OPDS = 20

BARE = text(
    "SELECT r.unit_id, s.element_code, SUM(s.score), COUNT(*) "
    "FROM response_scores s JOIN survey_responses r ON r.id = s.response_id "
    "WHERE r.local_date >= :start AND r.local_date < :end "
    "GROUP BY r.unit_id, s.element_code"
)

DIRECTORY_SQL = f"""
INSERT INTO opds (id, code, name, short_name, active, position, updated_at)
SELECT o, 'opd-' || o, 'Organisasi Perangkat Daerah ' || o, NULL, true, o, now()
FROM generate_series(1, {OPDS}) AS o;
INSERT INTO units (id, code, opd_id, name, short_name, service_types, active, position, updated_at)
SELECT u, 'unit-' || u, 1 + (u - 1) % {OPDS}, 'Unit Pelayanan ' || u, NULL,
       '["Layanan A", "Layanan B", "Layanan C"]'::jsonb, true, u, now()
FROM generate_series(1, {UNITS}) AS u;
INSERT INTO unit_populations (unit_id, period, population)
SELECT u, '2026', 500 + 97 * u FROM generate_series(1, {UNITS}) AS u;
"""

# Deterministic pseudo-randomness from the row number, so every run builds the same data.
RESPONSES_SQL = """
INSERT INTO survey_responses (id, unit_id, service_type, channel, source, respondent_key,
    profile, suggestion, language, started_at, submitted_at, local_date)
SELECT g,
       1 + (g * 7919) % {units},
       (ARRAY['Layanan A', 'Layanan B', 'Layanan C'])[1 + (g / 3) % 3],
       (ARRAY['telegram', 'whatsapp', 'telegram', 'paper'])[1 + (g / 5) % 4],
       CASE WHEN (g / 5) % 4 = 3 THEN 'paper' ELSE 'chat' END,
       CASE WHEN (g / 5) % 4 = 3 THEN NULL ELSE md5(g::text) END,
       jsonb_strip_nulls(jsonb_build_object(
           'age', (ARRAY['17-25', '26-35', '36-45', '46-55', '56+', NULL])[1 + (g / 7) % 6],
           'gender', (ARRAY['L', 'P', 'L', 'P', NULL])[1 + (g / 11) % 5],
           'education', (ARRAY['SD', 'SMP', 'SMA', 'D1-D3', 'D4-S1', 'S2', 'S3', NULL])
               [1 + (g / 13) % 8],
           'occupation', (ARRAY['PNS', 'TNI', 'POLRI', 'SWASTA', 'WIRAUSAHA', 'PELAJAR',
               'LAINNYA', NULL])[1 + (g / 17) % 8])),
       CASE WHEN g % 20 = 0 THEN 'Saran nomor ' || g || ': antrean perlu dipercepat.' END,
       'id', NULL,
       timestamptz '2026-01-01 09:00+09' + ((g % 365) || ' days')::interval,
       date '2026-01-01' + (g % 365)::int
FROM generate_series({first}::bigint, {last}::bigint) AS g
"""

SCORES_SQL = """
INSERT INTO response_scores (response_id, element_code, score)
SELECT r.id, 'U' || e,
       LEAST(4, 1 + ((r.id * 31 + e * 17 + r.unit_id) % 7 + r.unit_id % 3) / 2)
FROM survey_responses r CROSS JOIN generate_series(1, 9) AS e
WHERE r.id BETWEEN {first} AND {last} AND (r.id * 13 + e) % 37 <> 0
"""


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def generate(url: str, responses: int) -> None:
    """A fresh database with the directory and ``responses`` responses with their scores."""
    await fresh_database(url)
    engine = db.create_engine(url)
    await db.upgrade(engine)
    await engine.dispose()

    started = time.perf_counter()
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute(DIRECTORY_SQL)
        batch = 200_000
        for first in range(1, responses + 1, batch):
            last = min(first + batch - 1, responses)
            async with connection.transaction():
                await connection.execute(RESPONSES_SQL.format(units=UNITS, first=first, last=last))
                await connection.execute(SCORES_SQL.format(first=first, last=last))
            print(f"  generated {last:,} responses", file=sys.stderr, flush=True)
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('survey_responses', 'id'), $1)", responses
        )
        await connection.execute("VACUUM (ANALYZE) survey_responses, response_scores")
        scores = await connection.fetchval("SELECT count(*) FROM response_scores")
    finally:
        await connection.close()
    print(
        f"generated {responses:,} responses and {scores:,} scores over {UNITS} units "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


async def bare_query(storage: Storage, start: date, end: date) -> int:
    async with storage.engine.connect() as connection:
        rows = (await connection.execute(BARE, {"start": start, "end": end})).all()
    return len(rows)


async def report(storage: Storage, request: ReportRequest, split: list[float] | None = None) -> int:
    """The whole report as ``skm-bot report --format json`` makes it; returns the JSON size.

    With ``split``, appends the time spent in the database (every statement, one snapshot).
    """
    started = time.perf_counter()
    data = await ReportStore(storage).report_data(
        request_scope(request), suggestion_limit=request.suggestion_limit
    )
    if split is not None:
        split.append(time.perf_counter() - started)
    built = assemble(data, request, organisation="Pemerintah Kabupaten Bench")
    return len(report_json(built))


async def run(url: str, repeat: int) -> None:
    storage = Storage(db.create_engine(url))
    period = parse_period(PERIOD)
    request = ReportRequest(period)
    try:
        # Warm the cache and the connection pool for both.
        groups = await bare_query(storage, period.start, period.end)
        size = await report(storage, request)
        bare_times: list[float] = []
        report_times: list[float] = []
        database_times: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            await bare_query(storage, period.start, period.end)
            bare_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await report(storage, request, database_times)
            report_times.append(time.perf_counter() - started)

        rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        await report(storage, request)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        async with storage.engine.connect() as connection:
            responses = (
                await connection.execute(text("SELECT count(*) FROM survey_responses"))
            ).scalar_one()
    finally:
        await storage.dispose()

    bare = statistics.median(bare_times)
    full = statistics.median(report_times)
    print(
        f"responses:            {responses:,} over {UNITS} units ({groups} unit x element groups)"
    )
    print(
        f"bare GROUP BY:        {bare * 1000:8.1f} ms  (median of {repeat}: "
        + ", ".join(f"{t * 1000:.0f}" for t in bare_times)
        + ")"
    )
    print(
        f"regency report:       {full * 1000:8.1f} ms  (median of {repeat}: "
        + ", ".join(f"{t * 1000:.0f}" for t in report_times)
        + f"; JSON {size:,} bytes)"
    )
    database = statistics.median(database_times)
    print(
        f"  of which database:  {database * 1000:8.1f} ms  (tallies, respondents and profile, "
        f"suggestions, directory); Python (IKM, JSON): {(full - database) * 1000:.0f} ms"
    )
    print(f"ratio report / bare:  {full / bare:8.2f}  (medians; target <= 1.5)")
    pairs = statistics.median(r / b for r, b in zip(report_times, bare_times, strict=True))
    print(f"ratio of best runs:   {min(report_times) / min(bare_times):8.2f}")
    print(f"median pair ratio:    {pairs:8.2f}  (each report over the bare run just before it)")
    print(f"peak Python memory:   {peak / 2**20:8.1f} MiB (tracemalloc, one report; target <= 200)")
    print(
        f"max RSS:              {rss_after_kb / 1024:8.1f} MiB "
        f"(growth during that report: {(rss_after_kb - rss_before_kb) / 1024:.1f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL URL")
    parser.add_argument("--responses", type=int, default=1_000_000)
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
