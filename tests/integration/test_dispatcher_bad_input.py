"""Bad input through the dispatcher: a polite re-prompt, and no write but the inbound record.

"Invalid input re-asks the same step with an error key; it never raises to the user"
(STYLE.md habit 3) and "anything else gets a polite re-prompt, never a write" (DESIGN.md).
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.dispatcher import Outcome
from storage import Storage
from storage.base import keyed_event_id
from storage.models import (
    Contact,
    Conversation,
    InboundEvent,
    OutboxMessage,
    ResponseScore,
    SurveyResponse,
)
from survey_flows.catalog import text
from survey_flows.types import Channel, Inbound, InboundKind
from tests.support.directory import load_small_directory
from tests.support.dispatcher import PSEUDONYM_SECRET, T0, Bot, command_in, make_bot, text_in

UNIT = "dukcapil-kantor"  # one service type: the questions follow the profile directly
TO_FIRST_QUESTION = ["1", "1", "2", "3", "1"]  # consent, then the four profile items
FIRST_QUESTION = "Pertanyaan 1 dari 9"


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused input must leave alone, plus the counts it may grow."""

    state: dict[str, Any] | None
    updated_at: datetime
    expires_at: datetime | None
    consent: tuple[datetime | None, str | None, str]
    responses: int
    scores: int
    inbound_events: int
    outbox_rows: int


async def _count(storage: Storage, model: Any) -> int:
    async with storage.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def snapshot(storage: Storage, address: str) -> Snapshot:
    async with storage.sessions() as session:
        contact = (
            await session.execute(
                select(Contact).where(Contact.channel == "console", Contact.address == address)
            )
        ).scalar_one()
        conversation = (
            await session.execute(select(Conversation).where(Conversation.contact_id == contact.id))
        ).scalar_one()
    return Snapshot(
        state=conversation.state,
        updated_at=conversation.updated_at,
        expires_at=conversation.expires_at,
        consent=(contact.consent_at, contact.consent_version, contact.language),
        responses=await _count(storage, SurveyResponse),
        scores=await _count(storage, ResponseScore),
        inbound_events=await _count(storage, InboundEvent),
        outbox_rows=await _count(storage, OutboxMessage),
    )


def keyed(event_id: str) -> str:
    """The event id as outbox keys carry it: its keyed hash (docs/privacy.md)."""
    return keyed_event_id(PSEUDONYM_SECRET, "console", event_id)


async def outbox_rows_for(storage: Storage, event_id: str) -> int:
    async with storage.sessions() as session:
        query = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"in:console:{keyed(event_id)}:%"))
        )
        return int((await session.execute(query)).scalar_one())


async def at_first_question(storage: Storage, contact: str) -> Bot:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in(contact, "start", f"u_{UNIT}"))
    for answer in TO_FIRST_QUESTION:
        result = await bot.dispatcher.handle(text_in(contact, answer))
        assert result.outcome is Outcome.PROCESSED
    before = await snapshot(storage, contact)
    assert before.state is not None and before.state["step"] == "q:U1"
    assert before.consent[0] is not None
    assert FIRST_QUESTION in bot.sender.texts()[-1]
    return bot


def unsupported_in(contact: str, event_id: str) -> Inbound:
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id,
        kind=InboundKind.UNSUPPORTED,
        received_at=T0,
    )


def choice_in(contact: str, event_id: str, choice_id: str, token: str | None) -> Inbound:
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id,
        kind=InboundKind.CHOICE,
        received_at=T0,
        choice_id=choice_id,
        prompt_token=token,
    )


BAD_TEXTS = [
    pytest.param("pelayanannya lumayan bagus", "error.choose", id="free-text"),
    pytest.param("9", "error.choose", id="out-of-range-number"),
    pytest.param("0", "error.choose", id="zero"),
    pytest.param("-1", "error.choose", id="negative"),
    pytest.param("", "error.empty", id="empty"),
    pytest.param("   ", "error.empty", id="blank"),
    pytest.param("a" * 10_000, "error.too_long", id="10k-chars"),
    pytest.param("4" * 10_000, "error.too_long", id="10k-digits"),
    pytest.param("x" * 50_000, "error.too_long", id="50k-chars"),
    pytest.param("\x00\x01\x07\x1b\x7f\u200b\u202e\u2060", "error.empty", id="control-chars"),
    pytest.param("\t\r\n \n", "error.empty", id="whitespace-controls"),
    pytest.param("\ud800", "error.empty", id="lone-surrogate"),
]


