"""Prometheus metrics for ``GET /metrics``.

Counters and the step-latency histogram live in the process (each bot process is scraped on its
own); the outbox gauges are read from the database at scrape time, so every process reports
the same backlog, including what a crashed process left behind.

Metrics (all prefixed ``skm_``):

* ``inbound_total{channel,outcome}``: webhook requests and events. Outcomes from the dispatcher:
  ``processed``, ``rejected`` (the input did not fit; re-prompted), ``duplicate`` (a redelivery),
  ``limited`` (over a per-contact limit: dropped before the database);
  from the webhooks: ``refused`` (bad secret or signature), ``invalid`` (not JSON, not an
  update, too large), ``unavailable`` (database down: answered 503 so the platform retries),
  ``ignored`` (not for us: group chats, edits, other numbers), ``status`` (WhatsApp delivery
  reports), ``page`` (another page of a WhatsApp list).
* ``replies_total{channel,result}``: outgoing messages ``sent``, ``failed`` (for good) or
  ``queued`` (a retry was scheduled).
* ``limited_total{channel,limit}``: events over a per-contact limit (handlers/ratelimit.py):
  ``messages`` (a burst: dropped, the first answered), ``status`` (ticket lookups: likewise),
  ``complaints_per_day`` (the daily cap: answered). Dropped events also count as
  ``inbound_total{outcome="limited"}``.
* ``digests_sent_total{channel}``: weekly digest messages delivered.
* ``step_seconds{channel}``: one inbound event from arrival to commit (dedupe, lock, step,
  persist), a histogram.
* ``outbox_messages{channel,status}`` and ``outbox_oldest_age_seconds{channel}``: messages not
  sent yet (``pending``, ``sending``) and the age of the oldest of them.
* ``database_up``: 1 when the scrape could read the database.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from handlers.dispatcher import DispatchResult, Outcome
from storage import Storage
from storage.errors import StorageError
from storage.outbox import AT_MOST_ONCE_KINDS, OutboxBacklog, PendingMessage
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
        self.limited = Counter(
            "skm_limited",
            "Inbound events over a per-contact limit, by channel and limit: messages (a burst, "
            "dropped), status (ticket lookups, dropped), complaints_per_day (answered).",
            ["channel", "limit"],
            registry=self.registry,
        )
        self.step = Histogram(
            "skm_step_seconds",
            "One inbound event from arrival to commit (dedupe, lock, step, persist).",
            ["channel"],
            buckets=STEP_BUCKETS_S,
            registry=self.registry,
        )
        self.backlog = _BacklogCollector()
        self.registry.register(self.backlog)
        # Several worker processes (``skm-bot run --workers N``) share one port: prometheus-
        # client's multiprocess mode, when the supervisor sets PROMETHEUS_MULTIPROC_DIR, keeps
        # each process's counters in files there, and a scrape adds them all up.
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.scrape_registry = self.registry
        if multiprocess_dir:
            self.scrape_registry = CollectorRegistry()
            MultiProcessCollector(self.scrape_registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
            self.scrape_registry.register(self.backlog)

    def count_inbound(self, channel: str, outcome: str, amount: int = 1) -> None:
        if amount > 0:
            self.inbound.labels(channel, outcome).inc(amount)

    def observe_dispatch(self, inbound: Inbound, result: DispatchResult) -> None:
        """The dispatcher's outcome and step time for one event."""
        channel = inbound.channel.value
        self.inbound.labels(channel, result.outcome.value).inc()
        if result.limit is not None:
            self.limited.labels(channel, result.limit).inc()
        if result.outcome is not Outcome.LIMITED:  # dropped before any step
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
        except (StorageError, OSError):
            self.backlog.update(None, now)
        else:
            self.backlog.update(backlog, now)
        return generate_latest(self.scrape_registry)


class _BacklogCollector(Collector):
    """The outbox gauges, from the database read of the current scrape (the same figures in
    every process: they describe the shared backlog, not the process)."""

    def __init__(self) -> None:
        self._backlog: list[OutboxBacklog] | None = None
        self._now: datetime | None = None

    def update(self, backlog: list[OutboxBacklog] | None, now: datetime) -> None:
        self._backlog, self._now = backlog, now

    def collect(self) -> Iterator[Metric]:
        messages = GaugeMetricFamily(
            "skm_outbox_messages",
            "Outgoing messages not sent yet, by channel and status (read at scrape).",
            labels=["channel", "status"],
        )
        age = GaugeMetricFamily(
            "skm_outbox_oldest_age_seconds",
            "Age of the oldest outgoing message not sent yet, by channel (read at scrape).",
            labels=["channel"],
        )
        up = GaugeMetricFamily("skm_database_up", "1 when the last scrape could read the database.")
        up.add_metric([], 0.0 if self._backlog is None else 1.0)
        oldest: dict[str, datetime] = {}
        for row in self._backlog or ():
            messages.add_metric([row.channel, row.status], row.count)
            if row.oldest_created_at is not None:
                first = oldest.get(row.channel)
                oldest[row.channel] = min(first or row.oldest_created_at, row.oldest_created_at)
        for channel, created_at in sorted(oldest.items()):
            assert self._now is not None
            age.add_metric([channel], max((self._now - created_at).total_seconds(), 0.0))
        yield messages
        yield age
        yield up


DispatchObserver = Callable[[Inbound, DispatchResult], None]

__all__ = ["CONTENT_TYPE", "DispatchObserver", "Metrics", "STEP_BUCKETS_S"]
