"""The Telegram adapter's pure parts: update parsing, callback data, keyboards, rate limits."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from time import monotonic
from typing import Any

import pytest

from handlers.telegram import (
    MalformedUpdate,
    ParsedUpdate,
    RateLimiter,
    callback_data,
    keyboard,
    menu_commands,
    parse_callback,
    parse_update,
)
from survey_flows.catalog import text
from survey_flows.types import Choice, ChoiceRole, InboundKind, Outbound

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
USER = {"id": 42, "is_bot": False, "first_name": "Budi", "language_code": "id"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Budi"}


def message(**fields: Any) -> dict[str, Any]:
    return {"update_id": 7, "message": {"message_id": 3, "date": 0, "chat": PRIVATE,
                                        "from": USER, **fields}}  # fmt: skip


def parse(data: object) -> Any:
    return parse_update(data, bot_id=1, received_at=NOW)


def test_a_deep_link_becomes_a_start_command() -> None:
    inbound = parse(message(text="/start u_dukcapil-mpp")).inbound
    assert inbound.kind is InboundKind.COMMAND
    assert (inbound.command, inbound.command_args) == ("start", ("u_dukcapil-mpp",))
    assert inbound.contact == "42" and inbound.event_id == "1:m:42:3"


def test_a_command_addressed_to_the_bot_by_name_is_understood() -> None:
    inbound = parse(message(text="/Bantuan@skm_mimika_bot")).inbound
    assert inbound.command == "bantuan"


def test_an_officer_answer_keeps_its_lines_and_the_ticket_needs_no_slash() -> None:
    inbound = parse(message(text="/tanggapi@skm_mimika_bot ADU-7K3M-Q9XP Sudah\n\nbaik")).inbound
    assert (inbound.kind, inbound.command) == (InboundKind.COMMAND, "tanggapi")
    assert inbound.command_text == "ADU-7K3M-Q9XP Sudah\n\nbaik"
    inbound = parse(message(text="JAWAB adu7k3mq9xp Sudah")).inbound
    assert (inbound.command, inbound.command_args) == ("tanggapi", ("adu7k3mq9xp", "Sudah"))


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_command_menu_is_the_vocabularys_citizen_commands(language: str) -> None:
    listed = {c.command: c.description for c in menu_commands(language)}
    survey = "survei" if language == "id" else "survey"
    assert listed[survey] == text(language, "command.survei")
    assert "status" in listed and "tanggapi" not in listed and "ringkasan" not in listed


def test_text_stays_text_and_keeps_its_content() -> None:
    inbound = parse(message(text="Sangat sesuai 👍")).inbound
    assert inbound.kind is InboundKind.TEXT and inbound.text == "Sangat sesuai 👍"


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"sticker": {"file_id": "s", "file_unique_id": "u", "type": "regular", "width": 1,
                      "height": 1, "is_animated": False, "is_video": False}},
         InboundKind.UNSUPPORTED),
        ({"voice": {"file_id": "v", "file_unique_id": "u", "duration": 2}},
         InboundKind.UNSUPPORTED),
        ({"document": {"file_id": "d", "file_unique_id": "u"}}, InboundKind.UNSUPPORTED),
        ({"photo": [{"file_id": "small", "file_unique_id": "a", "width": 9, "height": 9},
                    {"file_id": "big", "file_unique_id": "b", "width": 99, "height": 99}]},
         InboundKind.MEDIA),
        ({"location": {"latitude": -4.55, "longitude": 136.88}}, InboundKind.LOCATION),
    ],
)  # fmt: skip
def test_non_text_messages_are_classified(fields: dict[str, Any], kind: InboundKind) -> None:
    inbound = parse(message(**fields)).inbound
    assert inbound.kind is kind
    if kind is InboundKind.MEDIA:
        assert inbound.media_ref == "big"  # the largest size is kept as the reference
    if kind is InboundKind.LOCATION:
        assert inbound.location == (-4.55, 136.88)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 8, "message": {"message_id": 1, "date": 0, "from": USER, "text": "/start",
                                     "chat": {"id": -5, "type": "group", "title": "Warga"}}},
        {"update_id": 9, "edited_message": message(text="edit")["message"]},
        {"update_id": 10, "channel_post": {"message_id": 1, "date": 0, "text": "x",
                                           "chat": {"id": -100, "type": "channel"}}},
        {"update_id": 11, "message": {**message(text="hi")["message"],
                                      "from": {**USER, "is_bot": True}}},
    ],
    ids=["group", "edited", "channel-post", "from-a-bot"],
)  # fmt: skip
def test_updates_outside_private_chats_are_ignored(update: dict[str, Any]) -> None:
    parsed = parse(update)
    assert parsed.inbound is None and parsed.reason


def callback(data: str) -> dict[str, Any]:
    return {"update_id": 12, "callback_query": {
        "id": "cb1", "from": USER, "chat_instance": "ci", "data": data,
        "message": {"message_id": 99, "date": 0, "chat": PRIVATE, "text": "Q?"}}}  # fmt: skip


def test_a_tap_carries_its_prompt_token_choice_and_message() -> None:
    parsed = parse(callback("v1|12|4"))
    assert parsed.callback_query_id == "cb1"
    inbound = parsed.inbound
    assert inbound.kind is InboundKind.CHOICE
    assert (inbound.prompt_token, inbound.choice_id, inbound.message_ref) == ("12", "4", "99")


@pytest.mark.parametrize("data", ["", "4", "v2|1|4", "v1|1|", "||", "x" * 64])
def test_callback_data_that_is_not_ours_can_never_match_a_prompt(data: str) -> None:
    inbound = parse(callback(data)).inbound
    assert inbound.kind is InboundKind.CHOICE
    assert inbound.prompt_token == "invalid"


def test_a_reply_carries_the_quoted_text_or_caption() -> None:
    def quoting(**replied: Any) -> Any:
        quoted = {"message_id": 2, "date": 0, "chat": PRIVATE, **replied}
        return parse(message(text="selesai", reply_to_message=quoted)).inbound.quoted_text

    assert quoting(text="Aduan T-ABCDEF") == "Aduan T-ABCDEF"
    assert quoting(caption="Aduan T-XYZ", photo=[]) == "Aduan T-XYZ"
    assert quoting(text="", caption="dari caption") == "dari caption"
    assert quoting(text="x" * 5000) == "x" * 4096
    assert quoting(text="") is None and quoting() is None
    assert parse(message(text="selesai")).inbound.quoted_text is None


def test_a_location_is_read_as_floats_and_text_wins_over_media() -> None:
    inbound = parse(message(location={"latitude": -4, "longitude": 136.5})).inbound
    assert inbound.location == (-4.0, 136.5) and isinstance(inbound.location[0], float)
    both = parse(message(text="lihat foto", photo=[{"file_id": "p"}])).inbound
    assert both.kind is InboundKind.TEXT
    assert parse(message(photo=[])).inbound.kind is InboundKind.UNSUPPORTED


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (message(text="hi", chat={"id": 2**63, "type": "private"}), "not a chat id"),
        ({"update_id": 7, "message": {**message(text="hi")["message"], "from": None}},
         "from a bot"),
        ({"update_id": 7, "poll": {"id": "1"}}, "not a new message"),
        ({"update_id": 7, "my_chat_member": "not even an object"}, "not a new message"),
        ({"update_id": 7, "edited_message": None, "message": None}, "not a new message"),
    ],
    ids=["chat-id-beyond-64-bits", "no-sender", "poll", "unread-kind", "nulls"],
)  # fmt: skip
def test_these_updates_are_ignored_with_a_reason(update: dict[str, Any], reason: str) -> None:
    parsed = parse(update)
    assert parsed.inbound is None and parsed.callback_query_id is None
    assert parsed.reason.startswith(reason)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"message": None}, "callback outside a private chat"),
        ({"from": {**USER, "is_bot": True}}, "callback outside a private chat"),
        ({"message": {"message_id": 99, "date": 0, "chat": {"id": -5, "type": "group"}}},
         "callback outside a private chat"),
        ({"message": {"message_id": 99, "date": 0, "chat": {"id": -(2**63), "type": "private"}}},
         "not a chat id"),
    ],
    ids=["no-message", "from-a-bot", "group", "chat-id-beyond-64-bits"],
)  # fmt: skip
def test_an_ignored_tap_is_still_answered(fields: dict[str, Any], reason: str) -> None:
    update = callback("v1|12|4")
    update["callback_query"].update(fields)
    parsed = parse(update)
    # The query id is kept so that the spinner on the citizen's phone stops.
    assert parsed == ParsedUpdate(None, "cb1", reason)


def test_a_tap_on_an_inaccessible_message_is_still_read() -> None:
    update = callback("v1|3|yes")
    update["callback_query"]["message"] = {"message_id": 5, "date": 0, "chat": PRIVATE}
    inbound = parse(update).inbound
    assert (inbound.prompt_token, inbound.choice_id, inbound.message_ref) == ("3", "yes", "5")


def without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    """A copy of ``data`` with the field at ``path`` removed."""
    copy = json.loads(json.dumps(data))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return copy


def replaced(data: dict[str, Any], value: object, *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(data))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return copy


TEXT = message(text="hi")
TAP = callback("v1|12|4")
REPLY = message(text="ok", reply_to_message={"message_id": 2, "date": 0, "chat": PRIVATE})


@pytest.mark.parametrize(
    "body",
    [
        [],
        None,
        "update",
        without(TEXT, "update_id"),
        replaced(TEXT, "7", "update_id"),
        replaced(TEXT, True, "update_id"),
        replaced(TEXT, 7.0, "update_id"),
        replaced(TEXT, ["x"], "message"),
        without(TEXT, "message", "chat"),
        without(TEXT, "message", "message_id"),
        without(TEXT, "message", "date"),
        replaced(TEXT, "42", "message", "chat", "id"),
        replaced(TEXT, True, "message", "chat", "id"),
        replaced(TEXT, 42.0, "message", "chat", "id"),
        without(TEXT, "message", "chat", "type"),
        replaced(TEXT, 1, "message", "chat", "type"),
        replaced(TEXT, "Budi", "message", "from"),
        replaced(TEXT, "false", "message", "from", "is_bot"),
        without(TEXT, "message", "from", "id"),
        without(TEXT, "message", "from", "first_name"),
        replaced(TEXT, 5, "message", "text"),
        replaced(TEXT, {"text": "hi"}, "message", "text"),
        replaced(REPLY, 3, "message", "reply_to_message", "text"),
        replaced(REPLY, "Aduan", "message", "reply_to_message"),
        without(REPLY, "message", "reply_to_message", "chat"),
        message(location={"latitude": -4.5}),
        message(location={"latitude": "-4.5", "longitude": 136.8}),
        message(location={"latitude": True, "longitude": 136.8}),
        message(location={"latitude": 10**400, "longitude": 136.8}),
        message(location=[1, 2]),
        message(photo={"file_id": "p"}),
        message(photo=[{"file_id": "small"}, {"width": 9}]),
        message(photo=[{"file_id": 5}]),
        message(photo=["p"]),
        replaced(TAP, "cb", "callback_query"),
        without(TAP, "callback_query", "id"),
        replaced(TAP, 1, "callback_query", "id"),
        without(TAP, "callback_query", "from"),
        without(TAP, "callback_query", "chat_instance"),
        replaced(TAP, None, "callback_query", "from"),
        replaced(TAP, 4, "callback_query", "data"),
        replaced(TAP, "99", "callback_query", "message", "message_id"),
        without(TAP, "callback_query", "message", "chat"),
        replaced(TAP, {"id": "42", "type": "private"}, "callback_query", "message", "chat"),
    ],
)
def test_a_malformed_update_is_refused_whole(body: object) -> None:
    with pytest.raises(MalformedUpdate) as refused:
        parse(body)
    assert "42" not in str(refused.value)  # it is logged: it names the field, not the value


def test_callback_data_round_trips_and_fits_64_bytes() -> None:
    data = callback_data("123", "u:dukcapil-kantor")
    assert parse_callback(data) == ("123", "u:dukcapil-kantor")
    assert len(data.encode()) <= 64
    with pytest.raises(ValueError):
        callback_data("1", "x" * 70)


def test_keyboard_puts_each_answer_on_its_own_row_and_navigation_last() -> None:
    outbound = Outbound(
        "Q?",
        (
            Choice("1", "Tidak sesuai"),
            Choice("2", "Sesuai"),
            Choice("back", "« Kembali", ChoiceRole.NAV),
            Choice("cancel", "Batal", ChoiceRole.NAV),
        ),
        prompt_token="5",
    )
    markup = keyboard(outbound)
    assert markup is not None
    rows = [[(b["text"], b["callback_data"]) for b in row] for row in markup["inline_keyboard"]]
    assert rows == [
        [("Tidak sesuai", "v1|5|1")],
        [("Sesuai", "v1|5|2")],
        [("« Kembali", "v1|5|back"), ("Batal", "v1|5|cancel")],
    ]
    assert keyboard(Outbound("plain")) is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_one_chat_gets_a_short_burst_then_one_message_per_second() -> None:
    time = FakeTime()
    limiter = RateLimiter(per_chat_interval_s=1.0, per_chat_burst=3, clock=time.clock,
                          sleep=time.sleep)  # fmt: skip
    for _ in range(5):
        await limiter.acquire("42")
    # Three at once, then each further message waits its turn.
    assert time.now == pytest.approx(3.0)
    await limiter.acquire("43")  # another chat is not held back by the first
    assert time.now == pytest.approx(3.0)


async def test_the_overall_rate_is_capped() -> None:
    time = FakeTime()
    limiter = RateLimiter(overall_per_s=10, clock=time.clock, sleep=time.sleep)
    for chat in range(25):
        await limiter.acquire(str(chat))
    assert 1.9 <= time.now <= 2.1  # 25 messages at 10/s: two full seconds of waiting


async def test_retry_after_pauses_every_send() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    limiter.pause(7)
    await limiter.acquire("1")
    assert time.now == pytest.approx(7.0)


async def test_a_chat_waiting_for_its_turn_does_not_hold_up_the_others() -> None:
    limiter = RateLimiter(per_chat_interval_s=0.3, per_chat_burst=1)  # the real clock
    await limiter.acquire("42")
    waiting = asyncio.create_task(limiter.acquire("42"))  # its turn comes in 0.3 s
    await asyncio.sleep(0.01)
    started = monotonic()
    await limiter.acquire("43")
    assert monotonic() - started < 0.1, "another chat went out at once"
    assert not waiting.done()
    await waiting


async def test_an_overall_burst_spreads_sends_evenly() -> None:
    time = FakeTime()
    limiter = RateLimiter(overall_per_s=10, overall_burst=2, clock=time.clock, sleep=time.sleep)
    stamps = []
    for chat in range(12):
        await limiter.acquire(str(chat))
        stamps.append(time.now)
    assert stamps[:2] == [0.0, 0.0]  # a pair at once (a reply and its edit) ...
    # ... but never three within 1/10 s: no second's allowance at once.
    assert all(c - a >= 0.1 - 1e-6 for a, c in zip(stamps, stamps[2:], strict=False))
    assert all(sum(a <= t < a + 1.0 for t in stamps) <= 10 for a in stamps)  # 10/s holds


def test_a_restarted_update_id_does_not_collide_with_an_old_event() -> None:
    """Telegram restarts update_id at random after a week without updates: an old id that
    comes back with another message is another event; the same message is the same one."""
    old = parse(message(text="halo")).inbound
    restarted = parse({**message(text="halo"), "message": {**message()["message"],
                       "message_id": 4, "text": "lagi"}}).inbound  # fmt: skip
    assert old.event_id != restarted.event_id  # same update_id 7, another message
    redelivered = parse({**message(text="halo"), "update_id": 99}).inbound
    assert redelivered.event_id == old.event_id  # the same message keeps its key
    tap, tap_again = parse(callback("v1|12|4")), parse({**callback("v1|12|4"), "update_id": 7})
    assert tap.inbound.event_id == tap_again.inbound.event_id == "1:q:cb1"
    other_chat = {**message()["message"], "chat": {**PRIVATE, "id": 43}, "text": "x"}
    assert parse({"update_id": 7, "message": other_chat}).inbound.event_id != old.event_id