async def assert_refused_without_writes(
    bot: Bot, contact: str, inbound: Inbound, error_key: str
) -> None:
    storage = bot.storage
    before = await snapshot(storage, contact)
    sent_before = len(bot.sender.sent)
    bot.clock.advance(timedelta(minutes=1))  # an update would move updated_at

    result = await bot.dispatcher.handle(inbound)

    assert result.outcome is Outcome.REJECTED
    new_texts = [str(m.payload.get("text", "")) for m in bot.sender.sent[sent_before:]]
    expected = {text("id", error_key)}
    if error_key == "error.choose":  # the re-prompt names the valid range ("ketik angka 1–4")
        expected |= {text("id", "error.choose.range", n=n) for n in range(2, 11)}
    assert new_texts[0] in expected
    assert new_texts[0].startswith(("Maaf", "Tombol"))
    assert FIRST_QUESTION in new_texts[-1]  # the same question, asked again
    after = await snapshot(storage, contact)
    assert (after.state, after.updated_at, after.expires_at) == (
        before.state,
        before.updated_at,
        before.expires_at,
    )
    assert after.consent == before.consent
    assert (after.responses, after.scores) == (before.responses, before.scores) == (0, 0)
    assert after.inbound_events == before.inbound_events + 1
    replies = await outbox_rows_for(storage, inbound.event_id)
    assert replies == len(new_texts) == len(result.outbox_ids)
    assert after.outbox_rows == before.outbox_rows + replies


@pytest.mark.parametrize(("body", "error_key"), BAD_TEXTS)
async def test_bad_text_at_a_question_is_reprompted_without_writes(
    storage: Storage, body: str, error_key: str
) -> None:
    bot = await at_first_question(storage, "bad-text")
    inbound = text_in("bad-text", body, event_id="bad-1")
    await assert_refused_without_writes(bot, "bad-text", inbound, error_key)


async def test_unsupported_inbound_is_reprompted_without_writes(storage: Storage) -> None:
    bot = await at_first_question(storage, "sticker")
    inbound = unsupported_in("sticker", "sticker-1")
    await assert_refused_without_writes(bot, "sticker", inbound, "error.unsupported")


async def test_forged_and_stale_buttons_are_reprompted_without_writes(storage: Storage) -> None:
    bot = await at_first_question(storage, "forger")
    state = (await snapshot(storage, "forger")).state
    assert state is not None
    token = str(state["seq"])
    await assert_refused_without_writes(
        bot, "forger", choice_in("forger", "cb-1", "5", token), "error.choose"
    )
    await assert_refused_without_writes(
        bot, "forger", choice_in("forger", "cb-2", "u:dishub-kir", token), "error.choose"
    )
    await assert_refused_without_writes(
        bot, "forger", choice_in("forger", "cb-3", "4", str(int(token) - 1)), "error.stale"
    )


async def test_several_bad_inputs_in_a_row_leave_the_survey_where_it_was(
    storage: Storage,
) -> None:
    bot = await at_first_question(storage, "persistent")
    for index, body in enumerate(["?", "lima", "", "9", "🙂"]):
        inbound = text_in("persistent", body, event_id=f"p-{index}")
        await assert_refused_without_writes(
            bot, "persistent", inbound, "error.empty" if body == "" else "error.choose"
        )
    # The survey still works afterwards: a valid answer moves on.
    result = await bot.dispatcher.handle(text_in("persistent", "4"))
    assert result.outcome is Outcome.PROCESSED
    state = (await snapshot(storage, "persistent")).state
    assert state is not None
    assert state["step"] == "q:U2" and state["answers"]["U1"] == 4


async def test_a_redelivered_event_gets_no_second_reply(storage: Storage) -> None:
    bot = await at_first_question(storage, "redeliver")
    first = await bot.dispatcher.handle(text_in("redeliver", "4", event_id="dup-1"))
    assert first.outcome is Outcome.PROCESSED
    before = await snapshot(storage, "redeliver")
    sent_before = len(bot.sender.sent)
    bot.clock.advance(timedelta(seconds=5))

    again = await bot.dispatcher.handle(text_in("redeliver", "4", event_id="dup-1"))

    assert again.outcome is Outcome.DUPLICATE and again.outbox_ids == ()
    assert len(bot.sender.sent) == sent_before
    assert await snapshot(storage, "redeliver") == before
    assert before.state is not None and before.state["step"] == "q:U2"


