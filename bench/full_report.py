"""Time and size of the full Laporan SKM (``skm-bot report --format pdf --full``) for a
regency of 200 units in 20 OPDs.

Generates responses in PostgreSQL (``report_bench.generate``), builds the year's report once,
then times laying out the pages (``reports.full_report.full_pages``) and writing the PDF
(``write_full_pdf``), and prints the pages and the file's size.

    python bench/full_report.py --responses 20000
    python bench/full_report.py --reuse
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]

from report_bench import generate  # noqa: E402

from reports.build import build_report  # noqa: E402
from reports.full_report import full_pages, write_full_pdf  # noqa: E402
from reports.model import ReportRequest  # noqa: E402
from reports.period import parse_period  # noqa: E402
from storage import Storage, db  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/skm_full_report_bench"


async def run(url: str) -> None:
    storage = Storage(db.create_engine(url))
    try:
        started = time.perf_counter()
        report = await build_report(storage, ReportRequest(parse_period("2026")),
                                    organisation="Pemerintah Kabupaten")  # fmt: skip
        built = time.perf_counter() - started
    finally:
        await storage.dispose()
    started = time.perf_counter()
    pages = full_pages(report)
    laid_out = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "laporan.pdf"
        started = time.perf_counter()
        write_full_pdf(report, path)
        written = time.perf_counter() - started
        size = path.stat().st_size
    print(f"units {len(report.units)}, respondents {report.respondents:,}: report {built:.2f} s")
    print(f"pages {len(pages)}: layout {laid_out:.2f} s, layout and PDF {written:.2f} s "
          f"({written / len(pages) * 1000:.0f} ms a page), {size / 1e6:.1f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL URL")
    parser.add_argument("--responses", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="reuse an earlier run's database")
    args = parser.parse_args()
    if not args.reuse:
        asyncio.run(generate(args.database_url, args.responses))
    asyncio.run(run(args.database_url))


if __name__ == "__main__":
    main()
