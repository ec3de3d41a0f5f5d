"""The webhook's work: every event of a verified payload to the dispatcher or to storage.

Messages (a page request too) go to the dispatcher, which reads, steps and writes in its one
transaction; a delivery report is one call to storage. Nothing here opens a transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.dispatcher import DispatchResult, Outcome, utc_now
from handlers.outbox import OutboxWorker
from handlers.ratelimit import RateLimiter
from handlers.whatsapp.parse import CHANNEL, Event, StatusReport, parse_payload
from storage import Storage
from storage.deliveries import record_delivery_report
from storage.errors import StorageUnavailable
from storage.models import DeliveryStatus
from survey_flows.types import Inbound, InboundKind

log = logging.getLogger(__name__)

HandleInbound = Callable[[Inbound], Awaitable[Any]]

# Meta's "more than 24 hours since the user last wrote": the message needs the template.
RE_ENGAGEMENT_CODE = 131047


@dataclass
class ProcessReport:
    """What one webhook payload contained and what became of it."""

    messages: int = 0
    duplicates: int = 0
    pages: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)
    failed: int = 0  # messages or reports that raised: logged (never their content), skipped

    @property
    def stored(self) -> int:
        """Events that reached the dispatcher or storage (duplicates included)."""
        return self.messages + self.pages + self.statuses


class WhatsAppUpdates:
    """Turns verified webhook payloads into dispatched events and recorded delivery reports.

    Everything is committed before :meth:`process` returns (so the webhook answers 200 only
    for what is stored); replies go out in the background (``handle`` decides).
    """

    def __init__(
        self,
        storage: Storage,
        handle: HandleInbound,
        outbox: OutboxWorker,
        phone_number_id: str,
        *,
        template_configured: bool = False,
        clock: Callable[[], datetime] = utc_now,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.storage = storage
        self.handle = handle
        self.outbox = outbox
        self.phone_number_id = phone_number_id
        self.template_configured = template_configured
        self.clock = clock
        # The sender's limiter: Meta counts the messages received against the same limit.
        self.limiter = limiter

    async def process(self, data: Mapping[str, Any]) -> ProcessReport:
        """Every event of ``data``, each on its own: one that fails is logged and skipped, so
        the rest of the delivery is kept (Meta retries a whole delivery, never one message).

        Raises :class:`StorageUnavailable` when the database is down: Meta's retry is then
        the way to keep everything, and what was already stored is deduplicated.
        """
        report = ProcessReport()
        for event in parse_payload(data, self.phone_number_id, self.clock()):
            try:
                await self._one(event, report)
            except StorageUnavailable:
                raise
            except Exception as exc:
                report.failed += 1
                log.warning(
                    "webhook item failed; skipped",
                    extra={"reason": type(exc).__name__, "kind": type(event).__name__},
                )
        return report

    async def _one(self, event: Event, report: ProcessReport) -> None:
        """One event to the dispatcher or to storage, counted in ``report``."""
        if isinstance(event, Inbound):
            if self.limiter is not None:
                self.limiter.note_inbound()
            result = await self.handle(event)
            if event.kind is InboundKind.PAGE:
                report.pages += 1
            else:
                report.messages += 1
            if isinstance(result, DispatchResult) and result.outcome is Outcome.DUPLICATE:
                report.duplicates += 1
        elif isinstance(event, StatusReport):
            await self._status(event)
            report.statuses += 1
        else:
            report.ignored.append(event.reason)
            log.debug("webhook item ignored", extra={"reason": event.reason})

    async def _status(self, report: StatusReport) -> None:
        """Record the report on its outbox row; a late 131047 queues the template."""
        needs_template = (
            report.status is DeliveryStatus.FAILED
            and report.error_code == RE_ENGAGEMENT_CODE
            and self.template_configured
        )
        if await record_delivery_report(
            self.storage,
            CHANNEL,
            report.message_id,
            report.status,
            report.at,
            report.error,
            queue_template=needs_template,
            now=self.clock(),
        ):
            self.outbox.wake()
