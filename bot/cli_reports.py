"""``skm-bot report``, ``skm-bot responses import`` and ``skm-bot poster``.

``bot.cli`` calls :func:`register` while building its parser and :func:`dispatch` before its
own commands; ``dispatch`` returns ``None`` for a command that is not one of these.

Settings not yet in :class:`bot.settings.Settings` are read from the environment here:
``TELEGRAM_BOT_USERNAME``, ``WHATSAPP_NUMBER`` and ``REPORT_MIN_RESPONDENTS``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot.app import open_storage
from bot.settings import Settings
from reports.build import ReportError, build_report
from reports.csv_report import report_csv
from reports.json_report import report_json
from reports.model import ReportRequest
from reports.outputs import (
    FORMATS,
    full_report_filename,
    report_filename,
    write_full_report,
    write_report,
)
from reports.paper_import import PaperFileError, read_paper_file
from reports.period import (
    Period,
    PeriodError,
    latest_complete_quarter,
    parse_date,
    parse_period,
    period_between,
)
from reports.poster import PosterError, poster_links, posters_for, write_poster
from reports.progress import StderrProgress
from storage.publications import record_publication
from storage.reports import CHANNELS, PROFILE_FIELDS, ReportStore

__all__ = ["FORMATS", "dispatch", "public_base", "register"]

_COMMANDS = frozenset({"report", "responses", "poster"})


class UsageError(Exception):
    """A bad combination of options; the message says what to do."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report``, ``responses`` and ``poster`` to the ``skm-bot`` command line."""
    report = subparsers.add_parser(
        "report",
        help="the SKM report (IKM per unit, OPD and regency) for a period",
        description=(
            "The SKM report for a period: respondents, profile, NRR per element, IKM, grade, "
            "weakest elements and suggestions, per unit, per OPD and pooled. Periods are local "
            "dates in TIMEZONE."
        ),
    )
    report.add_argument(
        "--period",
        metavar="PERIOD",
        help="2026-W14 (ISO week), 2026-03, 2026-Q1, 2026-S1 or 2026",
    )
    report.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day")
    report.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day (inclusive)")
    report.add_argument(
        "--opd", action="append", default=[], metavar="CODE", help="only this OPD (repeatable)"
    )
    report.add_argument(
        "--unit", action="append", default=[], metavar="CODE", help="only this unit (repeatable)"
    )
    report.add_argument("--service-type", metavar="NAME", help="only this service type")
    report.add_argument("--channel", choices=CHANNELS, help="only responses from this channel")
    report.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="FIELD=CODE",
        help="only respondents with this profile code, e.g. gender=P; fields: "
        + ", ".join(PROFILE_FIELDS),
    )
    report.add_argument(
        "--format", choices=FORMATS, help="output format (default: from --output, else json)"
    )
    report.add_argument(
        "--output", "-o", type=Path, metavar="PATH", help="file to write (json/csv: default stdout)"
    )
    report.add_argument(
        "--suggestions",
        default="100",
        metavar="N",
        help="newest N suggestions per unit in the report, or 'all' (default 100)",
    )
    report.add_argument(
        "--full",
        action="store_true",
        help=(
            "with --format pdf: the full Laporan SKM in the regulation's structure "
            "(pendahuluan, metode, hasil, analisis, RTL, complaint recap; contents, page numbers)"
        ),
    )
    report.add_argument(
        "--legacy-weight-0111",
        action="store_true",
        help="reproduce old spreadsheets' weight 0,111 instead of exact 1/k (labelled)",
    )

    responses = subparsers.add_parser("responses", help="survey responses")
    actions = responses.add_subparsers(dest="responses_command", required=True, metavar="ACTION")
    importer = actions.add_parser(
        "import",
        help="import paper questionnaires from a CSV file",
        description=(
            "Import paper questionnaires. Columns: unit, date (YYYY-MM-DD), service_type, age, "
            "gender (L/P), education, occupation, U1..U9 (1-4, blank = skipped), suggestion. "
            "Every row is checked first; any bad row stops the import unless --skip-invalid."
        ),
    )
    importer.add_argument("file", type=Path, help="CSV file (UTF-8; comma, semicolon or tab)")
    importer.add_argument(
        "--skip-invalid", action="store_true", help="import the good rows, report the bad ones"
    )
    importer.add_argument("--dry-run", action="store_true", help="check only, import nothing")

    poster = subparsers.add_parser(
        "poster",
        help="A4 posters (PDF and PNG) with each unit's survey QR codes and latest IKM",
        description=(
            "A4 posters with the unit's Telegram and WhatsApp QR codes (TELEGRAM_BOT_USERNAME, "
            "WHATSAPP_NUMBER), a smaller QR code for its complaint form (the WhatsApp text "
            "'PENGADUAN <unit code>', else Telegram's start=c_<unit code>) and its IKM for the "
            "latest complete quarter once it has REPORT_MIN_RESPONDENTS respondents. With "
            "PUBLIC_BASE_URL set, the unit's public results page is printed under the QR codes."
        ),
    )
    target = poster.add_mutually_exclusive_group(required=True)
    target.add_argument("--unit", action="append", metavar="CODE", help="this unit (repeatable)")
    target.add_argument("--all", action="store_true", help="every unit taking surveys")
    poster.add_argument(
        "--output", type=Path, default=Path("posters"), metavar="DIR", help="default: posters/"
    )
    poster.add_argument(
        "--links",
        action="store_true",
        help=(
            "print each unit's links (survey per channel, complaint form, results page) as "
            "tab-separated "
            "lines instead of writing posters"
        ),
    )
    poster.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="take the quarter before this local date (default: today)",
    )


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    """Run one of this module's commands; ``None`` when ``args.command`` is another one."""
    command = getattr(args, "command", None)
    if command not in _COMMANDS:
        return None
    try:
        if command == "report":
            return await _report(args, settings)
        if command == "responses":
            return await _import(args, settings)
        return await _poster(args, settings)
    except (UsageError, PeriodError, ReportError, PaperFileError, PosterError) as exc:
        sys.stderr.write(f"skm-bot {command}: {exc}\n")
        return 2


