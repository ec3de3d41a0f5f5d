"""Pacing outgoing messages under a platform's limits (Telegram, WhatsApp), and limiting
what one contact may send (:class:`ContactLimits`, in front of the dispatcher)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from survey_flows.commands import Command
from survey_flows.types import Inbound, InboundKind


class RateLimiter:
    """A platform's sending limits in one process: messages per second overall, and per chat.

    Telegram: about 30 messages/s overall and 1/s per chat. WhatsApp: the number's throughput
    tier (80/s by default), which counts the messages received too (:meth:`note_inbound`).

    A short burst per chat is allowed (the platform tolerates it); a ``retry_after`` from the
    API pauses every send for that long. A chat waiting for its own turn never holds up the
    others. With ``overall_burst``, sends are also spread evenly (a token bucket of that size
    refilled at ``overall_per_s``): a whole second's allowance sent at once reaches the
    platform with jitter, and a few arrive in the next second's window, over its limit.
    """

    def __init__(
        self,
        overall_per_s: float = 25.0,
        per_chat_interval_s: float = 1.0,
        per_chat_burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        overall_burst: int | None = None,
    ) -> None:
        self.overall_per_s = overall_per_s
        self.per_chat_interval_s = per_chat_interval_s
        self.per_chat_burst = per_chat_burst
        self.overall_burst = overall_burst
        self.clock = clock
        self.sleep = sleep
        self._recent: deque[float] = deque()
        self._chats: dict[str, deque[float]] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._tokens = float(overall_burst or 0)
        self._tokens_at = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def note_inbound(self) -> None:
        """A message received: it counts against the same limit (WhatsApp), without waiting."""
        now = self.clock()
        self._refresh(now)
        self._recent.append(now)
        if self.overall_burst is not None:
            self._tokens -= 1.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _chat_wait(self, chat: str, now: float) -> float:
        sent = self._chats.setdefault(chat, deque())
        window = self.per_chat_interval_s * self.per_chat_burst
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) >= self.per_chat_burst:
            return window - (now - sent[0])
        return 0.0

    def _refresh(self, now: float) -> None:
        """Forget sends older than a second; refill the bucket for the time gone by."""
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if self.overall_burst is not None:
            elapsed = max(now - self._tokens_at, 0.0)
            self._tokens = min(self._tokens + elapsed * self.overall_per_s, self.overall_burst)
            self._tokens_at = now

    def _overall_wait(self, now: float) -> float:
        self._refresh(now)
        wait = max(self._paused_until - now, 0.0)
        if len(self._recent) >= self.overall_per_s:
            wait = max(wait, 1.0 - (now - self._recent[0]))
        if self.overall_burst is not None and self._tokens < 1.0 - 1e-9:
            # (a hair's tolerance: float sums never loop)
            wait = max(wait, (1.0 - self._tokens) / self.overall_per_s)
        return wait

    async def acquire(self, chat: str) -> None:
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        async with lock:  # one chat's messages wait for the chat's turn, without the others
            while (wait := self._chat_wait(chat, self.clock())) > 0:
                await self.sleep(wait)
            async with self._lock:
                while (wait := self._overall_wait(self.clock())) > 0:
                    await self.sleep(wait)
                now = self.clock()
                self._recent.append(now)
                if self.overall_burst is not None:
                    self._tokens -= 1.0
            self._chats[chat].append(now)
        if len(self._chats) > 10_000:  # forget idle chats
            idle = [
                c
                for c, s in self._chats.items()
                if (not s or now - s[-1] > 60) and not self._chat_locks[c].locked()
            ]
            for key in idle:
                del self._chats[key]
                del self._chat_locks[key]


# "STATUS ...", "/status", "cek status", or a ticket number typed ("ADU-...").
_LOOKUP_TEXT = re.compile(r"^\s*(?:/?status\b|cek\s+status\b|adu-)", re.IGNORECASE)


def is_ticket_lookup(inbound: Inbound) -> bool:
    """A request that looks a ticket up (typed, a command, the menu's button, a ticket's)."""
    if inbound.kind is InboundKind.COMMAND:
        return inbound.command == Command.STATUS
    if inbound.kind is InboundKind.CHOICE:
        return (inbound.choice_id or "").split(":")[0] == "status"
    return inbound.kind is InboundKind.TEXT and bool(_LOOKUP_TEXT.match(inbound.text or ""))


@dataclass(frozen=True, slots=True)
class Limited:
    """An inbound event over a limit: dropped; ``notify`` once per episode."""

    limit: str  # "messages" or "status"
    notify: bool


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False  # the contact was told, and has not been calm since


class _Buckets:
    """Token buckets per contact: ``burst`` at once, refilled at ``per_minute``."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float]) -> None:
        self.burst = burst
        self.per_s = per_minute / 60
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def take(self, key: tuple[str, str]) -> Limited | None:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            while len(self._buckets) > _MAX_CONTACTS:  # forget the least recently seen
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(key)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_s)
        bucket.at = now
        if bucket.tokens >= self.burst:  # calm again (a full bucket): a new episode may start
            bucket.warned = False
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        notify, bucket.warned = not bucket.warned, True
        return Limited("", notify)


_MAX_CONTACTS = 50_000


class ContactLimits:
    """What one contact may send, per process, checked before anything touches the database.

    A burst from one contact beyond ``burst`` messages (then ``per_minute``) is dropped, so it
    cannot delay anybody else's replies; ticket lookups have a tighter bucket of their own
    (``status_burst``, ``status_per_minute``: nobody can enumerate tickets). The first event
    over a limit is answered politely; the rest of that episode (until the contact has been
    calm long enough to refill the whole bucket) are dropped in silence.
    """

    def __init__(
        self,
        *,
        burst: int = 30,
        per_minute: float = 60.0,
        status_burst: int = 5,
        status_per_minute: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._messages = _Buckets(burst, per_minute, clock)
        self._lookups = _Buckets(status_burst, status_per_minute, clock)

    def check(self, inbound: Inbound) -> Limited | None:
        """None when ``inbound`` may go on; else which limit it is over."""
        key = (inbound.channel.value, inbound.contact)
        over = self._messages.take(key)
        if over is not None:
            return Limited("messages", over.notify)
        if is_ticket_lookup(inbound):
            over = self._lookups.take(key)
            if over is not None:
                return Limited("status", over.notify)
        return None
