"""The Telegram channel end to end: `run_service` against the fake Bot API on 127.0.0.1.

A citizen goes from a deep link through every question by tapping inline buttons, in polling
and in webhook mode, and the response is read back from PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from handlers.telegram import TelegramConflict, parse_callback
from storage import Storage
from storage.models import InboundEvent, OutboxMessage
from tests.support.directory import load_small_directory
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.telegram_service import (
    CHAT,
    EXPECTED_SCORES,
    SECRET,
    SURVEY_TAPS,
    TOKEN,
    Service,
    button,
    last_keyboard,
    service_settings,
    tap,
)


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN) as fake:
        yield fake


async def test_polling_a_citizen_goes_from_deep_link_to_stored_response(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        api.push_update(api.make_message_update(CHAT, "/start u_dukcapil-mpp"))
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=10)
        assert "Sebelum mulai" in api.last_sent(CHAT)["text"]  # type: ignore[index]
        for label, index in SURVEY_TAPS:
            await tap(api, label, index)
        await api.wait_for(lambda: "Terima kasih" in api.last_sent(CHAT)["text"], timeout=10)  # type: ignore[index]
        # Every answered question was edited: the chosen answer shown, the keyboard gone.
        await api.wait_for(
            lambda: len(api.calls_to("editMessageText")) == len(SURVEY_TAPS), timeout=10
        )
        edited = [m for m in api.sent_messages(CHAT) if "✓" in m.get("text", "")]
        assert len(edited) == len(SURVEY_TAPS)
        assert all("reply_markup" not in m for m in edited)
        assert any(m["text"].endswith("✓ Gratis") for m in edited)
        # Every callback query was answered, so no client shows a spinner.
        await api.wait_for(lambda: len(api.answered_callbacks) == len(SURVEY_TAPS), timeout=5)
        private = {"type": "all_private_chats"}
        indonesian = [c["command"] for c in api.commands(scope=private)]
        assert indonesian == [
            "mulai", "survei", "pengaduan", "status", "bahasa", "batal", "bantuan", "hapus",
        ]  # fmt: skip
        english = [c["command"] for c in api.commands(scope=private, language_code="en")]
        assert english[:3] == ["start", "survey", "complaint"]
        assert api.commands(scope=private, language_code="en")[-1]["description"] == (
            "Erase my data"
        )
    [response] = await pg_storage.responses()
    assert response.unit_code == "dukcapil-mpp"
    assert response.channel == "telegram"
    assert response.scores == EXPECTED_SCORES
    assert response.profile == {"age": "26-35", "gender": "P", "occupation": "WIRAUSAHA"}
    assert response.service_type == "Kartu Keluarga"
    assert response.respondent_key and str(CHAT) not in response.respondent_key


async def test_callback_data_is_short_versioned_and_tied_to_its_prompt(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        api.push_update(api.make_message_update(CHAT, "/start u_rsud-igd"))
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=10)
        consent = last_keyboard(api)
        rows = consent["reply_markup"]["inline_keyboard"]
        for data in (b["callback_data"] for row in rows for b in row):
            assert len(data.encode()) <= 64 and data.startswith("v1|")
        await tap(api, "Setuju")
        # A tap on the old consent keyboard (stale) and forged data change nothing.
        stale = api.make_callback_update(
            CHAT, consent["message_id"], button(consent, "Tidak setuju")
        )
        forged = api.make_callback_update(CHAT, consent["message_id"], "v1|999|u:rsud-igd")
        garbage = api.make_callback_update(CHAT, consent["message_id"], "drop table")
        before = len(api.calls_to("sendMessage"))
        for update in (stale, forged, garbage):
            api.push_update(update)
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) >= before + 6, timeout=10)
        notices = [c.params["text"] for c in api.calls_to("sendMessage")[before:]]
        assert sum("pertanyaan sebelumnya" in t for t in notices) == 3
        assert all(q in api.answered_callbacks for q in api.answered_callbacks)
        token, choice = parse_callback(button(last_keyboard(api)))
        assert choice == "17-25" and token is not None  # still at the age question
    assert await pg_storage.responses() == []


async def test_webhook_mode_checks_the_secret_and_drops_duplicates(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    settings = service_settings(
        api,
        pg_url,
        telegram_webhook_url="https://skm.example.go.id/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    async with Service(settings) as service:
        start = api.make_message_update(CHAT, "/start u_dukcapil-mpp")
        assert await service.post_update(start, secret="wrong") == 403
        assert await service.post_update(start, secret=None) == 403
        async with pg_storage.sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(InboundEvent))
        assert stored == 0, "a refused webhook leaves no trace"
        assert await service.post_update(start) == 200
        assert await service.post_update(start) == 200  # Telegram redelivers: processed once
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=10)
        await asyncio.sleep(0.3)
        assert len(api.calls_to("sendMessage")) == 1
        for label, index in SURVEY_TAPS:
            message = last_keyboard(api)
            before = len(api.calls_to("sendMessage"))
            data = button(message, label, index)
            update = api.make_callback_update(CHAT, message["message_id"], data)
            assert await service.post_update(update, api=api) == 200
            await api.wait_for(lambda b=before: len(api.calls_to("sendMessage")) > b, timeout=10)
        assert await service.post_update({"not": "an update"}) == 400
        # Every tap's callback query was answered by Telegram from the webhook's answer, none
        # by a call of the bot's own.
        answers = api.calls_to("answerCallbackQuery")
        assert len(answers) == len(SURVEY_TAPS) and all(call.via_webhook for call in answers)
        assert len(api.answered_callbacks) == len(SURVEY_TAPS)
    [response] = await pg_storage.responses()
    assert response.scores == EXPECTED_SCORES


async def test_flood_control_retry_after_is_honoured_and_nothing_is_doubled(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        api.fail_next("sendMessage", status=429, retry_after=1)
        api.push_update(api.make_message_update(CHAT, "/start u_dukcapil-mpp"))
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=10)
        attempts = api.calls_to("sendMessage")
        assert len(attempts) == 2
        assert attempts[1].at - attempts[0].at >= 0.9, "waited for retry_after"
        await asyncio.sleep(1.5)
        assert len(api.sent_messages(CHAT)) == 1
    async with pg_storage.sessions() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    assert list(statuses) == ["sent"]


async def test_an_outage_delays_replies_and_loses_none(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        api.push_update(api.make_message_update(CHAT, "/start u_dukcapil-mpp"))
        await api.wait_for(lambda: api.last_sent(CHAT) is not None, timeout=10)
        message = last_keyboard(api)
        api.set_down(True)
        # The citizen taps while Telegram's send API fails; updates still arrive by polling.
        api.push_update(
            api.make_callback_update(CHAT, message["message_id"], button(message, "Setuju"))
        )
        await asyncio.sleep(2.5)
        assert len(api.sent_messages(CHAT)) == 1, "nothing new could be delivered"
        api.set_down(False)
        await api.wait_for(lambda: len(api.sent_messages(CHAT)) == 2, timeout=20)
        assert "usia" in api.last_sent(CHAT)["text"].lower()  # type: ignore[index]
        await asyncio.sleep(1.5)
        assert len(api.sent_messages(CHAT)) == 2, "each reply delivered once"


async def test_a_second_poller_on_the_same_token_stops_with_a_clear_message(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)

    def sweepers() -> int:
        return sum(t.get_name() == "outbox-sweeper" for t in asyncio.all_tasks())

    before = sweepers()
    async with Service(service_settings(api, pg_url)):
        second = Service(service_settings(api, pg_url))
        with pytest.raises(TelegramConflict, match="already polling"):
            async with second:
                pass
        await asyncio.sleep(0)  # let cancelled tasks finish
        # The refused service left nothing running: a stray sweeper would keep sending.
        assert sweepers() == before + 1
    await asyncio.sleep(0)
    assert sweepers() == before


async def test_a_blocked_user_is_marked_and_not_retried(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    api.blocked_chats.add(CHAT)
    async with Service(service_settings(api, pg_url)):
        api.push_update(api.make_message_update(CHAT, "halo"))
        await api.wait_for_calls("sendMessage", 1, timeout=10)
        await asyncio.sleep(2.5)
        assert len(api.calls_to("sendMessage")) == 1
    async with pg_storage.sessions() as session:
        [(status, error)] = (
            await session.execute(select(OutboxMessage.status, OutboxMessage.last_error))
        ).all()
    assert status == "failed" and "forbidden" in (error or "")


async def test_group_chats_edits_and_stickers_never_crash(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str
) -> None:
    await load_small_directory(pg_storage)
    async with Service(service_settings(api, pg_url)):
        group = api.make_message_update(-100123, "/start u_dukcapil-mpp")
        group["message"]["chat"] = {"id": -100123, "type": "group", "title": "Warga"}
        api.push_update(group)
        edited = api.make_message_update(CHAT, "halo")
        edited["edited_message"] = edited.pop("message")
        api.push_update(edited)
        sticker = api.make_message_update(CHAT, "x")
        del sticker["message"]["text"]
        sticker["message"]["sticker"] = {
            "file_id": "s1", "file_unique_id": "u1", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False,
        }  # fmt: skip
        api.push_update(sticker)
        await api.wait_for_calls("sendMessage", 2, timeout=10)
        texts = [c.params["text"] for c in api.calls_to("sendMessage")]
        assert texts[0].startswith("Maaf, saya hanya dapat membaca teks")
        assert all(c.params["chat_id"] in (CHAT, str(CHAT)) for c in api.calls_to("sendMessage"))
