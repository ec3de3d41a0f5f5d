"""Delivery of outbox rows through each channel's sender, with retry and backoff.

Messages are rows first (written with the state they answer); delivery happens after the
commit. A platform outage delays messages, it never loses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.repository import PendingMessage, Storage, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)
# How long a claimed message belongs to its sender; after that the sweeper (of any process) may
# send it again. Longer than any send can take (rate-limit waits, HTTP timeouts), or a slow send
# could be doubled; shorter means faster recovery of the replies a killed process had claimed.
DEFAULT_LEASE = timedelta(minutes=2)

# What became of one message: "sent", "failed" (permanently) or "queued" (retried later).
DeliveryObserver = Callable[[PendingMessage, str], None]


class SendError(Exception):
    """A send failed; subclasses say whether to retry."""


class TransientSendError(SendError):
    """Try again later (network error, 5xx, rate limit). ``retry_after_s`` when told."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class PermanentSendError(SendError):
    """Will never succeed (blocked by the user, invalid recipient): mark failed."""


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What the platform answered."""

    platform_message_id: str | None = None


class Sender(Protocol):
    """One channel's delivery: render a payload and send it to an address."""

    channel: str

    async def send(self, message: PendingMessage) -> SendReceipt: ...


def backoff(attempts: int, retry_after_s: float | None) -> timedelta:
    """Exponential backoff (2, 4, 8 ... s, capped), or what the platform asked for."""
    if retry_after_s is not None:
        return timedelta(seconds=max(retry_after_s, 0.0))
    return min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


class OutboxWorker:
    """Claims due messages per channel and hands them to that channel's sender."""

    def __init__(
        self,
        storage: Storage,
        senders: dict[str, Sender],
        clock: Callable[[], datetime],
        *,
        lease: timedelta = DEFAULT_LEASE,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.storage = storage
        self.senders = senders
        self.clock = clock
        self.lease = lease
        self.observer = observer
        self._wakeup = asyncio.Event()

    async def deliver(self, channel: str, ids: Sequence[int] | None = None) -> int:
        """Claim and send due messages of ``channel`` (only ``ids`` when given).

        Returns the number sent.
        """
        if channel not in self.senders:
            return 0
        claimed = await self.storage.claim_outbox(channel, self.clock(), ids=ids, lease=self.lease)
        return await self.send_claimed(channel, claimed)

    async def send_claimed(self, channel: str, messages: Sequence[PendingMessage]) -> int:
        """Send messages already leased to us, in order; record the outcomes.

        A conversation's messages go in order: after the first failure the rest wait for the
        retry, so a citizen never gets the next question before the previous reply.
        """
        sender = self.senders.get(channel)
        if sender is None or not messages:
            return 0
        receipts: list[tuple[int, str | None]] = []
        try:
            for index, message in enumerate(messages):
                try:
                    receipt = await sender.send(message)
                except SendError as exc:
                    await self._record_failure(message, exc, later=messages[index + 1 :])
                    break
                receipts.append((message.id, receipt.platform_message_id))
        finally:
            await self._record_sent(receipts)
        if self.observer is not None:
            for message in messages[: len(receipts)]:
                self.observer(message, "sent")
        return len(receipts)

    async def _record_sent(self, receipts: Sequence[tuple[int, str | None]]) -> None:
        """Mark delivered messages sent, riding out a short database outage.

        A receipt that is never recorded means the message is sent again once its lease runs
        out: a double. So while the lease holds, a lost connection is retried.
        """
        deadline = time.monotonic() + self.lease.total_seconds() / 2
        delay_s = 0.1
        while True:
            try:
                await self.storage.mark_sent(receipts, self.clock())
                return
            except StorageUnavailable as exc:
                if time.monotonic() + delay_s > deadline:
                    raise
                log.warning("recording sent messages failed; retrying", extra={"reason": str(exc)})
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 2.0)

    async def send_unrecorded(self, channel: str, messages: Sequence[PendingMessage]) -> int:
        """Best-effort sends that must leave no row behind (the goodbye after an erasure)."""
        sender = self.senders.get(channel)
        if sender is None:
            return 0
        sent = 0
        for message in messages:
            try:
                await sender.send(message)
                sent += 1
            except SendError as exc:
                log.warning("unrecorded send failed", extra={"reason": str(exc)})
                break
        return sent

    async def _record_failure(
        self, message: PendingMessage, error: SendError, later: Sequence[PendingMessage]
    ) -> None:
        if isinstance(error, PermanentSendError):
            log.warning("outbox failed", extra={"outbox_id": message.id, "reason": str(error)})
            await self.storage.mark_failed(message.id, str(error))
            retry_at = self.clock()
            if self.observer is not None:
                self.observer(message, "failed")
        else:
            retry_after = error.retry_after_s if isinstance(error, TransientSendError) else None
            delay = backoff(message.attempts, retry_after)
            log.warning(
                "outbox retry",
                extra={"outbox_id": message.id, "reason": str(error), "delay_s": delay.seconds},
            )
            retry_at = self.clock() + delay
            await self.storage.mark_retry(message.id, str(error), retry_at)
            if self.observer is not None:
                self.observer(message, "queued")
        for waiting in later:
            await self.storage.mark_retry(waiting.id, "waiting for an earlier message", retry_at)
            if self.observer is not None:
                self.observer(waiting, "queued")

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, interval_s: float = 1.0) -> None:
        """Sweep every channel periodically (retries, messages left by a crash)."""
        while True:
            for channel in list(self.senders):
                try:
                    while await self.deliver(channel) > 0:
                        pass
                except StorageError as exc:
                    log.warning("outbox sweep failed", extra={"reason": str(exc)})
                except Exception:  # the sweeper must outlive any one failure; it retries
                    log.exception("outbox sweep failed", extra={"channel": channel})
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=interval_s)


def describe(payload: dict[str, Any]) -> str:
    """A log-safe description of a payload: its kind and size, never its text."""
    return f"text[{len(str(payload.get('text', '')))}] choices[{len(payload.get('choices', []))}]"
