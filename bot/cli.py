"""The ``skm-bot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

from telegram.error import InvalidToken

from bot import (
    cli_complaints,
    cli_digest,
    cli_pekppp,
    cli_reports,
    cli_rtl,
    cli_web,
    cli_whatsapp,
)
from bot.app import (
    ConsoleOptions,
    import_directory,
    import_holidays,
    migration_secret,
    open_storage,
    run_console,
    run_service,
    seed_holidays_if_empty,
)
from bot.directory_file import DirectoryFileError
from bot.holidays_file import HolidayFileError
from bot.jobs import purge_now
from bot.logging_setup import configure_logging
from bot.settings import ConfigError, Settings, load_settings
from bot.workers import WorkerRole, supervise
from handlers.dispatcher import utc_now
from handlers.telegram import ALLOWED_UPDATES, TelegramConflict, make_bot
from handlers.whatsapp import WhatsAppRejected
from storage import db
from storage.directory import holidays, list_units
from storage.directory_import import ImportReport
from storage.errors import StorageUnavailable

DESCRIPTION = """\
skm-bot: the community satisfaction survey (SKM, PermenPANRB 14/2017) over chat.

Configuration comes from the environment and a .env file (see the README).
With no Telegram or WhatsApp credentials, `skm-bot run` chats in this terminal
on an embedded SQLite database with the example directory of Kabupaten Mimika.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skm-bot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('skm-bot')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="migrate the database, then serve (console when no platform is configured)"
    )
    run.add_argument(
        "--console", action="store_true", help="chat in this terminal (reads standard input)"
    )
    run.add_argument(
        "--unit", metavar="CODE", help="console: start the survey of this unit, as its QR code does"
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="service: N processes sharing HTTP_PORT (webhook mode only; default HTTP_WORKERS, 1)",
    )
    run.add_argument(
        "--contact",
        metavar="NAME",
        default="local",
        help="console: who is typing (each name is a separate respondent; default: local)",
    )

    database = commands.add_parser("db", help="database schema")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply all migrations (idempotent)")
    db_commands.add_parser("status", help="say whether the schema is current")
    db_commands.add_parser(
        "purge",
        help="run the retention purge now (as the daily job does; docs/privacy.md) and say "
        "what it removed",
    )

    units = commands.add_parser("units", help="the directory of OPDs and service units")
    unit_commands = units.add_subparsers(dest="units_command", required=True, metavar="ACTION")
    importer = unit_commands.add_parser(
        "import", help="add or update OPDs, units and recipients from a YAML file (by code)"
    )
    importer.add_argument("file", type=Path, help="directory file, e.g. examples/mimika.yaml")
    unit_commands.add_parser("list", help="list OPDs and their units")

    holidays = commands.add_parser(
        "holidays", help="the calendar of national holidays and cuti bersama"
    )
    holiday_commands = holidays.add_subparsers(
        dest="holidays_command", required=True, metavar="ACTION"
    )
    holiday_import = holiday_commands.add_parser(
        "import", help="add a year's holidays from a YAML file (see examples/holidays-2026.yaml)"
    )
    holiday_import.add_argument("file", type=Path)
    holiday_commands.add_parser("list", help="list the holidays the deadlines skip")

    cli_reports.register(commands)
    cli_digest.register(commands)
    cli_complaints.register(commands)
    cli_whatsapp.register(commands)
    cli_web.register(commands)
    cli_rtl.register(commands)
    cli_pekppp.register(commands)

    telegram = commands.add_parser("telegram", help="the Telegram bot's registration")
    tg_commands = telegram.add_subparsers(dest="telegram_command", required=True, metavar="ACTION")
    set_webhook = tg_commands.add_parser(
        "set-webhook", help="register TELEGRAM_WEBHOOK_URL (with its secret) at Telegram"
    )
    set_webhook.add_argument(
        "--drop-pending", action="store_true", help="discard updates Telegram is holding"
    )
    set_webhook.add_argument(
        "--max-connections", type=int, default=40, help="parallel deliveries, 1-100 (default 40)"
    )
    tg_commands.add_parser("delete-webhook", help="remove the webhook (to go back to polling)")
    tg_commands.add_parser("info", help="show the bot's name and its webhook status")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say nothing routine
        _configure_logging(args, settings)
        if args.command == "run" and _supervises(args, settings):
            # The supervisor only starts and watches: the workers do the serving.
            asyncio.run(_prepare_for_workers(settings))
            return supervise(args.workers or settings.http_workers)
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"skm-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    except HolidayFileError as exc:
        print(f"skm-bot: not imported; nothing changed: {exc}", file=sys.stderr)
        return 1
    except DirectoryFileError as exc:
        print(f"skm-bot: {exc.path} was not imported; nothing changed:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except StorageUnavailable as exc:
        print(f"skm-bot: the database is not reachable: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def _configure_logging(args: argparse.Namespace, settings: Settings) -> None:
    """JSON lines for the service, text for people; the console chat logs warnings only."""
    service = args.command == "run" and not args.console and settings.has_platform_channel
    console = args.command == "run" and not service
    log_format = settings.log_format or ("json" if service else "text")
    level = logging.WARNING if console else settings.log_level
    secret = settings.pseudonym_secret
    key = secret.get_secret_value().encode() if secret else None
    configure_logging(log_format, level, key=key)


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handled: int | None = await cli_reports.dispatch(args, settings)
    if handled is None:
        handled = await cli_digest.dispatch(args, settings)
    if handled is None:
        handled = await cli_complaints.dispatch(args, settings)
    if handled is None:
        handled = await cli_whatsapp.dispatch(args, settings)
    if handled is None:
        handled = await cli_web.dispatch(args, settings)
    if handled is None:
        handled = await cli_rtl.dispatch(args, settings)
    if handled is None:
        handled = await cli_pekppp.dispatch(args, settings)
    if handled is not None:
        return handled
    if args.command == "run":
        return await _run(args, settings)
    if args.command == "db":
        async with open_storage(settings, migrate=False) as storage:
            if args.db_command == "upgrade":
                await db.upgrade(storage.engine, event_secret=migration_secret(settings))
                print("The database schema is current.")
                return 0
            if args.db_command == "purge":
                purged = await purge_now(storage, settings.retention(), utc_now())
                print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in asdict(purged).items()))
                return 0
            current = await db.schema_is_current(storage.engine)
            print("current" if current else "needs upgrade: run `skm-bot db upgrade`")
            return 0 if current else 1
    if args.command == "telegram":
        return await _telegram(args, settings)
    if args.command == "holidays":
        async with open_storage(settings) as storage:
            if args.holidays_command == "import":
                added = await import_holidays(storage, args.file)
                print(f"{added} holidays added from {args.file}.")
                return 0
            async with storage.reading() as tx:
                days = sorted(await holidays(tx))
            for day in days:
                print(day.isoformat())
            if not days:
                print("No holidays yet: `skm-bot holidays import FILE.yaml`.")
            return 0
    if args.command == "units":
        async with open_storage(settings) as storage:
            if args.units_command == "import":
                report = await import_directory(storage, args.file)
                _print_report(report)
                return 0
            async with storage.reading() as tx:
                rows = await list_units(tx)
            if not rows:
                print("No units yet: import a directory with `skm-bot units import FILE.yaml`.")
            for opd, code, name, active, services in rows:
                mark = "" if active else "  (inactive)"
                print(f"{opd:<22} {code:<22} {name} [{services} layanan]{mark}")
            return 0
    return 2