# --- report --------------------------------------------------------------------------------


def _period(args: argparse.Namespace) -> Period:
    explicit = args.date_from is not None or args.date_to is not None
    if args.period and explicit:
        raise UsageError("give either --period or --from/--to, not both")
    if args.period:
        return parse_period(args.period)
    if args.date_from is None or args.date_to is None:
        raise UsageError("give --period (e.g. 2026-Q1) or both --from and --to")
    return period_between(parse_date(args.date_from), parse_date(args.date_to))


def _profile_filters(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for value in values:
        name, sep, code = value.partition("=")
        if not sep or name.strip() not in PROFILE_FIELDS or not code.strip():
            raise UsageError(
                f"--profile {value!r}: use FIELD=CODE with FIELD one of {', '.join(PROFILE_FIELDS)}"
            )
        pairs.append((name.strip(), code.strip()))
    return tuple(pairs)


def _suggestion_limit(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    if not value.strip().isdigit():
        raise UsageError(f"--suggestions {value!r}: a number of suggestions per unit, or 'all'")
    return int(value)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.output.suffix.lower().lstrip(".") if args.output is not None else ""
    return suffix if suffix in FORMATS else "json"


def report_request(args: argparse.Namespace) -> ReportRequest:
    """The request the ``report`` options describe."""
    return ReportRequest(
        period=_period(args),
        unit_codes=tuple(dict.fromkeys(args.unit)),
        opd_codes=tuple(dict.fromkeys(args.opd)),
        service_type=args.service_type,
        channel=args.channel,
        profile=_profile_filters(args.profile),
        suggestion_limit=_suggestion_limit(args.suggestions),
        legacy_weight_0111=args.legacy_weight_0111,
    )


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    request = report_request(args)
    output_format = _format(args)
    if args.full and output_format != "pdf":
        raise UsageError("--full is the PDF report: use it with --format pdf")
    progress = StderrProgress()
    progress("report: querying the database", 0, 0)
    # Imported here: the recap module loads openpyxl, which json and csv do not need.
    from reports.complaints_recap import report_recap
    from reports.full_report import report_rtl

    async with open_storage(settings) as storage:
        report = await build_report(storage, request, organisation=settings.organisation_name)
        complaints = (
            await report_recap(storage, report, settings.zone, datetime.now(UTC))
            if args.full
            else None
        )
        rtl = await report_rtl(storage, report) if args.full else []
    progress(f"report: {len(report.units)} units, {report.respondents} respondents", 0, 0)

    if output_format in ("json", "csv") and args.output is None:
        sys.stdout.write(report_json(report) if output_format == "json" else report_csv(report))
        return 0
    default = full_report_filename(request) if args.full else None
    path: Path = args.output or Path(default or report_filename(request, output_format))
    if complaints is not None:
        write_full_report(report, path, complaints, progress, rtl=rtl)
    else:
        write_report(report, output_format, path, progress)
    sys.stderr.write(f"wrote {path}\n")
    return 0


# --- responses import ----------------------------------------------------------------------


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    today = datetime.now(UTC).astimezone(settings.zone).date()
    async with open_storage(settings) as storage:
        directory = await storage.directory()
        checked = read_paper_file(data, directory, today)
        for error in checked.errors:
            sys.stderr.write(f"{path}: {error}\n")
        valid = len(checked.valid)
        if checked.errors and not args.skip_invalid:
            sys.stderr.write(
                f"{len(checked.errors)} bad row(s), {valid} good: nothing imported "
                "(fix the rows, or use --skip-invalid to import the good ones).\n"
            )
            return 1
        if args.dry_run:
            sys.stdout.write(
                f"{valid} row(s) would be imported, {len(checked.errors)} skipped (dry run).\n"
            )
            return 0
        stored = await ReportStore(storage).insert_paper_responses(
            checked.responses, datetime.now(UTC)
        )
    skipped = f", {len(checked.errors)} bad row(s) skipped" if checked.errors else ""
    sys.stdout.write(f"{stored} paper response(s) imported from {path}{skipped}.\n")
    return 0


# --- posters -------------------------------------------------------------------------------


def public_base(settings: Settings) -> str | None:
    """``PUBLIC_BASE_URL`` and the console's prefix, under which the public results pages are
    (``None`` when unset or the console is off: nothing prints a local address)."""
    if not settings.public_base_url or not settings.web_console:
        return None
    return f"{settings.public_base_url.rstrip('/')}{settings.web_path_prefix}"


async def _poster(args: argparse.Namespace, settings: Settings) -> int:
    telegram = (settings.telegram_bot_username or "").strip().lstrip("@") or None
    whatsapp = (settings.whatsapp_number or "").strip() or None
    minimum = settings.report_min_respondents
    today: date = (
        parse_date(args.as_of) if args.as_of else datetime.now(UTC).astimezone(settings.zone).date()
    )
    quarter = latest_complete_quarter(today)
    async with open_storage(settings) as storage:
        directory = await storage.directory()
        if args.all:
            units = [u for u in directory.units if directory.is_open(u)]
        else:
            codes = list(dict.fromkeys(args.unit))
            unknown = [code for code in codes if directory.unit(code) is None]
            if unknown:
                raise UsageError(f"unknown unit code(s): {', '.join(unknown)}")
            units = [u for code in codes if (u := directory.unit(code)) is not None]
        if not units:
            raise UsageError("no units take surveys: import a directory first")
        contents = await posters_for(
            storage,
            units,
            directory,
            organisation=settings.organisation_name,
            telegram_bot_username=telegram,
            whatsapp_number=whatsapp,
            quarter=quarter,
            min_respondents=minimum,
            public_base=public_base(settings),
        )
        if not args.links:
            # A printed poster publishes the quarter's figures (PEKPPP evidence pack).
            async with storage.transaction() as tx:
                await record_publication(tx, quarter.label, datetime.now(UTC))
    progress = StderrProgress()
    for index, content in enumerate(contents, start=1):
        if args.links:
            for what, url in poster_links(content):
                sys.stdout.write(f"{content.unit_code}\t{what}\t{url}\n")
            continue
        files = write_poster(content, args.output)
        sys.stdout.write(f"{files.pdf}\n{files.png}\n")
        progress("poster", index, len(contents))
    return 0
