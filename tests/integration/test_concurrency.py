"""Concurrent inbound events on the real PostgreSQL: none lost, none doubled.

The dispatcher takes the conversation row ``FOR UPDATE``, so events of one contact run one
after another, each seeing the state the previous one committed (DESIGN.md, "Serialise per
conversation"). The Storage's pool has 10 connections; the events below compete for them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from handlers.dispatcher import DispatchResult, Outcome
from storage import Storage, db
from storage.base import keyed_event_id
from storage.models import Contact, Conversation, InboundEvent, OutboxMessage
from tests.support.directory import load_small_directory
from tests.support.dispatcher import PSEUDONYM_SECRET, Bot, Clock, command_in, make_bot, text_in

pytestmark = pytest.mark.postgres

UNIT = "dukcapil-kantor"  # one service type: the questions follow the profile directly
TO_FIRST_QUESTION = ["1", "1", "2", "3", "1"]  # consent, then the four profile items
SKIP_SUGGESTION_AND_SUBMIT = ["1", "1"]
QUESTIONS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")


@pytest_asyncio.fixture
async def second_storage(pg_storage: Storage, pg_url: str) -> AsyncIterator[Storage]:
    """Another engine and pool on the same database, as a second bot process would have."""
    other = Storage(db.create_engine(pg_url, pool_size=10))
    try:
        yield other
    finally:
        await other.dispose()


async def conversation_state(storage: Storage, address: str) -> dict[str, Any] | None:
    async with storage.sessions() as session:
        state = (
            await session.execute(
                select(Conversation.state)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.channel == "console", Contact.address == address)
            )
        ).scalar_one()
    return dict(state) if state is not None else None


async def count(storage: Storage, model: Any) -> int:
    async with storage.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def drive_to_first_question(bot: Bot, contact: str) -> None:
    await bot.dispatcher.handle(command_in(contact, "start", f"u_{UNIT}"))
    for answer in TO_FIRST_QUESTION:
        await bot.dispatcher.handle(text_in(contact, answer))
    state = await conversation_state(bot.storage, contact)
    assert state is not None and state["step"] == "q:U1"


async def finish(bot: Bot, contact: str) -> None:
    for answer in SKIP_SUGGESTION_AND_SUBMIT:
        result = await bot.dispatcher.handle(text_in(contact, answer))
        assert result.outcome is Outcome.PROCESSED


async def test_concurrent_answers_of_one_contact_each_advance_one_question(
    pg_storage: Storage,
) -> None:
    await load_small_directory(pg_storage)
    bot = make_bot(pg_storage)
    await drive_to_first_question(bot, "busy")

    results = await asyncio.gather(
        *(bot.dispatcher.handle(text_in("busy", "4", event_id=f"busy-{i}")) for i in range(9))
    )

    assert [r.outcome for r in results] == [Outcome.PROCESSED] * 9
    state = await conversation_state(pg_storage, "busy")
    assert state is not None
    assert state["step"] == "suggestion"
    assert {code: state["answers"].get(code) for code in QUESTIONS} == dict.fromkeys(QUESTIONS, 4)
    # Each event saw a different question: nine distinct prompts were answered.
    progress = [t.splitlines()[0] for t in bot.sender.texts() if t.startswith("Pertanyaan ")]
    assert sorted(progress) == [f"Pertanyaan {n} dari 9" for n in range(1, 10)]

    await finish(bot, "busy")
    [response] = await pg_storage.responses()
    assert response.scores == dict.fromkeys(QUESTIONS, 4)


async def test_one_event_delivered_five_times_at_once_is_processed_once(
    pg_storage: Storage,
) -> None:
    await load_small_directory(pg_storage)
    bot = make_bot(pg_storage)
    await drive_to_first_question(bot, "echo")
    sent_before = len(bot.sender.sent)
    outbox_before = await count(pg_storage, OutboxMessage)

    results: list[DispatchResult] = await asyncio.gather(
        *(bot.dispatcher.handle(text_in("echo", "3", event_id="same-event")) for _ in range(5))
    )

    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {Outcome.PROCESSED: 1, Outcome.DUPLICATE: 4}
    [processed] = [r for r in results if r.outcome is Outcome.PROCESSED]
    assert processed.outbox_ids
    assert all(r.outbox_ids == () for r in results if r is not processed)
    assert await count(pg_storage, OutboxMessage) == outbox_before + len(processed.outbox_ids)
    assert len(bot.sender.sent) == sent_before + len(processed.outbox_ids)
    async with pg_storage.sessions() as session:
        events = await session.execute(
            select(func.count())
            .select_from(InboundEvent)
            .where(
                InboundEvent.event_id == keyed_event_id(PSEUDONYM_SECRET, "console", "same-event")
            )
        )
        assert events.scalar_one() == 1
    state = await conversation_state(pg_storage, "echo")
    assert state is not None
    assert state["step"] == "q:U2"  # advanced once, not five times
    assert state["answers"]["U1"] == 3 and "U2" not in state["answers"]


async def complete_survey(bot: Bot, contact: str, scores: list[str]) -> None:
    await drive_to_first_question(bot, contact)
    for answer in [*scores, *SKIP_SUGGESTION_AND_SUBMIT]:
        result = await bot.dispatcher.handle(text_in(contact, answer))
        assert result.outcome is Outcome.PROCESSED


async def test_twenty_contacts_complete_surveys_at_once(pg_storage: Storage) -> None:
    await load_small_directory(pg_storage)
    bot = make_bot(pg_storage)
    # A score pattern per contact, so a response can be matched to who gave it.
    patterns = {f"citizen-{n:02d}": [str(1 + (n + i) % 4) for i in range(9)] for n in range(20)}

    await asyncio.gather(*(complete_survey(bot, c, p) for c, p in patterns.items()))

    responses = await pg_storage.responses()
    assert len(responses) == 20
    assert len({r.respondent_key for r in responses}) == 20  # none doubled
    asked = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U9", "U8")
    expected = sorted(
        tuple(sorted({code: int(s) for code, s in zip(asked, p, strict=True)}.items()))
        for p in patterns.values()
    )
    assert sorted(tuple(sorted(r.scores.items())) for r in responses) == expected
    assert all(r.unit_code == UNIT and len(r.scores) == 9 for r in responses)
    thanks = (
        "Terima kasih! Jawaban Bapak/Ibu untuk Kantor Disdukcapil sudah kami terima. "
        "Masukan Bapak/Ibu membantu kami memperbaiki layanan."
    )
    # The thanks opens the message that offers the menu again (issue 14, item 16).
    assert sum(text.startswith(thanks) for text in bot.sender.texts()) == 20
    assert await pg_storage.outbox_counts() == {"sent": await count(pg_storage, OutboxMessage)}


async def test_two_bot_processes_serving_one_contact_lose_no_update(
    pg_storage: Storage, second_storage: Storage
) -> None:
    await load_small_directory(pg_storage)
    clock = Clock()
    first = make_bot(pg_storage, clock=clock)
    second = make_bot(second_storage, clock=clock)
    await drive_to_first_question(first, "shared")

    answers = ["1", "2", "3", "4", "1", "2", "3", "4", "4"]
    bots = [first, second]
    results = await asyncio.gather(
        *(
            bots[i % 2].dispatcher.handle(text_in("shared", a, event_id=f"shared-{i}"))
            for i, a in enumerate(answers)
        )
    )

    assert [r.outcome for r in results] == [Outcome.PROCESSED] * 9
    state = await conversation_state(pg_storage, "shared")
    assert state is not None and state["step"] == "suggestion"
    # Which answer met which question depends on who won each lock; none may be lost.
    recorded = [state["answers"][code] for code in QUESTIONS]
    assert sorted(recorded) == sorted(int(a) for a in answers)
    assert first.sender.sent and second.sender.sent  # both processes served the contact

    await finish(second, "shared")
    [response] = await pg_storage.responses()
    assert sorted(response.scores.values()) == sorted(int(a) for a in answers)
    assert set(response.scores) == set(QUESTIONS)
