"""The outbox after an outage: the first success makes the backed-off retries due at once.

A fake sender fails while "down"; the clock is fixed, so a backed-off message can only become
due again through :meth:`Storage.retry_now`, never by its backoff running out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from handlers.outbox import OUTAGE_MIN, OutboxWorker, SendReceipt, TransientSendError
from storage import Storage
from storage.models import OutboxMessage
from storage.outbox import PendingMessage
from tests.support.dispatcher import T0, Clock

CHANNEL = "console"


class FlakySender:
    """Sends, or fails with a TransientSendError while down (with ``retry_after_s`` as set)."""

    channel = CHANNEL

    def __init__(self) -> None:
        self.down = False
        self.retry_after_s: float | None = None
        self.only: str | None = None  # when set, only sends to this address fail
        self.tried: list[int] = []
        self.sent: list[int] = []
        # While set, a send waits for it to open before failing or succeeding.
        self.gate: asyncio.Event | None = None
        self.delay_s = 0.0  # how long a send takes

    async def send(self, message: PendingMessage) -> SendReceipt:
        self.tried.append(message.id)
        down, retry_after_s = self.down, self.retry_after_s  # as when the request went out
        if self.gate is not None:
            await self.gate.wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if down and self.only in (None, message.address):
            raise TransientSendError("network: Bad Gateway", retry_after_s)
        self.sent.append(message.id)
        return SendReceipt(f"p{message.id}")


async def queue(storage: Storage, address: str, *texts: str, now: datetime = T0) -> list[int]:
    async with storage.transaction() as tx:
        contact = await tx.contact_for(CHANNEL, address, "id", T0)
        queued = await tx.enqueue(
            channel=CHANNEL,
            messages=[("message", {"text": text}) for text in texts],
            dedupe_prefix=f"{address}:{texts[0]}",
            now=now,
            contact_id=contact.id,
        )
    return [message.id for message in queued]


async def due_at(storage: Storage) -> dict[int, tuple[str, datetime]]:
    """(status, next attempt) of every row, by id."""
    async with storage.sessions() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    return {row.id: (row.status, row.next_attempt_at) for row in rows}


async def eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await condition():
            await asyncio.sleep(0.02)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def sender() -> FlakySender:
    return FlakySender()


@pytest.fixture
def recoveries(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each call of ``retry_now`` made due."""
    calls: list[int] = []
    original = storage.retry_now

    async def counted(channel: str, now: datetime) -> int:
        count = await original(channel, now)
        calls.append(count)
        return count

    monkeypatch.setattr(storage, "retry_now", counted)
    return calls


@pytest.fixture
def worker(storage: Storage, sender: FlakySender, clock: Clock) -> OutboxWorker:
    return OutboxWorker(storage, {CHANNEL: sender}, clock)


async def test_backed_off_messages_go_out_right_after_the_first_success(
    storage: Storage,
    worker: OutboxWorker,
    sender: FlakySender,
    clock: Clock,
    recoveries: list[int],
) -> None:
    a1, a2 = await queue(storage, "citizen-a", "a1", "a2")
    [b1] = await queue(storage, "citizen-b", "b1")
    sender.down = True
    for wait_s in (2, 4, 0):  # three attempts, each when due: now backed off for 8 s
        assert await worker.deliver(CHANNEL) == 0
        clock.advance(timedelta(seconds=wait_s))
    # Only the first message of each failed batch was tried: an outage stops the batch.
    assert sender.tried == [a1, a1, a1]
    rows = await due_at(storage)
    assert all(status == "pending" and at > clock.now for status, at in rows.values())

    # The sweeper, with an interval far longer than the test: only a wake() makes it sweep.
    sweeper = asyncio.create_task(worker.run(interval_s=600))
    try:
        await asyncio.sleep(0.2)  # its first sweep finds nothing due
        assert sender.tried == [a1, a1, a1]

        sender.down = False
        [c1] = await queue(storage, "citizen-c", "c1", now=clock.now)
        # The platform is back: a new reply goes out, as the dispatcher sends it.
        assert await worker.deliver(CHANNEL, ids=[c1]) == 1
        # ... and the messages it had delayed follow at once, in their order, at the same
        # (fixed) clock time: neither their backoff nor the sweeper's interval was waited out.
        await eventually(lambda: _sent_all(storage, {a1, a2, b1, c1}))
        assert sender.sent == [c1, a1, a2, b1]
        assert recoveries == [3]

        # Later successes cost nothing: no further retry_now.
        [d1] = await queue(storage, "citizen-d", "d1", now=clock.now)
        assert await worker.deliver(CHANNEL, ids=[d1]) == 1
        assert recoveries == [3]
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


