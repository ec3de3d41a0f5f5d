"""Delivery of outbox rows through each channel's sender, with retry and backoff.

Messages are rows first (written with the state they answer); delivery happens after the
commit. A platform outage delays messages, it never loses them; and once the platform answers
again, the messages it delayed go out at once instead of waiting out their backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from storage import Storage
from storage.errors import StorageError, StorageUnavailable
from storage.outbox import PendingMessage

log = logging.getLogger(__name__)

# Defaults of OUTBOX_BACKOFF_CAP_S and OUTBOX_OUTAGE_MIN_S.
MAX_BACKOFF = timedelta(minutes=2)
# Failures for this long with no success in between are an outage: the success that ends it
# makes the backed-off messages due at once.
OUTAGE_MIN = timedelta(seconds=5)
# The share of the lease a batch of claimed messages may take to send (see send_claimed).
SEND_WITHIN_LEASE = 0.75
# No send of a batch starts later than this share of the lease: a send cut at the deadline
# above may already have reached the platform (a double when retried), so each one that
# starts keeps at least a quarter of the lease to finish; the rest go back to the sweeper.
START_WITHIN_LEASE = 0.5
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


def backoff(attempts: int, retry_after_s: float | None, cap: timedelta = MAX_BACKOFF) -> timedelta:
    """Exponential backoff (2, 4, 8 ... s, capped), or what the platform asked for."""
    if retry_after_s is not None:
        return timedelta(seconds=max(retry_after_s, 0.0))
    return min(timedelta(seconds=2 ** min(attempts, 20)), cap)


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
        backoff_cap: timedelta = MAX_BACKOFF,
        outage_min: timedelta = OUTAGE_MIN,
    ) -> None:
        self.storage = storage
        self.senders = senders
        self.clock = clock
        self.lease = lease
        self.backoff_cap = backoff_cap
        self.outage_min = outage_min
        self.observer = observer
        self._wakeup = asyncio.Event()
        # When each channel's current run of outage-type failures began (by ``clock``). The
        # first success after a run of at least ``outage_min`` means the platform is back: its
        # backed-off retries are made due at once (see _answered).
        self._failing_since: dict[str, datetime] = {}
        # time.monotonic() of each channel's latest recovery.
        self._recovered: dict[str, float] = {}

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

        A conversation's messages go in order: after a failure that address's later messages
        wait for the retry, so a citizen never gets the next question before the previous
        reply. A failure that looks like an outage (no wait of its own: network error, 5xx,
        timeout) stops the whole batch, as every other send would only wait out the same
        timeout; a permanent failure or one with its own wait (flood control, WhatsApp's
        24-hour window) holds back only its address, so it cannot delay other citizens.
        """
        sender = self.senders.get(channel)
        if sender is None or not messages:
            return 0
        receipts: list[tuple[int, str | None]] = []
        sent: list[PendingMessage] = []
        held: dict[str, datetime] = {}  # address -> when its held-back messages are due
        # Past the lease another process may claim these rows and send them again: a send
        # still waiting then (for a pooled connection, the rate limiter, a hanging API) is
        # given up before, as a failure, so the rows are never out twice at once.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease.total_seconds() * SEND_WITHIN_LEASE
        last_start = loop.time() + self.lease.total_seconds() * START_WITHIN_LEASE
        try:
            for index, message in enumerate(messages):
                if message.address in held:
                    await self._hold(message, held[message.address])
                    continue
                if loop.time() > last_start:
                    for waiting in messages[index:]:
                        await self._hold(waiting, held.get(waiting.address, self.clock()))
                    self.wake()
                    break
                started = time.monotonic()
                try:
                    try:
                        async with asyncio.timeout_at(deadline):
                            receipt = await sender.send(message)
                    except TimeoutError:
                        raise TransientSendError("no answer within the lease") from None
                except SendError as exc:
                    retry_at, outage = await self._record_failure(message, exc, started)
                    if outage:
                        for waiting in messages[index + 1 :]:
                            await self._hold(
                                waiting, max(retry_at, held.get(waiting.address, retry_at))
                            )
                        break
                    held[message.address] = retry_at
                    continue
                receipts.append((message.id, receipt.platform_message_id))
                sent.append(message)
                await self._answered(channel)
        finally:
            await self._record_sent(receipts)
        if self.observer is not None:
            for message in sent:
                self.observer(message, "sent")
        return len(receipts)

    async def _answered(self, channel: str) -> None:
        """A send succeeded: if it ends an outage, the platform is back.

        Then every retry it backed off (up to minutes after a long outage) is made due now and
        the sweeper woken. The check and the removal happen with no await between them, so of
        concurrent senders (the dispatcher's background sends, the sweeper) only the first
        success pays for the UPDATE; every other success costs a dict lookup. A run of failures
        shorter than ``outage_min`` is no outage (their backoff is as short), and this keeps one
        message that always fails from being retried after every success of a busy channel.
        """
        since = self._failing_since.pop(channel, None)
        if since is None or self.clock() - since < self.outage_min:
            return
        try:
            count = await self.storage.retry_now(channel, self.clock())
        except StorageError as exc:
            self._failing_since.setdefault(channel, since)  # the next success tries again
            log.warning("outbox recovery failed", extra={"channel": channel, "reason": str(exc)})
            return
        self._recovered[channel] = time.monotonic()
        log.info("platform answers again", extra={"channel": channel, "due_now": count})
        self.wake()

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
                await self._answered(channel)
            except SendError as exc:
                log.warning("unrecorded send failed", extra={"reason": str(exc)})
                break
        return sent

    async def _record_failure(
        self, message: PendingMessage, error: SendError, started: float
    ) -> tuple[datetime, bool]:
        """Record a failed send; returns when the address may go on, and whether it looks like
        an outage (the rest of the batch then waits too)."""
        if isinstance(error, PermanentSendError):
            log.warning("outbox failed", extra={"outbox_id": message.id, "reason": str(error)})
            await self.storage.mark_failed(message.id, str(error), attempt=message.attempts)
            if self.observer is not None:
                self.observer(message, "failed")
            return self.clock(), False
        retry_after = error.retry_after_s if isinstance(error, TransientSendError) else None
        outage = False
        if retry_after is not None:
            # Flood control, or a wait the sender chose: honoured, and no sign of an outage.
            delay = backoff(message.attempts, retry_after, self.backoff_cap)
        elif self._recovered.get(message.channel, -math.inf) > started:
            # The channel recovered while this request was out: it was caught by the outage
            # that has just ended (say, timed out at its end). The platform is back: no backoff.
            delay = timedelta(0)
        else:
            outage = True
            self._failing_since.setdefault(message.channel, self.clock())
            delay = backoff(message.attempts, None, self.backoff_cap)
        log.warning(
            "outbox retry",
            extra={
                "outbox_id": message.id,
                "reason": str(error),
                "delay_s": round(delay.total_seconds(), 3),
            },
        )
        retry_at = self.clock() + delay
        await self.storage.mark_retry(message.id, str(error), retry_at, attempt=message.attempts)
        if self.observer is not None:
            self.observer(message, "queued")
        return retry_at, outage

    async def _hold(self, message: PendingMessage, retry_at: datetime) -> None:
        await self.storage.mark_retry(
            message.id, "waiting for an earlier message", retry_at, attempt=message.attempts
        )
        if self.observer is not None:
            self.observer(message, "queued")

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, interval_s: float = 1.0) -> None:
        """Sweep every channel periodically (retries, messages left by a crash)."""
        while True:
            # Cleared before the sweep, not after: a wake() during the sweep (the platform came
            # back while we were sending) must start another one at once, not be lost.
            self._wakeup.clear()
            for channel in list(self.senders):
                try:
                    while await self.deliver(channel) > 0:
                        pass
                except StorageError as exc:
                    log.warning("outbox sweep failed", extra={"reason": str(exc)})
                except Exception:  # the sweeper must outlive any one failure; it retries
                    log.exception("outbox sweep failed", extra={"channel": channel})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=interval_s)
