"""``skm-bot digest preview|send`` and ``skm-bot recipients list|add|remove``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from bot.app import open_storage
from bot.digests import due_week, opd_digest, send_digests
from bot.settings import ConfigError, Settings
from handlers.outbox import OutboxWorker, Sender
from reports.period import Period, PeriodError, PeriodKind, parse_period
from storage.directory import UnknownOpd, add_recipient, deactivate_recipient, list_recipients


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    digest = subparsers.add_parser("digest", help="the weekly digest for OPD heads")
    actions = digest.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    preview = actions.add_parser("preview", help="write an OPD's digest (text and PNG) to files")
    preview.add_argument("--opd", required=True, metavar="CODE")
    preview.add_argument(
        "--period", metavar="WEEK", help="an ISO week, e.g. 2026-W14 (default: due)"
    )
    preview.add_argument("--language", choices=("id", "en"), default="id")
    preview.add_argument("--output", type=Path, default=Path("."), metavar="DIR")
    send = actions.add_parser(
        "send", help="queue due digests now (exactly once per OPD, recipient and week)"
    )
    send.add_argument("--opd", metavar="CODE", help="only this OPD")
    send.add_argument("--period", metavar="WEEK", help="an ISO week (default: the due week)")

    recipients = subparsers.add_parser("recipients", help="who receives digests and complaints")
    r_actions = recipients.add_subparsers(
        dest="recipients_command", required=True, metavar="ACTION"
    )
    r_actions.add_parser("list", help="list recipients per OPD")
    add = r_actions.add_parser(
        "add", help="register a head or officer (the next directory import replaces the list)"
    )
    remove = r_actions.add_parser("remove", help="deactivate a recipient")
    for command in (add, remove):
        command.add_argument("--opd", required=True, metavar="CODE")
        command.add_argument("--channel", required=True, choices=("telegram", "whatsapp"))
        command.add_argument("--address", required=True, help="Telegram chat id or WhatsApp number")
        command.add_argument("--role", choices=("head", "officer"), default="head")
    add.add_argument("--name", required=True)
    add.add_argument("--language", choices=("id", "en"), default="id")


def _week(text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        period = parse_period(text)
    except PeriodError as exc:
        raise ConfigError(f"--period: {exc}") from None
    if period.kind is not PeriodKind.WEEK:
        raise ConfigError("--period: a digest covers one ISO week, e.g. 2026-W14")
    return period


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    if args.command == "digest":
        return await _digest(args, settings)
    if args.command == "recipients":
        return await _recipients(args, settings)
    return None


async def _digest(args: argparse.Namespace, settings: Settings) -> int:
    digest_settings = settings.digest_settings()
    now = datetime.now(UTC)
    week = _week(args.period)
    async with open_storage(settings) as storage:
        if args.digest_command == "preview":
            week = week or due_week(now, digest_settings)[0]
            digest = await opd_digest(storage, args.opd, week, language=args.language,
                                      settings=digest_settings, now=now)  # fmt: skip
            args.output.mkdir(parents=True, exist_ok=True)
            stem = args.output / f"digest-{args.opd}-{week.label}"
            Path(f"{stem}.txt").write_text("\n\n---\n\n".join(digest.parts) + "\n")
            Path(f"{stem}.png").write_bytes(digest.chart_png)
            print(f"{stem}.txt ({len(digest.parts)} message(s))")
            print(f"{stem}.png")
            return 0
        # Sending from the command line queues the digests; a running `skm-bot run` (or
        # this process, for channels configured here) delivers them.
        senders: dict[str, Sender] = {}
        outbox = OutboxWorker(storage, senders, lambda: datetime.now(UTC))
        outcomes = await send_digests(storage, outbox, digest_settings, now, week=week,
                                      opd_code=args.opd)  # fmt: skip
        for outcome in outcomes:
            print(f"{outcome.opd:<24} recipient {outcome.recipient_id:<6} {outcome.status}")
        if not outcomes:
            print("No head is registered for a digest (see `skm-bot recipients list`).")
        return 0 if all(o.status != "error" for o in outcomes) else 1


async def _recipients(args: argparse.Namespace, settings: Settings) -> int:
    async with open_storage(settings) as storage, storage.transaction() as tx:
        if args.recipients_command == "list":
            for r in await list_recipients(tx):
                mark = "" if r.active else "  (inactive)"
                print(f"{r.opd_code:<22} {r.role:<8} {r.channel:<9} {r.address:<16} {r.name}{mark}")
            return 0
        identity = {"opd_code": args.opd, "role": args.role, "channel": args.channel,
                    "address": args.address}  # fmt: skip
        try:
            if args.recipients_command == "add":
                await add_recipient(tx, **identity, name=args.name, language=args.language)
                print(f"Registered {args.role} of {args.opd} on {args.channel}.")
                return 0
            if not await deactivate_recipient(tx, **identity):
                print("No such active recipient.")
                return 1
        except UnknownOpd:
            raise ConfigError(f"--opd: no OPD with code {args.opd!r}") from None
        print(f"Deactivated the {args.role} of {args.opd} on {args.channel}.")
        return 0