async def _sent_all(storage: Storage, ids: set[int]) -> bool:
    rows = await due_at(storage)
    return all(rows[i][0] == "sent" for i in ids)


async def test_only_the_first_of_concurrent_successes_recovers(
    storage: Storage,
    worker: OutboxWorker,
    sender: FlakySender,
    clock: Clock,
    recoveries: list[int],
) -> None:
    [a1] = await queue(storage, "citizen-a", "a1")
    sender.down = True
    assert await worker.deliver(CHANNEL) == 0
    clock.advance(OUTAGE_MIN)
    sender.down = False
    replies = [await queue(storage, f"citizen-{n}", "x", now=clock.now) for n in range(5)]
    # Five replies sent at once, as the dispatcher's background tasks send them.
    sent = await asyncio.gather(*(worker.deliver(CHANNEL, ids=ids) for ids in replies))
    assert sent == [1] * 5
    assert len(recoveries) == 1
    assert await worker.deliver(CHANNEL) == 1
    assert sender.sent[-1] == a1


async def test_one_message_that_keeps_failing_is_backed_off_in_a_busy_channel(
    storage: Storage,
    worker: OutboxWorker,
    sender: FlakySender,
    clock: Clock,
    recoveries: list[int],
) -> None:
    """Failures followed at once by other chats' successes are no outage: no recovery, and
    the failing message keeps its growing backoff instead of being retried after each success."""
    [a1] = await queue(storage, "citizen-a", "a1")
    sender.down, sender.only = True, "citizen-a"
    waits = []
    for n in range(4):
        assert await worker.deliver(CHANNEL, ids=[a1]) == 0
        [other] = await queue(storage, f"citizen-{n}", "x", now=clock.now)
        assert await worker.deliver(CHANNEL, ids=[other]) == 1
        status, at = (await due_at(storage))[a1]
        assert status == "pending"
        waits.append((at - clock.now).total_seconds())
        clock.now = at
    assert waits == [2, 4, 8, 16]
    assert recoveries == []


async def test_the_backoff_cap_and_the_outage_length_are_the_workers_settings(
    storage: Storage, sender: FlakySender, clock: Clock, recoveries: list[int]
) -> None:
    """OUTBOX_BACKOFF_CAP_S and OUTBOX_OUTAGE_MIN_S (the fault tests run an outage in
    seconds with them): the backoff stops growing at the cap, and an outage as long as the
    configured minimum already ends with a recovery."""
    worker = OutboxWorker(
        storage,
        {CHANNEL: sender},
        clock,
        backoff_cap=timedelta(seconds=3),
        outage_min=timedelta(seconds=1),
    )
    [a1] = await queue(storage, "citizen-a", "a1")
    sender.down = True
    waits = []
    for _ in range(4):
        assert await worker.deliver(CHANNEL) == 0
        status, at = (await due_at(storage))[a1]
        waits.append((at - clock.now).total_seconds())
        clock.now = at
    assert waits == [2, 3, 3, 3]
    sender.down = False
    [b1] = await queue(storage, "citizen-b", "b1", now=clock.now)
    assert await worker.deliver(CHANNEL, ids=[b1]) == 1
    assert recoveries == [0], "an outage of 11 s against a minimum of 1 s: recovered"


async def test_a_flood_control_wait_is_honoured_and_triggers_no_recovery(
    storage: Storage,
    worker: OutboxWorker,
    sender: FlakySender,
    clock: Clock,
    recoveries: list[int],
) -> None:
    a1, a2 = await queue(storage, "citizen-a", "a1", "a2")
    [b1] = await queue(storage, "citizen-b", "b1")
    sender.down, sender.retry_after_s = True, 30.0
    claimed = await storage.claim_outbox(CHANNEL, clock.now, ids=[a1, a2])
    assert await worker.send_claimed(CHANNEL, claimed) == 0
    sender.down, sender.retry_after_s = False, None
    assert await worker.deliver(CHANNEL, ids=[b1]) == 1

    assert recoveries == []
    rows = await due_at(storage)
    wait = T0 + timedelta(seconds=30)
    assert rows[a1] == ("pending", wait) and rows[a2] == ("pending", wait)
    assert await worker.deliver(CHANNEL) == 0
    clock.now = wait
    assert await worker.deliver(CHANNEL) == 2
    assert sender.sent == [b1, a1, a2]