async def test_a_redelivered_bad_input_gets_no_second_reprompt(storage: Storage) -> None:
    bot = await at_first_question(storage, "redeliver-bad")
    inbound = text_in("redeliver-bad", "9", event_id="dup-bad")
    await assert_refused_without_writes(bot, "redeliver-bad", inbound, "error.choose")
    before = await snapshot(storage, "redeliver-bad")
    sent_before = len(bot.sender.sent)

    again = await bot.dispatcher.handle(inbound)

    assert again.outcome is Outcome.DUPLICATE
    assert len(bot.sender.sent) == sent_before
    assert await snapshot(storage, "redeliver-bad") == before


async def test_an_unknown_unit_code_gets_a_kind_message_and_no_survey(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)

    result = await bot.dispatcher.handle(command_in("lost", "start", "u_nope", event_id="lost-1"))

    assert result.outcome is Outcome.REJECTED
    texts = bot.sender.texts()
    assert texts[0] == text("id", "unit.unknown", code="nope")
    assert texts[-1] == text("id", "opd.prompt")  # offered the list instead
    after = await snapshot(storage, "lost")
    assert after.consent == (None, None, "id")
    assert (after.responses, after.scores, after.inbound_events) == (0, 0, 1)
    assert after.outbox_rows == await outbox_rows_for(storage, "lost-1") == len(texts)
    assert after.state is not None
    assert after.state["unit"] is None and after.state["answers"] == {}
    assert after.state["step"] == "opd"


async def test_unknown_and_closed_units_by_whatsapp_style_text(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(text_in("typo", "SKM nope-nope"))
    await bot.dispatcher.handle(text_in("typo", "skm dishub-kir"))  # its OPD is inactive
    texts = bot.sender.texts()
    assert text("id", "unit.unknown", code="nope-nope") in texts
    assert text("id", "unit.closed", unit="Uji KIR") in texts
    after = await snapshot(storage, "typo")
    assert after.consent == (None, None, "id")
    assert (after.responses, after.scores) == (0, 0)
    assert after.state is not None and after.state["unit"] is None


async def test_a_long_platform_event_id_is_processed_once(storage: Storage) -> None:
    """Event ids are the platform's; one near the column's 200 characters must still work.

    The outbox dedupe key is built from the event id, so it must fit too (it did on SQLite,
    which ignores VARCHAR lengths, and failed on PostgreSQL).
    """
    bot = await at_first_question(storage, "long-id")
    event_id = "wamid." + "HBgLNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA" * 5 + "x" * 14
    assert len(event_id) == 195

    first = await bot.dispatcher.handle(text_in("long-id", "4", event_id=event_id))
    again = await bot.dispatcher.handle(text_in("long-id", "4", event_id=event_id))

    assert (first.outcome, again.outcome) == (Outcome.PROCESSED, Outcome.DUPLICATE)
    state = (await snapshot(storage, "long-id")).state
    assert state is not None and state["step"] == "q:U2"


async def test_a_lone_surrogate_in_a_suggestion_never_raises(storage: Storage) -> None:
    """Text that is not valid Unicode (a lone UTF-16 surrogate from a JSON payload) is bad
    input like any other: the citizen gets an answer and the database a storable value."""
    bot = await at_first_question(storage, "surrogate")
    for _ in range(9):
        await bot.dispatcher.handle(text_in("surrogate", "4"))
    state = (await snapshot(storage, "surrogate")).state
    assert state is not None and state["step"] == "suggestion"
    sent_before = len(bot.sender.sent)

    result = await bot.dispatcher.handle(text_in("surrogate", "bagus \ud800 sekali"))

    assert result.outcome in {Outcome.PROCESSED, Outcome.REJECTED}
    assert len(bot.sender.sent) > sent_before
    state = (await snapshot(storage, "surrogate")).state
    assert state is not None
    suggestion = state["answers"].get("suggestion") or ""
    suggestion.encode("utf-8")  # storable and sendable
