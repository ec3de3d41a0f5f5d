"""Periodic work run by APScheduler inside `skm-bot run`; claims make each exactly-once."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests import DigestSettings, digest_job
from bot.rtl import rtl_proposal_job
from handlers.outbox import OutboxWorker
from storage import Storage
from storage.claims import claim_job
from storage.complaints import CalendarCache, apply_desk_effects, load_deadline_context
from storage.directory import directory_in
from storage.errors import StorageError
from storage.privacy import Purged, Retention, purge_expired
from survey_flows.desk import deadline_plan
from survey_flows.engine import FlowSettings
from survey_flows.skm import idle_reminder

log = logging.getLogger(__name__)


async def complaint_deadlines(
    storage: Storage,
    settings: FlowSettings,
    calendar: CalendarCache,
    outbox: OutboxWorker,
    clock: Callable[[], datetime],
) -> int:
    """Reminders, escalations and automatic closing (load -> pure plan -> apply, in one
    transaction); returns the number of channels woken."""
    now = clock()
    try:
        async with storage.transaction() as tx:
            context = await load_deadline_context(
                tx, now=now, settings=settings, calendar=await calendar.get(tx)
            )
            wake = await apply_desk_effects(tx, deadline_plan(context), now)
    except StorageError as exc:
        log.warning("complaint deadline job failed", extra={"reason": str(exc)})
        return 0
    for channel in sorted(wake):
        await outbox.deliver(channel)
    return len(wake)


async def idle_reminders(
    storage: Storage,
    settings: FlowSettings,
    outbox: OutboxWorker,
    clock: Callable[[], datetime],
) -> int:
    """One gentle reminder per idle period of a survey or complaint under way (issue 14,
    item 17); the dedupe key (contact and last activity) makes it once, however often this
    runs. Returns the number of reminders queued."""
    now = clock()
    queued = 0
    wake: set[str] = set()
    try:
        async with storage.transaction() as tx:
            idle = await tx.idle_conversations(now, settings.idle_reminder)
            directory = await directory_in(tx) if idle else None
            for conversation in idle:
                assert directory is not None
                message = idle_reminder(
                    conversation.state, directory, conversation.language, now, settings
                )
                if message is None:
                    continue
                stamp = int(conversation.updated_at.timestamp())
                added = await tx.enqueue(
                    channel=conversation.channel,
                    messages=[("message", message.to_json())],
                    dedupe_prefix=f"idle-reminder:{conversation.contact_id}:{stamp}",
                    now=now,
                    contact_id=conversation.contact_id,
                )
                queued += len(added)
                if added:
                    wake.add(conversation.channel)
    except StorageError as exc:
        log.warning("idle reminder job failed", extra={"reason": str(exc)})
        return 0
    for channel in sorted(wake):
        await outbox.deliver(channel)
    return queued


async def privacy_purge(
    storage: Storage, retention: Retention, zone: ZoneInfo, clock: Callable[[], datetime]
) -> Purged | None:
    """The daily retention purge (docs/privacy.md), claimed once per local day across
    processes; None when another run has it (or the database failed)."""
    now = clock()
    try:
        async with storage.transaction() as tx:
            day = now.astimezone(zone).date().isoformat()
            if not await claim_job(tx, "privacy-purge", "all", day, now):
                return None
            purged = await purge_expired(tx, retention, now)
    except StorageError as exc:
        log.warning("privacy purge failed", extra={"reason": str(exc)})
        return None
    log.info("privacy purge", extra=dataclasses.asdict(purged))
    return purged


async def purge_now(storage: Storage, retention: Retention, now: datetime) -> Purged:
    """The retention purge at once, unclaimed (``skm-bot db purge``; running it twice removes
    nothing more)."""
    async with storage.transaction() as tx:
        return await purge_expired(tx, retention, now)


def build_scheduler(
    *,
    zone: ZoneInfo,
    complaint_cron: str,
    digest: DigestSettings | None,
    storage: Storage,
    flow_settings: FlowSettings,
    calendar: CalendarCache,
    outbox: OutboxWorker,
    clock: Callable[[], datetime],
    retention: Retention | None = None,
    purge_cron: str = "15 2 * * *",
    organisation: str | None = None,
    rtl_cron: str = "30 6 * * *",
) -> AsyncIOScheduler:
    """The scheduler with its jobs; start it inside the running loop."""
    scheduler = AsyncIOScheduler(
        timezone=zone,
        # A job missed during downtime still runs once when the process is back.
        job_defaults={"coalesce": True, "misfire_grace_time": 12 * 3600, "max_instances": 1},
    )
    if digest is not None:
        _add_digest_jobs(scheduler, zone, digest, storage, outbox, clock)
    if flow_settings.idle_reminder > timedelta(0):
        scheduler.add_job(
            idle_reminders,
            IntervalTrigger(minutes=1, timezone=zone),
            args=[storage, flow_settings, outbox, clock],
            id="idle-reminders",
            replace_existing=True,
        )
    scheduler.add_job(
        complaint_deadlines,
        CronTrigger.from_crontab(complaint_cron, timezone=zone),
        args=[storage, flow_settings, calendar, outbox, clock],
        id="complaint-deadlines",
        replace_existing=True,
    )
    if retention is not None:
        scheduler.add_job(
            privacy_purge,
            CronTrigger.from_crontab(purge_cron, timezone=zone),
            args=[storage, retention, zone, clock],
            id="privacy-purge",
            replace_existing=True,
        )
    if organisation is not None:
        # Daily: the first run after a quarter closes proposes its RTL items, once.
        scheduler.add_job(
            rtl_proposal_job,
            CronTrigger.from_crontab(rtl_cron, timezone=zone),
            args=[storage, zone, clock, organisation],
            id="rtl-proposals",
            replace_existing=True,
        )
    return scheduler


def _add_digest_jobs(
    scheduler: AsyncIOScheduler,
    zone: ZoneInfo,
    digest: DigestSettings,
    storage: Storage,
    outbox: OutboxWorker,
    clock: Callable[[], datetime],
) -> None:
    scheduler.add_job(
        digest_job,
        CronTrigger.from_crontab(digest.cron, timezone=zone),
        args=[storage, outbox, digest, clock],
        id="weekly-digest",
        replace_existing=True,
    )
    # Catch-up: at start and every hour, whatever digest is due and unclaimed goes out (late,
    # and saying so, after downtime). Claims make the extra runs harmless.
    scheduler.add_job(
        digest_job,
        IntervalTrigger(hours=1, timezone=zone),
        args=[storage, outbox, digest, clock],
        id="weekly-digest-catch-up",
        replace_existing=True,
        next_run_time=clock(),
    )
