"""Weekly digests to OPD heads: built from the report queries, sent exactly once.

Exactly once per (OPD, recipient, week): the claim row (``job_claims``: kind ``digest``) and
the digest's outbox rows are written in ONE transaction, so a digest is either fully queued
and claimed or not at all, however many processes run the job and however often they restart.
Delivery rule after a crash: a digest message whose send was started but never confirmed (its
lease ran out) is NOT sent again; it is marked ``failed`` with the reason "unconfirmed" for the
bureau to check (at most once, never silently doubled). See docs/digests.md.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from handlers.outbox import OutboxWorker
from reports.build import build_report
from reports.digest import ComplaintFigures, Digest, compose, week_of
from reports.model import OpdReport, ReportRequest
from reports.period import Period
from storage import Storage
from storage.claims import claim_job, job_claimed
from storage.complaints import opd_complaint_counts
from storage.directory import RecipientRecord, digest_recipients, recipients_by_address
from storage.rtl import overdue_count
from survey_flows.catalog import text
from survey_flows.types import Inbound, Outbound

log = logging.getLogger(__name__)

DIGEST_KINDS = ("digest", "digest_photo")
TREND_WEEKS = 8
LATE_AFTER = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class DigestSettings:
    organisation: str
    zone: ZoneInfo
    cron: str = "30 7 * * mon"
    min_respondents: int = 10


@dataclass(frozen=True, slots=True)
class SendOutcome:
    opd: str
    recipient_id: int
    status: str  # "queued", "already sent", "no recipient"


def due_moment(now: datetime, settings: DigestSettings) -> datetime:
    """The latest scheduled digest time at or before ``now`` (from the cron, in the zone)."""
    trigger = CronTrigger.from_crontab(settings.cron, timezone=settings.zone)
    moment = now - timedelta(days=8)
    latest: datetime | None = None
    while True:
        fire: datetime | None = trigger.get_next_fire_time(latest, moment)
        if fire is None or fire > now:
            break
        latest = fire
        moment = fire + timedelta(seconds=1)
    if latest is None:
        raise ValueError(f"DIGEST_CRON {settings.cron!r} does not fire weekly")
    return latest


def due_week(now: datetime, settings: DigestSettings) -> tuple[Period, datetime]:
    """The week a digest is due for, and when it was due: the week before the due moment."""
    moment = due_moment(now, settings)
    return week_of(moment.astimezone(settings.zone).date() - timedelta(days=1)), moment


async def opd_digest(
    storage: Storage,
    opd_code: str,
    week: Period,
    *,
    language: str,
    settings: DigestSettings,
    now: datetime,
    late_since: datetime | None = None,
    unit_codes: tuple[str, ...] = (),
) -> Digest:
    """Compose one OPD's digest for ``week`` from the same queries as the SKM report."""
    reports: list[OpdReport | None] = []
    weeks = [week_of(week.start - timedelta(days=7 * back)) for back in range(TREND_WEEKS)]
    for period in reversed(weeks):  # oldest first
        request = ReportRequest(period=period, opd_codes=(opd_code,), unit_codes=unit_codes,
                                suggestion_limit=3)  # fmt: skip
        report = await build_report(storage, request, organisation=settings.organisation)
        reports.append(report.opds[0] if report.opds else None)
    current, previous = reports[-1], reports[-2]
    if current is None:
        raise LookupError(f"no OPD {opd_code!r} with units")
    trend: list[tuple[Period, Decimal | None]] = [
        (period, r.ikm if r is not None and r.respondents >= settings.min_respondents else None)
        for period, r in zip(reversed(weeks), reports, strict=True)
    ]
    figures = await complaint_figures(storage, opd_code, week, now, settings.zone)
    async with storage.reading() as tx:
        rtl_overdue = await overdue_count(tx, opd_code, now.astimezone(settings.zone).date())
    return compose(
        opd=current,
        previous=previous,
        week=week,
        complaints=figures,
        trend=trend,
        language=language,
        min_respondents=settings.min_respondents,
        late_since=late_since,
        rtl_overdue=rtl_overdue,
    )


async def complaint_figures(
    storage: Storage, opd_code: str, week: Period, now: datetime, zone: ZoneInfo
) -> ComplaintFigures:
    start, end = week.bounds(zone)
    async with storage.reading() as tx:
        counts = await opd_complaint_counts(tx, opd_code, start, end, now)
    return ComplaintFigures(*counts)


