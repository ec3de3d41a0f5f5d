"""``skm-bot pekppp pack``: the PEKPPP evidence pack, one ZIP per OPD for a year
(``reports.pekppp_pack``; docs/reports.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.app import open_storage
from bot.cli_reports import public_base
from bot.settings import Settings
from reports.build import ReportError
from reports.pekppp_pack import PackOptions, write_pack
from reports.poster import results_link
from reports.progress import StderrProgress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pekppp pack`` to the ``skm-bot`` command line."""
    pekppp = subparsers.add_parser("pekppp", help="evidence for the PEKPPP evaluation")
    actions = pekppp.add_subparsers(dest="pekppp_command", required=True, metavar="ACTION")
    pack = actions.add_parser(
        "pack",
        help="one ZIP per OPD with a year's SKM reports, publication dates, RTL and complaints",
        description=(
            "One ZIP per OPD for the year: the SKM report of every quarter and of the year (PDF "
            "and XLSX) and the year's full Laporan SKM; each unit's public page (from "
            "PUBLIC_BASE_URL) and the date each period was first published; the RTL items with "
            "their evidence (CSV); the complaint recap (CSV and XLSX); a README.txt (Indonesian) "
            "naming the evaluation aspect each file answers."
        ),
    )
    pack.add_argument("--year", type=int, required=True, metavar="YYYY", help="e.g. 2026")
    pack.add_argument(
        "--output", type=Path, default=Path("pekppp"), metavar="DIR", help="default: pekppp/"
    )
    pack.add_argument(
        "--opd", action="append", default=[], metavar="CODE", help="only this OPD (repeatable)"
    )


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run ``pekppp pack``; ``None`` when ``args.command`` is another command."""
    if getattr(args, "command", None) != "pekppp":
        return None
    try:
        return await _pack(args, settings)
    except ReportError as exc:
        sys.stderr.write(f"skm-bot pekppp: {exc}\n")
        return 2


async def _pack(args: argparse.Namespace, settings: Settings) -> int:
    if not 2000 <= args.year <= 2100:
        sys.stderr.write(f"skm-bot pekppp: --year {args.year}: a year such as 2026\n")
        return 2
    base = public_base(settings)
    options = PackOptions(
        year=args.year,
        organisation=settings.organisation_name,
        zone=settings.zone,
        now=datetime.now(UTC),
        public_url=lambda code: results_link(base, code) if base else None,
    )
    progress = StderrProgress()
    async with open_storage(settings) as storage:
        directory = await storage.directory()
        codes = list(dict.fromkeys(args.opd)) or [opd.code for opd in directory.opds]
        unknown = [code for code in codes if directory.opd(code) is None]
        if unknown:
            sys.stderr.write(f"skm-bot pekppp: unknown OPD code(s): {', '.join(unknown)}\n")
            return 2
        try:
            args.output.mkdir(parents=True, exist_ok=True)
            for code in codes:
                path = await write_pack(storage, code, args.output, options, progress)
                sys.stdout.write(f"{path}\n")
        except OSError as exc:
            sys.stderr.write(f"skm-bot pekppp: cannot write to {args.output}: {exc.strerror}\n")
            return 1
    return 0
