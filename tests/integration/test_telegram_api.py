"""The plain JSON Bot API client against the fake Bot API, beside PTB for the same answers.

Replies and taps go through :class:`BotApi` instead of python-telegram-bot; what it raises must
be what PTB raised, because the outbox's error translation (and the poller's conflict check)
depend on it. Each failure is therefore provoked twice, once for each client.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from handlers.outbox import PermanentSendError, SendReceipt, TransientSendError
from handlers.telegram import (
    MalformedUpdate,
    RateLimiter,
    TelegramConflict,
    TelegramPoller,
    TelegramSender,
    TelegramUpdates,
    make_bot,
)
from handlers.telegram_api import AiohttpRequest, BotApi, api_error
from storage.outbox import PendingMessage
from survey_flows.types import Choice, ChoiceRole, Inbound, InboundKind, Outbound
from tests.support.fakes.telegram_api import FakeTelegramApi

TOKEN = "123:ABC"
CHAT = 42
KEYBOARD = {"inline_keyboard": [[{"text": "Sesuai", "callback_data": "v1|3|2"}]]}

# PTB 22 warns when RetryAfter.retry_after is read that it becomes a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN) as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
async def bot(api: FakeTelegramApi) -> AsyncIterator[Bot]:
    async with make_bot(TOKEN, api.base_url) as made:
        yield made


def seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_tap_s_three_calls_reach_the_api_and_only_the_message_id_is_read(
    api: FakeTelegramApi, bot: Bot
) -> None:
    client = BotApi.of(bot)
    assert client.method_url("sendMessage") == api.method_url("sendMessage")

    message_id = await client.send_message(CHAT, "Bagaimana pelayanannya?", KEYBOARD)
    sent = api.last_sent(CHAT)
    assert sent is not None and sent["message_id"] == message_id
    assert sent["text"] == "Bagaimana pelayanannya?" and sent["reply_markup"] == KEYBOARD
    assert api.calls_to("sendMessage")[-1].params["chat_id"] == CHAT

    await client.edit_message_text(CHAT, message_id, "Bagaimana pelayanannya?\n\nSesuai")
    edited = api.last_sent(CHAT)
    assert edited is not None and edited["text"].endswith("Sesuai")
    assert "reply_markup" not in edited  # the keyboard is gone

    query = api.make_callback_update(CHAT, message_id, "v1|3|2")["callback_query"]
    await client.answer_callback_query(query["id"])
    assert api.answered_callbacks[query["id"]] == {"callback_query_id": query["id"]}


FAILURES = [
    (400, None, BadRequest),
    (401, None, InvalidToken),
    (403, None, Forbidden),
    (404, None, InvalidToken),
    (409, None, Conflict),
    (429, 7, RetryAfter),
    (500, None, NetworkError),
    (502, None, NetworkError),
    (503, None, NetworkError),
    (418, None, NetworkError),
]


@pytest.mark.parametrize(("status", "retry_after", "expected"), FAILURES)
async def test_an_error_answer_raises_what_ptb_raises(
    api: FakeTelegramApi,
    bot: Bot,
    status: int,
    retry_after: int | None,
    expected: type[TelegramError],
) -> None:
    client = BotApi.of(bot)
    api.fail_next("sendMessage", status, retry_after=retry_after)
    with pytest.raises(TelegramError) as ours:
        await client.send_message(CHAT, "x")
    api.fail_next("sendMessage", status, retry_after=retry_after)
    with pytest.raises(TelegramError) as theirs:
        await bot.send_message(CHAT, "x")
    assert type(ours.value) is type(theirs.value) is expected
    assert ours.value.message == theirs.value.message
    if isinstance(ours.value, RetryAfter) and isinstance(theirs.value, RetryAfter):
        assert seconds(ours.value) == seconds(theirs.value) == 7
    assert api.sent_messages(CHAT) == []  # a refused call sent nothing


async def test_an_outage_is_a_network_error_and_recovery_needs_nothing(
    api: FakeTelegramApi, bot: Bot
) -> None:
    client = BotApi.of(bot)
    api.set_down()
    with pytest.raises(NetworkError, match="Bad Gateway") as raised:
        await client.answer_callback_query("1")
    assert type(raised.value) is NetworkError
    api.set_down(False)
    assert await client.send_message(CHAT, "kembali") == 1


async def test_a_wrong_token_and_an_unknown_method_are_invalid_token(
    api: FakeTelegramApi,
) -> None:
    transport = AiohttpRequest()
    await transport.initialize()
    try:
        with pytest.raises(InvalidToken):
            await BotApi(transport, f"{api.base_url}999:wrong").call("getMe")
        with pytest.raises(InvalidToken):
            await BotApi(transport, f"{api.base_url}{TOKEN}").call("noSuchMethod")
    finally:
        await transport.shutdown()


async def test_a_slow_answer_times_out_and_a_missing_server_is_a_network_error(
    api: FakeTelegramApi,
) -> None:
    transport = AiohttpRequest(read_timeout_s=0.1, connect_timeout_s=1.0)
    await transport.initialize()
    try:
        api.delay_s = 0.4
        client = BotApi(transport, f"{api.base_url}{TOKEN}")
        with pytest.raises(TimedOut):
            await client.call("getMe")
        assert (await client.call("getMe", read_timeout_s=2.0))["id"] == api.bot_id

        nowhere = BotApi(transport, f"http://127.0.0.1:{closed_port()}/bot{TOKEN}")
        with pytest.raises(NetworkError) as raised:
            await nowhere.call("getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await transport.shutdown()


async def test_the_bots_read_timeout_applies_to_every_hot_call(api: FakeTelegramApi) -> None:
    """TELEGRAM_READ_TIMEOUT_S reaches the plain JSON calls through make_bot."""
    async with make_bot(TOKEN, api.base_url, read_timeout_s=0.1) as made:
        client = BotApi.of(made)
        assert client.read_timeout_s == 0.1
        api.delay_s = 0.4
        with pytest.raises(TimedOut):
            await client.send_message(CHAT, "x")
        api.delay_s = 0.0


async def test_a_client_whose_bot_is_shut_down_fails_as_a_network_error(
    api: FakeTelegramApi,
) -> None:
    made = make_bot(TOKEN, api.base_url)
    async with made:
        client = BotApi.of(made)
        await client.send_message(CHAT, "x")
    with pytest.raises(NetworkError):  # the session is closed with the bot
        await client.send_message(CHAT, "x")


@pytest.fixture
async def canned() -> AsyncIterator[tuple[list[tuple[int, bytes]], str]]:
    """A server that answers each request with the next canned (status, body)."""
    answers: list[tuple[int, bytes]] = []

    async def answer(request: web.Request) -> web.Response:
        status, body = answers.pop(0)
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield answers, f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"),
    [
        (400, b'{"ok":false,"error_code":400,"description":"Bad Request: group chat was '
              b'upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001}}',
         ChatMigrated, "New chat id: -1001"),
        (400, b'{"ok":false,"description":"Bad Request: x","parameters":{"other":1}}',
         BadRequest, "unknown parameters"),
        (502, b"<html>bad gateway</html>", NetworkError, "Parsing the server response"),
        (200, b"not json", TelegramError, "Invalid server response"),
    ],
    ids=["migrated", "unknown-parameters", "html-error", "garbage-ok"],
)  # fmt: skip
async def test_odd_answers_raise_what_ptb_raises(
    canned: tuple[list[tuple[int, bytes]], str],
    status: int,
    body: bytes,
    expected: type[TelegramError],
    text: str,
) -> None:
    answers, base_url = canned
    answers.extend([(status, body), (status, body)])
    ptb = make_bot(TOKEN, base_url)
    await ptb.request.initialize()  # no getMe: this server only has the canned answers
    try:
        with pytest.raises(TelegramError) as ours:
            await BotApi.of(ptb).send_message(CHAT, "x")
        with pytest.raises(TelegramError) as theirs:
            await ptb.send_message(CHAT, "x")
    finally:
        await ptb.request.shutdown()
    assert type(ours.value) is type(theirs.value) is expected
    assert text in ours.value.message and ours.value.message == theirs.value.message


def test_a_migration_keeps_the_new_chat_id_and_retry_after_its_seconds() -> None:
    migrated = api_error(400, b'{"ok":false,"parameters":{"migrate_to_chat_id":-1002}}')
    assert isinstance(migrated, ChatMigrated) and migrated.new_chat_id == -1002
    flood = api_error(429, b'{"ok":false,"parameters":{"retry_after":3}}')
    assert isinstance(flood, RetryAfter) and seconds(flood) == 3


# --- the sender and the update paths on the client ----------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def pending(kind: str, payload: dict[str, Any], address: str = str(CHAT)) -> PendingMessage:
    return PendingMessage(
        id=1,
        channel="telegram",
        address=address,
        kind=kind,
        payload=payload,
        attempts=0,
        contact_id=None,
    )


QUESTION = Outbound(
    "U1?", (Choice("2", "Sesuai"), Choice("cancel", "Batal", ChoiceRole.NAV)), prompt_token="3"
).to_json()


async def test_the_sender_s_errors_are_translated_as_before(api: FakeTelegramApi, bot: Bot) -> None:
    blocked: list[str] = []

    async def on_blocked(address: str) -> None:
        blocked.append(address)

    time = FakeTime()
    limiter = RateLimiter(per_chat_interval_s=0.0, clock=time.clock, sleep=time.sleep)
    sender = TelegramSender(bot, limiter, on_blocked=on_blocked)

    receipt = await sender.send(pending("message", QUESTION))
    sent = api.last_sent(CHAT)
    assert sent is not None and receipt == SendReceipt(str(sent["message_id"]))
    assert [
        [b["callback_data"] for b in row] for row in sent["reply_markup"]["inline_keyboard"]
    ] == [
        ["v1|3|2"],
        ["v1|3|cancel"],
    ]

    api.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(TransientSendError) as flood:
        await sender.send(pending("message", QUESTION))
    assert flood.value.retry_after_s == 3
    await limiter.acquire("7")  # every chat waits out the flood control
    assert time.now == pytest.approx(3)

    api.fail_next("sendMessage", 502)
    with pytest.raises(TransientSendError, match="network"):
        await sender.send(pending("message", QUESTION))

    # A 400 is final: PTB's BadRequest is a NetworkError, but resending cannot help it.
    api.fail_next("sendMessage", 400, description="Bad Request: message text is empty")
    with pytest.raises(PermanentSendError, match="rejected: Message text is empty"):
        await sender.send(pending("message", QUESTION))

    api.blocked_chats.add(CHAT)
    with pytest.raises(PermanentSendError, match="forbidden"):
        await sender.send(pending("message", QUESTION))
    assert blocked == [str(CHAT)]


async def test_an_edit_that_telegram_refuses_is_skipped(api: FakeTelegramApi, bot: Bot) -> None:
    sender = TelegramSender(bot, RateLimiter(per_chat_interval_s=0.0))
    first = await sender.send(pending("message", QUESTION))
    answered = {"question": "U1?", "answer": "Sesuai", "message_ref": first.platform_message_id}
    assert await sender.send(pending("answered", answered)) == first
    edited = api.last_sent(CHAT)
    assert edited is not None and edited["text"].startswith("U1?\n\n")
    # The same edit again: "message is not modified" (400) leaves the chat as it is.
    assert await sender.send(pending("answered", answered)) == first
    assert api.calls_to("editMessageText")[-1].params["message_id"] == int(
        str(first.platform_message_id)
    )


async def test_a_webhook_tap_is_dispatched_and_answered_and_a_malformed_one_touches_nothing(
    api: FakeTelegramApi, bot: Bot
) -> None:
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)

    updates = TelegramUpdates(bot, handle)
    tap = api.make_callback_update(CHAT, 9, "v1|3|2")
    assert await updates.process_json(tap) is True
    query_id = tap["callback_query"]["id"]  # keyed by its callback id, never the update_id
    assert (
        handled[0].kind is InboundKind.CHOICE
        and handled[0].event_id == f"{api.bot_id}:q:{query_id}"
    )
    await updates.drain()  # the answer goes alongside, not before the webhook's 200
    assert tap["callback_query"]["id"] in api.answered_callbacks

    group = api.make_callback_update(-5, 9, "v1|3|2")
    assert await updates.process_json(group) is False  # ignored, but the spinner stops
    await updates.drain()
    assert group["callback_query"]["id"] in api.answered_callbacks

    calls = len(api.calls)
    broken = api.make_callback_update(CHAT, 9, "v1|3|2")
    del broken["callback_query"]["from"]
    with pytest.raises(MalformedUpdate):
        await updates.process_json(broken)
    assert len(api.calls) == calls and len(handled) == 1


async def test_a_webhook_tap_is_answered_in_the_webhook_s_answer(
    api: FakeTelegramApi, bot: Bot
) -> None:
    """In webhook mode the callback is answered by Telegram from the 200's body: no call of
    ours, and the answer parses as the Bot API call the fake then makes."""
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)

    updates = TelegramUpdates(bot, handle)
    tap = api.make_callback_update(CHAT, 9, "v1|3|2")
    processed = await updates.process_webhook(tap)
    assert processed.dispatched and len(handled) == 1
    await updates.drain()
    assert api.calls_to("answerCallbackQuery") == [], "no call of the bot's own"
    call = await api.run_webhook_reply(processed.reply)
    query_id = tap["callback_query"]["id"]
    assert call is not None and call.method == "answerCallbackQuery" and call.via_webhook
    assert api.answered_callbacks[query_id] == {"callback_query_id": query_id}

    group = api.make_callback_update(-5, 9, "v1|3|2")  # ignored, but its spinner stops too
    ignored = await updates.process_webhook(group)
    assert not ignored.dispatched
    await api.run_webhook_reply(ignored.reply)
    assert group["callback_query"]["id"] in api.answered_callbacks

    message = await updates.process_webhook(api.make_message_update(CHAT, "halo"))
    assert message.dispatched and await api.run_webhook_reply(message.reply) is None


async def test_polling_skips_a_malformed_update_and_moves_past_it(
    api: FakeTelegramApi, bot: Bot
) -> None:
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)

    poller = TelegramPoller(bot, TelegramUpdates(bot, handle), timeout_s=0)
    api.push_update({"update_id": 50, "message": {"message_id": 1, "text": "no chat"}})
    api.push_update(api.make_message_update(CHAT, "/start u_dukcapil-mpp"))
    assert await poller.poll_once() == 2
    assert [(i.command, i.command_args) for i in handled] == [("start", ("u_dukcapil-mpp",))]
    assert poller.offset == 52
    assert await poller.poll_once() == 0 and api.pending_updates == []  # both confirmed

    await BotApi.of(bot).call("setWebhook", {"url": "https://skm.example.go.id/hook"})
    with pytest.raises(TelegramConflict):
        await poller.poll_once()


async def test_a_hanging_bot_api_does_not_hold_up_a_polled_update(
    api: FakeTelegramApi, bot: Bot
) -> None:
    """Polling answers the callback with a call of its own, alongside the processing (the
    webhook answers it in its 200, with no call at all)."""
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)

    updates = TelegramUpdates(bot, handle)
    api.set_hanging(True)
    try:
        tap = api.make_callback_update(CHAT, 9, "v1|3|2")
        # The callback's answer hangs (the bot's read timeout is 10 s); the update does not.
        assert await asyncio.wait_for(updates.process_json(tap), timeout=2) is True
        assert len(handled) == 1
    finally:
        api.set_hanging(False)
    await updates.drain()  # the answer's own failure is only logged
