"""``skm-bot complaints export``: the PEKPPP aspect V recap for a period."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from bot.app import open_storage
from bot.settings import ConfigError, Settings
from reports.complaints_recap import write_recap
from reports.period import PeriodError, parse_period
from storage.complaints import complaints_between


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    complaints = subparsers.add_parser("complaints", help="complaint recaps (PEKPPP aspect V)")
    actions = complaints.add_subparsers(dest="complaints_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="received, handled in time, overdue and %% finished, per unit"
    )
    export.add_argument("--period", required=True, help="2026-W14, 2026-03, 2026-Q1, 2026-S1, 2026")
    export.add_argument("--opd", metavar="CODE", help="only this OPD")
    export.add_argument("--format", choices=("xlsx", "csv", "json"), default="xlsx")
    export.add_argument("--output", type=Path, metavar="FILE")


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    if args.command != "complaints":
        return None
    try:
        period = parse_period(args.period)
    except PeriodError as exc:
        raise ConfigError(f"--period: {exc}") from None
    start, end = period.bounds(settings.zone)
    output = args.output or Path(f"pengaduan-{period.label}.{args.format}")
    async with open_storage(settings) as storage, storage.reading() as tx:
        rows = await complaints_between(tx, start, end, args.opd)
    write_recap(output, args.format, rows, datetime.now(UTC), settings.zone, period.label)
    print(f"{output}: {len(rows)} complaints")
    return 0
