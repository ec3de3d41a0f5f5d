"""``skm-bot rtl propose --period 2026-Q4``: the follow-up plan's proposals, by hand."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.app import open_storage
from bot.rtl import propose_for
from bot.settings import ConfigError, Settings
from reports.period import PeriodError, PeriodKind, latest_complete_quarter, parse_period

HELP = """\
The follow-up plan (Rencana Tindak Lanjut, docs/rtl.md). After a quarter closes, the bot
proposes each unit's three weakest elements as RTL items (a daily job, once per quarter);
`propose` does it now for a quarter of your choice. Items a unit already has are kept.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rtl = subparsers.add_parser(
        "rtl",
        help="the follow-up plan (RTL): propose the weakest elements of a quarter",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = rtl.add_subparsers(dest="rtl_command", required=True, metavar="ACTION")
    propose = actions.add_parser(
        "propose", help="propose each unit's three weakest elements of a quarter as RTL items"
    )
    propose.add_argument(
        "--period", metavar="QUARTER", help="a quarter, e.g. 2026-Q4 (default: the last closed)"
    )


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    if args.command != "rtl":
        return None
    now = datetime.now(UTC)
    if args.period is None:
        period = latest_complete_quarter(now.astimezone(settings.zone).date())
    else:
        try:
            period = parse_period(args.period)
        except PeriodError as exc:
            raise ConfigError(f"--period: {exc}") from None
        if period.kind is not PeriodKind.QUARTER:
            raise ConfigError("--period: RTL items are proposed per quarter, e.g. 2026-Q4")
    async with open_storage(settings) as storage:
        added = await propose_for(storage, period, now, organisation=settings.organisation_name)
    print(f"{period.label}: {added or 0} RTL item(s) proposed.")
    return 0