async def send_digests(
    storage: Storage,
    outbox: OutboxWorker,
    settings: DigestSettings,
    now: datetime,
    *,
    week: Period | None = None,
    opd_code: str | None = None,
) -> list[SendOutcome]:
    """Queue every due digest once; one failing recipient never blocks the others."""
    late_since = None
    if week is None:
        week, due = due_week(now, settings)
        if now - due > LATE_AFTER:
            late_since = now.astimezone(settings.zone)
    async with storage.reading() as tx:
        heads = await digest_recipients(tx, opd_code)
    outcomes: list[SendOutcome] = []
    channels: set[str] = set()
    for recipient in heads:
        try:
            status = await _send_one(storage, recipient, week, settings, now, late_since)
        except Exception:  # one bad recipient must not stop the rest
            log.exception("digest failed", extra={"opd": recipient.opd_code})
            status = "error"
        outcomes.append(SendOutcome(recipient.opd_code, recipient.id, status))
        if status == "queued":
            channels.add(recipient.channel)
    for channel in sorted(channels):
        await outbox.deliver(channel)
    return outcomes


async def _send_one(
    storage: Storage,
    recipient: RecipientRecord,
    week: Period,
    settings: DigestSettings,
    now: datetime,
    late_since: datetime | None,
) -> str:
    async with storage.reading() as tx:
        if await job_claimed(tx, "digest", f"{recipient.opd_code}:{recipient.id}", week.label):
            return "already sent"
    digest = await opd_digest(
        storage,
        recipient.opd_code,
        week,
        language=recipient.language,
        settings=settings,
        now=now,
        late_since=late_since,
    )
    async with storage.transaction() as tx:
        claimed = await claim_job(
            tx, "digest", f"{recipient.opd_code}:{recipient.id}", week.label, now
        )
        if not claimed:  # another process got there first
            return "already sent"
        await tx.enqueue(
            channel=recipient.channel,
            messages=digest_messages(digest, recipient.language, recipient.opd_code, week),
            dedupe_prefix=f"digest:{recipient.id}:{week.label}",
            now=now,
            recipient_id=recipient.id,
            priority=5,  # after citizens' replies
        )
    return "queued"


def digest_messages(
    digest: Digest, language: str, opd_name: str, week: Period
) -> list[tuple[str, dict[str, object]]]:
    """Outbox rows: the chart first (outside WhatsApp's 24-hour window it travels as the
    approved template, and the text waits for the head's reply), then the text parts."""
    rows: list[tuple[str, dict[str, object]]] = [
        ("digest", {"text": part, "choices": [], "language": language}) for part in digest.parts
    ]
    rows.insert(
        0,
        (
            "digest_photo",
            {
                "png_base64": base64.b64encode(digest.chart_png).decode(),
                "caption": text(language, "digest.caption", opd=opd_name, label=week.label),
                "language": language,
                # For the WhatsApp template outside the 24-hour window: one short line.
                "summary": digest.summary,
            },
        ),
    )
    return rows


async def digest_job(
    storage: Storage,
    outbox: OutboxWorker,
    settings: DigestSettings,
    clock: Callable[[], datetime],
) -> None:
    """The scheduled run (and the start-up catch-up): whatever is due, once."""
    try:
        outcomes = await send_digests(storage, outbox, settings, clock())
    except Exception:
        log.exception("digest job failed")
        return
    queued = sum(1 for o in outcomes if o.status == "queued")
    if queued:
        log.info("digests queued", extra={"count": queued})


def ringkasan_command(
    storage: Storage, settings: DigestSettings, clock: Callable[[], datetime]
) -> Callable[[Inbound], Awaitable[list[tuple[str, dict[str, object]]]]]:
    """``/ringkasan [unit-code]``: the current week's digest, for registered staff only."""

    async def handle(inbound: Inbound) -> list[tuple[str, dict[str, object]]]:
        async with storage.reading() as tx:
            registrations = await recipients_by_address(
                tx, inbound.channel.value, inbound.contact, phone=inbound.phone, remember=False
            )
        if not registrations:
            refusal = Outbound(text("id", "digest.not_registered"))
            return [("message", refusal.to_json())]
        language = registrations[0].language
        now = clock()
        week = week_of(now.astimezone(settings.zone).date())
        wanted = inbound.command_args[0].lower() if inbound.command_args else None
        rows: list[tuple[str, dict[str, object]]] = []
        directory = await storage.directory()
        for opd_code in dict.fromkeys(r.opd_code for r in registrations):
            units: tuple[str, ...] = ()
            if wanted is not None:
                unit = directory.unit(wanted)
                if unit is None or unit.opd_code != opd_code:
                    continue
                units = (unit.code,)
            digest = await opd_digest(storage, opd_code, week, language=language,
                                      settings=settings, now=now, unit_codes=units)  # fmt: skip
            rows += digest_messages(digest, language, opd_code, week)
        if not rows:
            return [("message", Outbound(text(language, "digest.not_registered")).to_json())]
        return rows

    return handle
