"""The follow-up plan's proposals (issue 17): once a quarter closes, each unit's three weakest
elements (the report builder's ``weakest``) become RTL items to plan. Run by the scheduler
(claimed once per quarter across processes) and by ``skm-bot rtl propose``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from reports.build import build_report
from reports.model import ReportRequest, id_decimal
from reports.period import Period, latest_complete_quarter
from storage import Storage
from storage.claims import claim_job, job_claimed
from storage.errors import StorageError
from storage.rtl import propose
from survey_flows.rtl import WEAKEST_PROPOSED, proposals

log = logging.getLogger(__name__)

CLAIM = "rtl-propose"


async def propose_for(
    storage: Storage, period: Period, now: datetime, *, organisation: str, claim: bool = False
) -> int | None:
    """Propose the weakest elements of every unit with answers in ``period``; returns how many
    items were added (a unit's existing items for the period are kept as they are).
    ``claim``: only once per quarter (the claim is taken in the proposals' transaction, so a
    failure leaves it for the next run); None when it was already claimed."""
    if claim:
        async with storage.reading() as tx:
            if await job_claimed(tx, CLAIM, "all", period.label):
                return None
    report = await build_report(storage, ReportRequest(period, suggestion_limit=0),
                                organisation=organisation)  # fmt: skip
    weakest: dict[str, list[tuple[str, str | None]]] = {
        unit.code: [
            (code, id_decimal(unit.nrr(code)) if unit.nrr(code) is not None else None)
            for code in unit.weakest(WEAKEST_PROPOSED)
        ]
        for unit in report.units
        if unit.respondents > 0
    }
    async with storage.transaction() as tx:
        if claim and not await claim_job(tx, CLAIM, "all", period.label, now):
            return None
        return await propose(tx, period.label, proposals(weakest), now)


async def rtl_proposal_job(
    storage: Storage, zone: ZoneInfo, clock: Callable[[], datetime], organisation: str
) -> int | None:
    """The latest closed quarter's proposals, once (the claim is per quarter); None when
    another process has it or the database failed."""
    now = clock()
    quarter = latest_complete_quarter(now.astimezone(zone).date())
    try:
        added = await propose_for(storage, quarter, now, organisation=organisation, claim=True)
    except StorageError as exc:
        log.warning("rtl proposal job failed", extra={"reason": str(exc)})
        return None
    if added is None:
        return None
    log.info("rtl items proposed", extra={"period": quarter.label, "count": added})
    return added
