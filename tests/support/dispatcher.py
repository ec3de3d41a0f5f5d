"""A dispatcher on a storage with a recording sender and a settable clock; console messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers.dispatcher import DirectoryCache, Dispatcher
from handlers.outbox import OutboxWorker, Sender, SendReceipt
from storage import Storage
from storage.outbox import PendingMessage
from survey_flows.engine import FlowSettings
from survey_flows.types import Channel, Inbound, InboundKind

PSEUDONYM_SECRET = b"test-secret-not-for-production"


# 10:00 WIT on a Wednesday.
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


class RecordingSender:
    """A sender that keeps what it was given, in order."""

    def __init__(self, channel: str = "console") -> None:
        self.channel = channel
        self.sent: list[PendingMessage] = []

    async def send(self, message: PendingMessage) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(platform_message_id=str(len(self.sent)))

    def texts(self) -> list[str]:
        return [str(m.payload.get("text", "")) for m in self.sent if m.kind == "message"]


class Clock:
    """A settable clock for the dispatcher."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Bot:
    """A dispatcher wired to a storage, a recording sender and a fixed clock."""

    storage: Storage
    dispatcher: Dispatcher
    sender: RecordingSender
    clock: Clock


def make_bot(
    storage: Storage,
    *,
    clock: Clock | None = None,
    settings: FlowSettings | None = None,
    sender: RecordingSender | None = None,
) -> Bot:
    clock = clock or Clock()
    sender = sender or RecordingSender()
    senders: dict[str, Sender] = {sender.channel: sender}
    outbox = OutboxWorker(storage, senders, clock)
    dispatcher = Dispatcher(
        storage,
        settings or FlowSettings(),
        PSEUDONYM_SECRET,
        outbox,
        clock=clock,
        directory_cache=DirectoryCache(ttl=timedelta(0)),
    )
    return Bot(storage, dispatcher, sender, clock)


_event_counter = iter(range(1, 10**9))


def text_in(contact: str, body: str, *, event_id: str | None = None, at: datetime = T0) -> Inbound:
    """A console text message from ``contact``."""
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id or f"ev-{next(_event_counter)}",
        kind=InboundKind.TEXT,
        received_at=at,
        text=body,
    )


def command_in(contact: str, command: str, *args: str, event_id: str | None = None) -> Inbound:
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id or f"ev-{next(_event_counter)}",
        kind=InboundKind.COMMAND,
        received_at=T0,
        command=command,
        command_args=args,
    )