async def test_a_flood_control_wait_holds_back_only_its_own_chat(
    storage: Storage, worker: OutboxWorker, sender: FlakySender
) -> None:
    a1, a2 = await queue(storage, "citizen-a", "a1", "a2")
    [b1] = await queue(storage, "citizen-b", "b1")
    sender.down, sender.retry_after_s, sender.only = True, 30.0, "citizen-a"
    # a1 hits the flood wait; a2 waits behind it; b1, another chat, goes out in the same pass.
    assert await worker.deliver(CHANNEL) == 1
    assert sender.tried == [a1, b1] and sender.sent == [b1]
    rows = await due_at(storage)
    assert rows[a1] == rows[a2] == ("pending", T0 + timedelta(seconds=30))


async def _tried(sender: FlakySender, count: int) -> bool:
    return len(sender.tried) >= count


async def test_a_send_lost_as_the_outage_ends_is_retried_at_once(
    storage: Storage,
    worker: OutboxWorker,
    sender: FlakySender,
    clock: Clock,
    recoveries: list[int],
) -> None:
    """A request that went out during the outage fails only after the platform came back (a
    timeout that ends after another send succeeded): it is not backed off."""
    [a1] = await queue(storage, "citizen-a", "a1")
    sender.down = True
    assert await worker.deliver(CHANNEL) == 0  # the outage begins
    clock.advance(OUTAGE_MIN + timedelta(seconds=1))  # a1's 2 s backoff is over
    gate = asyncio.Event()
    sender.gate = gate
    lost = asyncio.create_task(worker.deliver(CHANNEL))
    await eventually(lambda: _tried(sender, 2))
    sender.down, sender.gate = False, None
    [b1] = await queue(storage, "citizen-b", "b1", now=clock.now)
    assert await worker.deliver(CHANNEL, ids=[b1]) == 1
    assert len(recoveries) == 1  # the outage is over
    gate.set()  # the lost request fails now, after b1's success
    assert await lost == 0
    assert (await due_at(storage))[a1] == ("pending", clock.now)
    assert await worker.deliver(CHANNEL) == 1
    assert sender.sent == [b1, a1]


async def test_a_send_still_waiting_when_its_lease_nears_its_end_is_given_up(
    storage: Storage, sender: FlakySender, clock: Clock
) -> None:
    """Past the lease the row may be claimed again (by the sweeper, or another process): a
    send still waiting then would go out twice. It is given up first, as a failure."""
    # Given up at 3/4 of the lease; the last quarter (0.25 s) is the margin for the claim and
    # the bookkeeping, which a machine busy with parallel tests needs (0.1 s was too short).
    worker = OutboxWorker(storage, {CHANNEL: sender}, clock, lease=timedelta(seconds=1))
    [a1, a2] = await queue(storage, "citizen-a", "a1", "a2")
    sender.gate = asyncio.Event()  # the API never answers
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(worker.deliver(CHANNEL), timeout=5) == 0
    assert loop.time() - started < 1.0, "given up within the lease"
    assert sender.tried == [a1] and sender.sent == []
    async with storage.sessions() as session:
        rows = {r.id: r for r in (await session.execute(select(OutboxMessage))).scalars()}
    assert rows[a1].status == "pending" and rows[a1].last_error == "no answer within the lease"
    assert rows[a2].status == "pending", "the next message waits behind it"


async def test_no_send_starts_in_the_last_half_of_the_lease(
    storage: Storage, sender: FlakySender, clock: Clock
) -> None:
    """A send cut at the deadline may already have reached the platform (then its retry is a
    double): so a batch starts no send past half the lease; the rest go back, due at once, in
    order, and nothing is cut mid-flight."""
    worker = OutboxWorker(storage, {CHANNEL: sender}, clock, lease=timedelta(seconds=2))
    ids = await queue(storage, "citizen-b", "b1", "b2", "b3")
    sender.delay_s = 1.05  # past half the lease (1 s), well before its 3/4 deadline (1.5 s)
    assert await worker.deliver(CHANNEL) == 1
    assert sender.sent == ids[:1] and sender.tried == ids[:1], "b1 went out, whole"
    async with storage.sessions() as session:
        rows = {r.id: r for r in (await session.execute(select(OutboxMessage))).scalars()}
    for later in ids[1:]:
        assert rows[later].status == "pending"
        assert rows[later].next_attempt_at <= clock(), "due again at once, not backed off"
    sender.delay_s = 0.0
    assert await worker.deliver(CHANNEL) == 2
    assert sender.sent == ids, "in order"
