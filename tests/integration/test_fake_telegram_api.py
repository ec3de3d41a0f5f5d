"""The fake Bot API server, exercised through PTB's real ``telegram.Bot`` over loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.support.fakes.telegram_api import FakeTelegramApi, UploadedFile

TOKEN = "123:ABC"


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# PTB 22 warns from RetryAfter.__init__ that retry_after becomes a timedelta (PTB_TIMEDELTA).
_IGNORE_RETRY_AFTER_DEPRECATION = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


def _seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d[:10], callback_data=d) for d in data]])


def _make_bot(api: FakeTelegramApi) -> Bot:
    return Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN, rate_limits=False) as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
async def bot(api: FakeTelegramApi) -> AsyncIterator[Bot]:
    async with _make_bot(api) as real_bot:
        yield real_bot


async def test_urls_and_get_me(api: FakeTelegramApi, bot: Bot) -> None:
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
    assert api.base_file_url == f"http://127.0.0.1:{api.port}/file/bot"
    # Bot.initialize() already called getMe
    assert len(api.calls_to("getMe")) == 1
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (123, True, "SKM Bot", "skm_test_bot")
    assert bot.username == "skm_test_bot"
    assert api.stats.by_method["getMe"] == 2


async def test_send_message_records_decoded_markup(api: FakeTelegramApi, bot: Bot) -> None:
    markup = _keyboard("q1:yes", "q1:no")
    first = await bot.send_message(42, "Halo <b>warga</b>", parse_mode="HTML", reply_markup=markup)
    second = await bot.send_message(42, "Lagi")
    other_chat = await bot.send_message(43, "Chat lain")

    assert second.message_id == first.message_id + 1
    assert other_chat.message_id == 1
    assert first.reply_markup == markup
    assert first.from_user is not None and first.from_user.id == 123
    assert first.chat.id == 42 and first.chat.type == "private"
    assert second.reply_markup is None

    call = api.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == 42  # form string "42" decoded to int
    assert call.params["text"] == "Halo <b>warga</b>"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == markup.to_dict()
    assert [m["text"] for m in api.sent_messages(42)] == ["Halo <b>warga</b>", "Lagi"]


async def test_text_limits(api: FakeTelegramApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(1, "   ")
    # HTML tags do not count towards the 4096 characters
    await bot.send_message(1, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert len(api.sent_messages(1)) == 1


async def test_edit_message_text_and_markup(api: FakeTelegramApi, bot: Bot) -> None:
    sent = await bot.send_message(7, "Pertanyaan 1", reply_markup=_keyboard("a", "b"))
    edited = await bot.edit_message_text(
        "Terima kasih", chat_id=7, message_id=sent.message_id, reply_markup=_keyboard("c")
    )
    assert not isinstance(edited, bool)
    assert edited.text == "Terima kasih"
    assert edited.edit_date is not None
    stored = api.sent_messages(7)
    assert len(stored) == 1
    assert stored[0]["text"] == "Terima kasih"
    assert stored[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c"

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "Terima kasih", chat_id=7, message_id=sent.message_id, reply_markup=_keyboard("c")
        )
    # without reply_markup the keyboard is removed, as on the real API
    await bot.edit_message_reply_markup(chat_id=7, message_id=sent.message_id)
    assert "reply_markup" not in api.sent_messages(7)[0]
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=7, message_id=sent.message_id)

    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=7, message_id=999)


async def test_callback_data_limit_is_64_bytes(api: FakeTelegramApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(5, "x", reply_markup=_keyboard("a" * 65))
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):  # 33 x 2 bytes = 66 bytes
        await bot.send_message(5, "x", reply_markup=_keyboard("é" * 33))
    await bot.send_message(5, "ok", reply_markup=_keyboard("a" * 64))
    assert [m["text"] for m in api.sent_messages(5)] == ["ok"]


@_IGNORE_RETRY_AFTER_DEPRECATION
async def test_fail_next_429_raises_retry_after(api: FakeTelegramApi, bot: Bot) -> None:
    api.fail_next("sendMessage", status=429, retry_after=2)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "satu")
    assert _seconds(caught.value) == 2
    await bot.send_message(1, "dua")  # only one failure was queued
    assert api.stats.rejected_429 == 1
    assert len(api.calls_to("sendMessage")) == 2
    assert [m["text"] for m in api.sent_messages(1)] == ["dua"]


async def test_fail_next_other_statuses(api: FakeTelegramApi, bot: Bot) -> None:
    api.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1, "x")
    api.fail_next("*", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.get_me()
    assert (await bot.get_me()).id == 123

    api.blocked_chats.add(99)
    with pytest.raises(Forbidden):
        await bot.send_message(99, "x")
    await bot.send_message(98, "x")


async def test_set_down_gives_network_error(api: FakeTelegramApi, bot: Bot) -> None:
    api.set_down(True)
    with pytest.raises(NetworkError, match="Bad Gateway") as caught:
        await bot.send_message(1, "x")
    # PTB maps 502 to the NetworkError base class itself, not to BadRequest/TimedOut
    assert type(caught.value) is NetworkError
    assert api.stats.by_status[502] == 1
    api.set_down(False)
    await bot.send_message(1, "y")
    assert [m["text"] for m in api.sent_messages(1)] == ["y"]


async def test_set_hanging_holds_requests_unapplied_then_answers_504(
    api: FakeTelegramApi, bot: Bot
) -> None:
    assert (await bot.send_message(1, "before")).message_id == 1
    api.set_hanging(True)
    assert api.hanging
    # The client gives up: a timeout, as when Telegram does not answer at all.
    with pytest.raises(TimedOut):
        await bot.send_message(1, "lost", read_timeout=0.3)
    held = asyncio.create_task(bot.edit_message_text("held", chat_id=1, message_id=1))
    await api.wait_for(lambda: api.stats.hung == 2, timeout=2)
    assert not held.done()
    # getUpdates is not held (a poller's long poll would hide the fault).
    assert await bot.get_updates(timeout=0) == ()
    # Nothing held was applied, nor recorded as a call.
    assert [m["text"] for m in api.sent_messages(1)] == ["before"]
    assert [c.params["text"] for c in api.calls_to("sendMessage")] == ["before"]
    assert api.calls_to("editMessageText") == []

    api.set_hanging(False)
    with pytest.raises(NetworkError, match="Gateway Timeout"):
        await asyncio.wait_for(held, 2)
    assert api.stats.by_status[504] >= 1
    assert [m["text"] for m in api.sent_messages(1)] == ["before"]
    # After the switch, requests are handled normally; the lost ones took no message id.
    assert (await bot.send_message(1, "after")).message_id == 2
    assert [m["text"] for m in api.sent_messages(1)] == ["before", "after"]


async def test_close_answers_hanging_requests(api: FakeTelegramApi) -> None:
    api.set_hanging(True)
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(session.post(api.method_url("getMe")))
        await api.wait_for(lambda: api.stats.hung == 1, timeout=2)
        started = time.monotonic()
        await api.close()
        response = await asyncio.wait_for(request, 2)
        assert response.status == 504
        response.release()
    assert time.monotonic() - started < 1


async def test_delay_s_adds_latency(api: FakeTelegramApi, bot: Bot) -> None:
    api.delay_s = 0.2
    started = time.monotonic()
    await bot.send_message(1, "x")
    assert time.monotonic() - started >= 0.2


async def test_get_updates_and_offset(api: FakeTelegramApi, bot: Bot) -> None:
    pushed = [api.push_update(api.make_message_update(11, f"/start p{i}")) for i in range(3)]
    ids = [u["update_id"] for u in pushed]
    assert ids == sorted(ids) and len(set(ids)) == 3

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == ids
    message = updates[0].message
    assert message is not None and message.text == "/start p0"
    assert message.from_user is not None and message.from_user.language_code == "id"
    assert message.chat.type == "private"
    assert message.entities[0].type == "bot_command"

    assert [u.update_id for u in await bot.get_updates(offset=ids[1], timeout=0)] == ids[1:]
    # the first update was confirmed by that offset and is gone for good
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(offset=ids[2] + 1, timeout=0)] == []
    assert api.pending_updates == []

    # chat_member updates are not delivered unless asked for in allowed_updates
    api.push_update({"chat_member": {}})
    assert api.pending_updates == []


async def test_long_poll_returns_as_soon_as_update_arrives(api: FakeTelegramApi, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for(lambda: api.long_poll_active, timeout=2)
    api.push_update(api.make_message_update(3, "halo"))
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.5
    assert [u.message.text for u in updates if u.message] == ["halo"]


async def test_second_long_poll_conflicts(api: FakeTelegramApi) -> None:
    async with _make_bot(api) as first_instance, _make_bot(api) as second_instance:
        first = asyncio.create_task(first_instance.get_updates(timeout=5))
        await api.wait_for(lambda: api.long_poll_active, timeout=2)
        second = asyncio.create_task(second_instance.get_updates(timeout=5))
        # As on the real server, the newer long poll terminates the one that was waiting.
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 2)
        await api.wait_for(lambda: api.long_poll_active, timeout=2)
        api.push_update(api.make_message_update(3, "masih hidup"))
        assert len(await asyncio.wait_for(second, 2)) == 1


async def test_webhook_delivery(api: FakeTelegramApi, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response(status=200 if secret == "s3cr3t_T0ken" else 403)

    app = web.Application()
    app.router.add_post("/tg/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg/hook"
    try:
        assert await bot.set_webhook(
            url, secret_token="s3cr3t_T0ken", max_connections=5, allowed_updates=["message"]
        )
        info = await bot.get_webhook_info()
        assert (info.url, info.max_connections, info.allowed_updates) == (url, 5, ("message",))
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)

        update = api.make_message_update(21, "via webhook")
        assert await api.deliver_webhook(update) == 200
        secret, body = received[-1]
        assert secret == "s3cr3t_T0ken"
        assert body["update_id"] == update["update_id"]
        parsed = Update.de_json(body, bot)
        assert parsed.message is not None and parsed.message.text == "via webhook"

        await bot.set_webhook(url, secret_token="wrong")
        assert await api.deliver_webhook(api.make_message_update(21, "x")) == 403
        info = await bot.get_webhook_info()
        assert info.last_error_message is not None and "403" in info.last_error_message

        assert await bot.delete_webhook()
        assert api.webhook_url is None
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


@_IGNORE_RETRY_AFTER_DEPRECATION
async def test_rate_limits_per_chat_and_overall() -> None:
    async with FakeTelegramApi(token=TOKEN, rate_limits=True) as api, _make_bot(api) as bot:
        for i in range(3):  # the per-chat burst allowance
            await bot.send_message(1, f"m{i}")
        for _ in range(2):
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(1, "too fast")
            assert _seconds(caught.value) >= 1
        await bot.send_message(2, "other chat is fine")
        assert api.stats.rejected_429 == 2
        assert len(api.sent_messages(1)) == 3

    async with (
        FakeTelegramApi(token=TOKEN, rate_limits=True, overall_per_s=4) as api,
        _make_bot(api) as bot,
    ):
        for chat in range(1, 5):
            await bot.send_message(chat, "x")
        with pytest.raises(RetryAfter):
            await bot.send_message(5, "fifth chat within the same second")


async def test_send_photo_and_document_multipart(api: FakeTelegramApi, bot: Bot) -> None:
    png = _png(3, 2)
    message = await bot.send_photo(9, photo=png, caption="Grafik IKM", filename="chart.png")
    assert message.caption == "Grafik IKM"
    assert (message.photo[-1].width, message.photo[-1].height) == (3, 2)

    params = api.calls_to("sendPhoto")[0].params
    upload = params["photo"]
    assert isinstance(upload, UploadedFile)
    assert upload.data == png and upload.filename == "chart.png"
    assert params["chat_id"] == 9

    file = await bot.get_file(message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == png

    doc = await bot.send_document(9, document=b"a,b\n1,2\n", filename="rekap.csv")
    assert doc.document is not None and doc.document.file_name == "rekap.csv"
    assert api.uploaded(doc.document.file_id) == b"a,b\n1,2\n"
    assert [m["message_id"] for m in api.sent_messages(9)] == [1, 2]


async def test_callback_query_roundtrip(api: FakeTelegramApi, bot: Bot) -> None:
    sent = await bot.send_message(15, "Puas?", reply_markup=_keyboard("q1:4"))
    raw = api.make_callback_update(15, sent.message_id, "q1:4")
    update = Update.de_json(api.push_update(raw), bot)
    query = update.callback_query
    assert query is not None and query.data == "q1:4"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.language_code == "id"

    assert await bot.answer_callback_query(query.id, text="Tercatat")
    assert api.answered_callbacks[query.id]["text"] == "Tercatat"
    with pytest.raises(BadRequest, match="(?i)query id is invalid"):
        await bot.answer_callback_query(query.id)

    assert await bot.delete_message(15, sent.message_id)
    assert api.sent_messages(15) == []
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(15, sent.message_id)


async def test_commands_per_scope_and_language(api: FakeTelegramApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Mulai survei")], language_code="id")
    await bot.set_my_commands(
        [BotCommand("aduan", "Kirim aduan")], scope=BotCommandScopeAllPrivateChats()
    )
    assert [c.command for c in await bot.get_my_commands(language_code="id")] == ["start"]
    assert await bot.get_my_commands() == ()
    private = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert [c.command for c in private] == ["aduan"]
    assert api.commands(language_code="id") == [{"command": "start", "description": "Mulai survei"}]
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])


async def test_plain_http_clients(api: FakeTelegramApi) -> None:
    async with aiohttp.ClientSession() as session:
        markup = {"inline_keyboard": [[{"text": "Ya", "callback_data": "y"}]]}
        async with session.post(
            api.method_url("sendMessage"),
            json={"chat_id": 5, "text": "hai", "reply_markup": markup},
        ) as resp:
            body = await resp.json()
        assert resp.status == 200 and body["ok"] is True
        assert body["result"]["reply_markup"] == markup
        assert api.calls_to("sendMessage")[0].params["reply_markup"] == markup

        async with session.get(f"{api.base_url}{TOKEN}/GETME") as resp:  # case-insensitive
            assert (await resp.json())["result"]["id"] == 123

        async with session.post(f"{api.base_url}999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(api.method_url("noSuchMethod")) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert api.stats.by_status[401] == 1


async def test_wait_helpers(api: FakeTelegramApi, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(8, "nanti")

    task = asyncio.create_task(later())
    calls = await api.wait_for_calls("sendMessage", 1, timeout=2)
    assert calls[0].params["text"] == "nanti"
    # state is already updated when the call becomes visible
    assert api.last_sent(8) is not None
    await task
    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for(lambda: len(api.sent_messages(8)) > 1, timeout=0.05)


async def test_explicit_start_and_close() -> None:
    api = FakeTelegramApi(token="456:XYZ")
    await api.start()
    try:
        async with Bot("456:XYZ", base_url=api.base_url) as other:
            assert other.id == 456
    finally:
        await api.close()
    with pytest.raises(ValueError):
        FakeTelegramApi(token="not-a-token")


async def test_ptb_application_polling_end_to_end(api: FakeTelegramApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"Halo {context.args}", reply_markup=_keyboard("r:1"))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Dipilih {query.data}")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5, drop_pending_updates=True)
        await app.start()
        try:
            api.push_update(api.make_message_update(77, "/start kab-mimika"))
            await api.wait_for(lambda: len(api.sent_messages(77)) == 1, timeout=3)
            reply = api.sent_messages(77)[0]
            assert reply["text"] == "Halo ['kab-mimika']"
            assert reply["message_id"] == 2  # the user's /start was message 1

            api.push_update(api.make_callback_update(77, reply["message_id"], "r:1"))
            await api.wait_for(lambda: api.sent_messages(77)[0]["text"] == "Dipilih r:1", timeout=3)
            assert len(api.answered_callbacks) == 1
        finally:
            await app.updater.stop()
            await app.stop()
    assert api.calls[1].method == "deleteWebhook"
