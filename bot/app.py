"""Composition root: creates and closes every engine, client and channel."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

import bot
from bot.digests import ringkasan_command
from bot.directory_file import read_directory_file
from bot.holidays_file import bundled_holidays, read_holidays
from bot.jobs import build_scheduler
from bot.metrics import Metrics
from bot.settings import ConfigError, Settings
from bot.web import build_web_app
from bot.web_console import attach_console, base_url, console_port, serve_console_alone
from bot.whatsapp_flows import flows_in_use
from bot.workers import WorkerRole
from handlers.console import ConsoleChannel, ConsoleKeys, ConsoleSender
from handlers.dispatcher import Dispatcher, utc_now
from handlers.outbox import OutboxWorker, Sender
from handlers.ratelimit import ContactLimits
from handlers.telegram import (
    RateLimiter,
    TelegramConflict,
    TelegramPoller,
    TelegramSender,
    TelegramUpdates,
    make_bot,
    photo_fetcher,
    register_commands,
)
from handlers.web.desk import PhotoFetch
from handlers.whatsapp import (
    GraphClient,
    Template,
    WhatsAppSender,
    WhatsAppUpdates,
    check_credentials,
    media_fetcher,
    whatsapp_limiter,
)
from storage import Storage, db
from storage.directory import holidays, upsert_holidays
from storage.directory_import import ImportReport, apply_directory
from storage.errors import ConstraintViolation
from storage.web_directory import directory_edits_since_import, record_directory_import
from survey_flows.commands import Command
from survey_flows.types import Channel

log = logging.getLogger(__name__)


def migration_secret(settings: Settings) -> bytes | None:
    """The secret migration 0007 hashes stored inbound event ids with (the pseudonym
    secret), or None when none is configured (the rows are deleted then)."""
    try:
        return settings.pseudonym_key()
    except ConfigError:
        return None


@asynccontextmanager
async def open_storage(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Storage]:
    """The database, migrated to the newest schema unless told otherwise; disposed on exit."""
    storage = Storage(db.create_engine(settings.database_url))
    try:
        if migrate:
            await db.upgrade(storage.engine, event_secret=migration_secret(settings))
        yield storage
    finally:
        await storage.dispose()


def bundled_example() -> Path:
    """``examples/mimika.yaml``: in the source tree, or packaged inside the wheel."""
    package_dir = Path(bot.__file__).parent
    for candidate in (
        package_dir / "examples" / "mimika.yaml",
        package_dir.parent / "examples" / "mimika.yaml",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("examples/mimika.yaml is not installed")


async def import_directory(storage: Storage, path: Path) -> ImportReport:
    """Validate ``path`` completely, then upsert it in one transaction."""
    specs = read_directory_file(path)
    now = utc_now()
    async with storage.transaction() as tx:
        edits = await directory_edits_since_import(tx)
        if edits:
            latest = edits[0]
            print(f"Warning: the directory was changed {len(edits)} time(s) in the web console "  # noqa: T201
                  f"since the last import (latest {latest.at:%Y-%m-%d %H:%M} UTC by "
                  f"{latest.actor_name or 'an administrator'}); {path.name} replaces those "
                  "changes where it differs.", file=sys.stderr)  # fmt: skip
        report = await apply_directory(tx, specs, now)
        await record_directory_import(tx, now, path.name[:200])
        return report


async def seed_if_empty(storage: Storage, settings: Settings) -> ImportReport | None:
    """Load the example directory into an empty database so a first run has units."""
    if (await storage.directory()).units:
        return None
    path = settings.directory_seed_file or bundled_example()
    report = await import_directory(storage, path)
    print(f"Loaded the example directory from {path}.", file=sys.stderr)  # noqa: T201
    return report


async def import_holidays(storage: Storage, path: Path) -> int:
    """Validate a holiday calendar file completely, then add it; returns the new days."""
    days = read_holidays(path)
    async with storage.transaction() as tx:
        return await upsert_holidays(tx, days)


async def seed_holidays_if_empty(storage: Storage) -> None:
    """Working-day deadlines need the calendar: load the shipped years on first run."""
    async with storage.reading() as tx:
        if await holidays(tx):
            return
    for path in bundled_holidays():
        try:
            await import_holidays(storage, path)
        except ConstraintViolation:  # another process, starting at the same moment, loaded them
            log.info("holidays already loaded by another process")
            return


@dataclass
class ConsoleOptions:
    contact: str = "local"
    unit: str | None = None


async def run_console(
    settings: Settings,
    options: ConsoleOptions,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    """The survey in the terminal, on the configured database."""
    out = stdout or sys.stdout
    async with open_storage(settings) as storage:
        await seed_if_empty(storage, settings)
        await seed_holidays_if_empty(storage)
        keys = ConsoleKeys()  # the terminal's "buttons": shared by what it prints and reads
        senders: dict[str, Sender] = {"console": ConsoleSender(out, keys)}
        outbox = OutboxWorker(storage, senders, utc_now)
        dispatcher = Dispatcher(storage, settings.flow_settings(), settings.pseudonym_key(), outbox)
        channel = ConsoleChannel(
            dispatcher, contact=options.contact, stdin=stdin, stdout=out, keys=keys
        )
        async with AsyncExitStack() as stack:
            console_app = attach_console(None, storage, dispatcher, settings, console_mode=True)
            port = console_port(settings)
            if console_app is not None and await serve_console_alone(
                stack, console_app, "127.0.0.1", port
            ):
                print(  # noqa: T201
                    f"Web console: {base_url(settings)}{settings.web_path_prefix}/ "
                    "(a sign-in link: skm-bot web login-link --admin NAME)",
                    file=sys.stderr,
                )
            first = f"/start u_{options.unit}" if options.unit else "/start"
            await channel.run(first_command=first)


async def run_service(
    settings: Settings, stop: asyncio.Event | None = None, role: WorkerRole | None = None
) -> None:
    """Every configured channel, the web server and the outbox sweeper, until ``stop``.

    Telegram runs in webhook mode when ``TELEGRAM_WEBHOOK_URL`` is set (any number of
    processes behind a load balancer), otherwise by polling (one process per bot token).
    WhatsApp always arrives by webhook (``/whatsapp/webhook``). With a ``role`` from the
    supervisor (``--workers``), the port is shared and only worker 0 runs the scheduler.
    """
    role = role or WorkerRole()
    stop = stop or _stop_on_signals()
    async with open_storage(settings) as storage, AsyncExitStack() as stack:
        await seed_holidays_if_empty(storage)
        senders: dict[str, Sender] = {}
        telegram_bot = None
        if settings.telegram_bot_token:
            telegram_bot = make_bot(
                settings.telegram_bot_token.get_secret_value(),
                settings.telegram_api_base_url,
                read_timeout_s=settings.telegram_read_timeout_s,
            )
            await telegram_bot.initialize()  # getMe: fails fast on a wrong token
            stack.push_async_callback(telegram_bot.shutdown)

            async def blocked(address: str) -> None:
                await storage.mark_blocked(Channel.TELEGRAM.value, address, utc_now())

            limiter = RateLimiter(
                overall_per_s=settings.telegram_overall_per_s,
                per_chat_interval_s=settings.telegram_per_chat_interval_s,
                per_chat_burst=settings.telegram_per_chat_burst,
                overall_burst=settings.telegram_overall_burst,
            )
            senders[Channel.TELEGRAM.value] = TelegramSender(
                telegram_bot, limiter, on_blocked=blocked
            )
        template = None
        whatsapp_pace = None
        # How the console's complaint desk fetches a photo, per channel.
        photos: dict[str, PhotoFetch] = {}
        if telegram_bot is not None:
            photos[Channel.TELEGRAM.value] = photo_fetcher(telegram_bot)
        form_languages: frozenset[str] = frozenset()
        if settings.whatsapp_access_token and settings.whatsapp_phone_number_id:
            http = aiohttp.ClientSession()
            stack.push_async_callback(http.close)
            graph = GraphClient(
                http,
                access_token=settings.whatsapp_access_token.get_secret_value(),
                phone_number_id=settings.whatsapp_phone_number_id,
                base_url=settings.whatsapp_api_base_url,
                version=settings.whatsapp_graph_version,
            )
            await check_credentials(graph)  # fails fast on a wrong token or phone number id
            photos[Channel.WHATSAPP.value] = media_fetcher(graph)
            if settings.whatsapp_template_name:
                template = Template(
                    settings.whatsapp_template_name, settings.whatsapp_template_language
                )
            digest_template = (
                Template(
                    settings.whatsapp_digest_template_name, settings.whatsapp_template_language
                )
                if settings.whatsapp_digest_template_name
                else None
            )
            whatsapp_pace = whatsapp_limiter(settings.whatsapp_messages_per_s)
            flows = await flows_in_use(settings, storage)
            for language in flows.stale:
                log.warning(
                    "the WhatsApp Flow is stale (the questionnaire changed): the chat asks "
                    "instead; run `skm-bot whatsapp flow publish`",
                    extra={"language": language},
                )
            form_languages = frozenset(flows.ids)
            senders[Channel.WHATSAPP.value] = WhatsAppSender(
                graph,
                storage,
                template=template,
                digest_template=digest_template,
                limiter=whatsapp_pace,
                flow_ids=flows.ids,
            )
        metrics = Metrics()
        outbox = OutboxWorker(
            storage,
            senders,
            utc_now,
            lease=timedelta(seconds=settings.outbox_lease_s),
            observer=metrics.observe_delivery,
            backoff_cap=timedelta(seconds=settings.outbox_backoff_cap_s),
            outage_min=timedelta(seconds=settings.outbox_outage_min_s),
        )
        dispatcher = Dispatcher(storage, settings.flow_settings(), settings.pseudonym_key(), outbox)
        dispatcher.observer = metrics.observe_dispatch
        dispatcher.limits = ContactLimits(
            burst=settings.contact_burst,
            per_minute=settings.contact_messages_per_minute,
            status_burst=settings.status_burst,
            status_per_minute=settings.status_lookups_per_minute,
        )
        if form_languages:
            dispatcher.form_languages[Channel.WHATSAPP.value] = form_languages
        dispatcher.staff_commands[Command.RINGKASAN] = ringkasan_command(
            storage, settings.digest_settings(), utc_now
        )
        stack.push_async_callback(dispatcher.drain)
        whatsapp = None
        if Channel.WHATSAPP.value in senders and settings.whatsapp_phone_number_id:
            whatsapp = WhatsAppUpdates(
                storage,
                lambda inbound: dispatcher.handle(inbound, background=True),
                outbox,
                settings.whatsapp_phone_number_id,
                template_configured=template is not None,
                limiter=whatsapp_pace,
            )
        webhook = bool(telegram_bot and settings.telegram_webhook_url)
        updates = None
        if telegram_bot is not None:
            updates = TelegramUpdates(
                telegram_bot, lambda inbound: dispatcher.handle(inbound, background=webhook)
            )
            stack.push_async_callback(updates.drain)
        app = build_web_app(
            storage,
            telegram=updates if webhook else None,
            telegram_secret=(
                settings.telegram_webhook_secret.get_secret_value()
                if settings.telegram_webhook_secret
                else None
            ),
            whatsapp=whatsapp,
            whatsapp_app_secret=(
                settings.whatsapp_app_secret.get_secret_value()
                if settings.whatsapp_app_secret
                else None
            ),
            whatsapp_verify_token=(
                settings.whatsapp_verify_token.get_secret_value()
                if settings.whatsapp_verify_token
                else None
            ),
            metrics=metrics,
            ops_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        )
        own_port = settings.web_port is not None and settings.web_port != settings.http_port
        console_app = attach_console(None if own_port else app, storage, dispatcher, settings,
                                     photos=photos)  # fmt: skip
        if console_app is not None and settings.web_port is not None:
            await serve_console_alone(
                stack, console_app, settings.http_host, settings.web_port, shared=role.shares_port
            )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(
            runner, settings.http_host, settings.http_port, reuse_port=role.shares_port or None
        ).start()
        log.info("web server listening", extra={"port": settings.http_port})

        tasks: list[asyncio.Task[Any]] = [asyncio.create_task(outbox.run(), name="outbox-sweeper")]
        # Whatever ends the service (a stop, a failed start, a crashed task), no task of it
        # outlives it: a stray sweeper would go on sending from this database.
        stack.push_async_callback(_cancel_all, tasks)
        scheduler = build_scheduler(
            zone=settings.zone,
            complaint_cron=settings.complaint_job_cron,
            digest=settings.digest_settings() if settings.digest_enabled else None,
            storage=storage,
            flow_settings=dispatcher.flow_settings,
            calendar=dispatcher.calendar,
            outbox=outbox,
            clock=utc_now,
            retention=settings.retention(),
            purge_cron=settings.purge_job_cron,
            organisation=settings.organisation_name,
        )
        if role.primary:  # the jobs claim their runs, but one scheduler is enough
            scheduler.start()
            stack.callback(scheduler.shutdown, wait=False)
        if telegram_bot is not None and updates is not None:
            if role.primary:
                await register_commands(telegram_bot)
            if not webhook:
                lock = await stack.enter_async_context(
                    storage.exclusive(f"telegram-poller:{telegram_bot.id}")
                )
                if not lock:
                    raise TelegramConflict(
                        "another skm-bot process is already polling this bot token; "
                        "run one poller, or use webhook mode (TELEGRAM_WEBHOOK_URL)"
                    )
                poller = TelegramPoller(telegram_bot, updates)
                tasks.append(asyncio.create_task(poller.run(), name="telegram-poller"))
        stopped = asyncio.create_task(stop.wait(), name="stop")
        tasks.append(stopped)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopped and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
