"""Prometheus metrics for ``GET /metrics``.

Counters and the step-latency histogram live in the process (each bot process is scraped on its
own); the outbox gauges are read from the database at scrape time, so every process reports
the same backlog, including what a crashed process left behind.

Metrics (all prefixed ``skm_``):

* ``inbound_total{channel,outcome}``: webhook requests and events. Outcomes from the dispatcher:
  ``processed``, ``rejected`` (the input did not fit; re-prompted), ``duplicate`` (a redelivery);
  from the webhooks: ``refused`` (bad secret or signature), ``invalid`` (not JSON, not an
  update, too large), ``unavailable`` (database down: answered 503 so the platform retries),
  ``ignored`` (not for us: group chats, edits, other numbers), ``status`` (WhatsApp delivery
  reports), ``page`` (another page of a WhatsApp list).
* ``replies_total{channel,result}``: outgoing messages ``sent``, ``failed`` (for good) or
  ``queued`` (a retry was scheduled).
* ``digests_sent_total{channel}``: weekly digest messages delivered.
* ``step_seconds{channel}``: one inbound event from arrival to commit (dedupe, lock, step,
  persist), a histogram.
* ``outbox_messages{channel,status}`` and ``outbox_oldest_age_seconds{channel}``: messages not
  sent yet (``pending``, ``sending``) and the age of the oldest of them.
* ``database_up``: 1 when the scrape could read the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DBAPIError

from handlers.dispatcher import DispatchResult
from storage.repository import AT_MOST_ONCE_KINDS, PendingMessage, Storage, StorageError
from survey_flows.types import Inbound

CONTENT_TYPE = CONTENT_TYPE_LATEST
STEP_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """One process's metrics, in a registry of its own (several services may share a process
    in tests, and the default registry would refuse the second)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "skm_inbound",
            "Inbound webhook requests and events, by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.replies = Counter(
            "skm_replies",
            "Outgoing messages by channel and result: sent, failed, queued (retry scheduled).",
            ["channel", "result"],
            registry=self.registry,
        )
        self.digests = Counter(
            "skm_digests_sent",
            "Weekly digest messages delivered.",
            ["channel"],
            registry=self.registry,
        )
        self.step = Histogram(
            "skm_step_seconds",
            "One inbound event from arrival to commit (dedupe, lock, step, persist).",
            ["channel"],
            buckets=STEP_BUCKETS_S,
            registry=self.registry,
        )
        self.outbox = Gauge(
            "skm_outbox_messages",
            "Outgoing messages not sent yet, by channel and status (read at scrape).",
            ["channel", "status"],
            registry=self.registry,
        )
        self.outbox_age = Gauge(
            "skm_outbox_oldest_age_seconds",
            "Age of the oldest outgoing message not sent yet, by channel (read at scrape).",
            ["channel"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "skm_database_up",
            "1 when the last scrape could read the database.",
            registry=self.registry,
        )

    def count_inbound(self, channel: str, outcome: str, amount: int = 1) -> None:
        if amount > 0:
            self.inbound.labels(channel, outcome).inc(amount)

    def observe_dispatch(self, inbound: Inbound, result: DispatchResult) -> None:
        """The dispatcher's outcome and step time for one event."""
        channel = inbound.channel.value
        self.inbound.labels(channel, result.outcome.value).inc()
        self.step.labels(channel).observe(result.step_ms / 1000)

    def observe_delivery(self, message: PendingMessage, result: str) -> None:
        """What became of one outbox message (see ``handlers.outbox.DeliveryObserver``)."""
        if message.kind in AT_MOST_ONCE_KINDS:
            if result == "sent":
                self.digests.labels(message.channel).inc()
            return
        self.replies.labels(message.channel, result).inc()

    async def render(self, storage: Storage, now: datetime) -> bytes:
        """The text exposition, with the outbox gauges read from the database now."""
        try:
            backlog = await storage.outbox_backlog()
        except (StorageError, DBAPIError, OSError):
            self.database_up.set(0)
        else:
            self.database_up.set(1)
            self.outbox.clear()
            self.outbox_age.clear()
            oldest: dict[str, datetime] = {}
            for row in backlog:
                self.outbox.labels(row.channel, row.status).set(row.count)
                if row.oldest_created_at is not None:
                    first = oldest.get(row.channel)
                    oldest[row.channel] = min(first or row.oldest_created_at, row.oldest_created_at)
            for channel, created_at in oldest.items():
                self.outbox_age.labels(channel).set(max((now - created_at).total_seconds(), 0.0))
        return generate_latest(self.registry)


DispatchObserver = Callable[[Inbound, DispatchResult], None]

__all__ = ["CONTENT_TYPE", "DispatchObserver", "Metrics", "STEP_BUCKETS_S"]
