"""Delivery of outbox rows through each channel's sender, with retry and backoff.

Messages are rows first (written with the state they answer); delivery happens after the
commit. A platform outage delays messages, it never loses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.repository import PendingMessage, Storage, StorageError

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)


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
    ) -> None:
        self.storage = storage
        self.senders = senders
        self.clock = clock
        self._wakeup = asyncio.Event()

    async def deliver(self, channel: str, ids: Sequence[int] | None = None) -> int:
        """Claim and send due messages of ``channel`` (only ``ids`` when given).

        Returns the number sent.
        """
        if channel not in self.senders:
            return 0
        claimed = await self.storage.claim_outbox(channel, self.clock(), ids=ids)
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
            await self.storage.mark_sent(receipts, self.clock())
        return len(receipts)

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
        else:
            retry_after = error.retry_after_s if isinstance(error, TransientSendError) else None
            delay = backoff(message.attempts, retry_after)
            log.warning(
                "outbox retry",
                extra={"outbox_id": message.id, "reason": str(error), "delay_s": delay.seconds},
            )
            retry_at = self.clock() + delay
            await self.storage.mark_retry(message.id, str(error), retry_at)
        for waiting in later:
            await self.storage.mark_retry(waiting.id, "waiting for an earlier message", retry_at)

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
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=interval_s)


def describe(payload: dict[str, Any]) -> str:
    """A log-safe description of a payload: its kind and size, never its text."""
    return f"text[{len(str(payload.get('text', '')))}] choices[{len(payload.get('choices', []))}]"