def _supervises(args: argparse.Namespace, settings: Settings) -> bool:
    """True when this process is to start workers rather than serve itself."""
    workers = args.workers or settings.http_workers
    if workers < 1:
        raise ConfigError("--workers: at least 1")
    service = not args.console and settings.has_platform_channel
    if workers == 1 or not service or WorkerRole.from_environment().shares_port:
        return False
    if settings.telegram_bot_token and not settings.telegram_webhook_url:
        raise ConfigError(
            "--workers needs Telegram in webhook mode (TELEGRAM_WEBHOOK_URL): polling runs in "
            "one process"
        )
    return True


async def _prepare_for_workers(settings: Settings) -> None:
    """Migrate and seed once, before the workers start together."""
    settings.pseudonym_key()
    async with open_storage(settings) as storage:
        await seed_holidays_if_empty(storage)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    settings.pseudonym_key()  # fail early with a clear line when it is missing
    if args.console or not settings.has_platform_channel:
        await run_console(settings, ConsoleOptions(contact=args.contact, unit=args.unit))
        return 0
    try:
        await run_service(settings, role=WorkerRole.from_environment())
    except WhatsAppRejected as exc:
        print(f"skm-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    except TelegramConflict as exc:
        print(f"skm-bot: {exc}", file=sys.stderr)
        return 4
    except InvalidToken:
        print(
            "skm-bot: configuration error: TELEGRAM_BOT_TOKEN: rejected by Telegram",
            file=sys.stderr,
        )
        return 2
    return 0


async def _telegram(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN: required for `skm-bot telegram`")
    bot = make_bot(
        settings.telegram_bot_token.get_secret_value(),
        settings.telegram_api_base_url,
        read_timeout_s=settings.telegram_read_timeout_s,
    )
    async with bot:
        if args.telegram_command == "set-webhook":
            if not settings.telegram_webhook_url or not settings.telegram_webhook_secret:
                raise ConfigError(
                    "TELEGRAM_WEBHOOK_URL: required for `skm-bot telegram set-webhook`"
                )
            url = settings.telegram_webhook_url
            await bot.set_webhook(
                url,
                secret_token=settings.telegram_webhook_secret.get_secret_value(),
                max_connections=args.max_connections,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=args.drop_pending,
            )
            print(f"Webhook set for @{bot.username}: {url}")
        elif args.telegram_command == "delete-webhook":
            await bot.delete_webhook()
            print(f"Webhook removed for @{bot.username}; `skm-bot run` will poll.")
        else:
            info = await bot.get_webhook_info()
            print(f"bot          @{bot.username} (id {bot.id})")
            print(f"webhook      {info.url or '(none: polling)'}")
            print(f"pending      {info.pending_update_count}")
            if info.last_error_message:
                print(f"last error   {info.last_error_message}")
    return 0


def _print_report(report: ImportReport) -> None:
    for label, items in (
        ("added", report.added),
        ("changed", report.changed),
        ("deactivated", report.deactivated),
    ):
        for item in items:
            print(f"{label:<12} {item}")
    print(
        f"{len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.deactivated)} deactivated, {report.unchanged} unchanged."
    )
