""" "You said, we did" end to end (issue 17 item 3): citizens answer through the fake Telegram
API, one opts in at the thank-you, one does not, one opts in then sends BERHENTI; an officer
marks the unit's RTL item done in Chromium; only the opted-in citizen gets the news, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser

from handlers.dispatcher import utc_now
from handlers.web.rtl import queue_news
from storage.rtl import apply_change, propose, rtl_row, rtl_rows
from storage.rtl_models import FollowUpOptIn
from survey_flows.rtl import Proposal, step
from tests.support.browser import OFFICER_CHAT, Console
from tests.support.telegram_service import SURVEY_TAPS, button, last_keyboard

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

OPTED, SILENT, STOPPED = 555000001, 555000002, 555000003
NEWS = "Kabar tindak lanjut survei"


def sends(console: Console, chat: int) -> int:
    calls = console.api.calls_to("sendMessage")
    return sum(1 for c in calls if str(c.params.get("chat_id")) == str(chat))


async def tap(console: Console, chat: int, label: str | None, index: int = 0) -> None:
    api = console.api
    message = last_keyboard(api, chat)
    before = sends(console, chat)
    update = api.make_callback_update(chat, message["message_id"], button(message, label, index))
    await console.service.post_update(update)
    await api.wait_for(lambda: sends(console, chat) > before, timeout=10)


async def answer_survey(console: Console, chat: int, *, opt_in: bool) -> None:
    await console.send(chat, "/start u_dukcapil-mpp")
    await console.api.wait_for(lambda: console.api.last_sent(chat) is not None, timeout=10)
    for label, index in SURVEY_TAPS:
        await tap(console, chat, label, index)
    thanks = console.api.last_sent(chat)
    assert thanks is not None and "Terima kasih" in thanks["text"]
    if opt_in:
        await tap(console, chat, "🔔 Kabari tindak lanjut")
        reply = console.api.last_sent(chat)
        assert reply is not None and reply["text"].startswith("Baik. Bila unit ini")


async def test_the_news_reaches_only_the_opted_in_citizen_once(
    console: Console, chromium: Browser
) -> None:
    await answer_survey(console, OPTED, opt_in=True)
    await answer_survey(console, SILENT, opt_in=False)
    await answer_survey(console, STOPPED, opt_in=True)
    before = sends(console, STOPPED)
    await console.send(STOPPED, "berhenti")
    await console.api.wait_for(lambda: sends(console, STOPPED) > before, timeout=10)
    async with console.storage.reading() as tx:
        periods = {o.period for o in (await tx.session.execute(
            FollowUpOptIn.__table__.select())).all()}  # fmt: skip
    assert len(periods) == 1, "one opt-in left, for the quarter answered"
    (quarter,) = periods

    # The unit's item for that quarter, planned and approved; the officer closes it.
    today = utc_now().date()
    async with console.storage.transaction() as tx:
        await propose(tx, quarter, [Proposal("dukcapil-mpp", "U3", "2,50")], utc_now())
        (row,) = await rtl_rows(tx, "disdukcapil")
        due = (today + timedelta(days=30)).isoformat()
        for form, role in (({"op": "plan", "action": "Loket antrean ditambah dua",
                             "responsible": "Budi", "due_date": due}, "officer"),
                           ({"op": "approve"}, "head")):  # fmt: skip
            current = await rtl_row(tx, row.id)
            assert current is not None
            change, errors = step(current.state, role, form, today)
            assert change is not None, errors
            await apply_change(tx, row.id, change, "Kepala (contoh)", utc_now())
    page = await console.page(chromium, 390)
    await console.sign_in(page, await console.login_link(OFFICER_CHAT))
    await page.goto(console.url(f"/opd/disdukcapil/rtl/{row.id}"))
    await page.get_by_label("Status baru").select_option("selesai")
    await page.get_by_label("Catatan bukti").fill("Loket 5 dan 6 dibuka.")
    await page.get_by_role("button", name="Simpan kemajuan").click()
    assert await page.locator("h1 .status").inner_text() == "Selesai"

    def news(chat: int) -> list[str]:
        return [m["text"] for m in console.api.sent_messages(chat) if NEWS in m.get("text", "")]

    await console.api.wait_for(lambda: len(news(OPTED)) == 1, timeout=10)
    assert "Loket Disdukcapil MPP" in news(OPTED)[0]
    assert "Loket antrean ditambah dua" in news(OPTED)[0]
    assert news(SILENT) == [] and news(STOPPED) == []
    # Once per item and person: queueing again adds nothing.
    async with console.storage.transaction() as tx:
        done = await rtl_row(tx, row.id)
        assert done is not None
        assert not await queue_news(tx, done, "Loket antrean ditambah dua", utc_now(), None)
