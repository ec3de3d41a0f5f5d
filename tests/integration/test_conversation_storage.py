"""Issue 14, items 16, 17 and 18, through the dispatcher and a real database: a profile the
citizen asked us to remember is kept with the contact, skips the profile next time, and goes
with /hapus; one gentle reminder before an idle survey expires, never outside WhatsApp's
window; the OPD's contact comes from the directory file and reaches help."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import import_directory
from bot.directory_file import parse_directory
from bot.jobs import idle_reminders
from handlers.outbox import OutboxWorker
from storage import Storage, db
from storage.models import Contact
from survey_flows.catalog import MESSAGES
from survey_flows.engine import FlowSettings
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0, Bot, command_in, make_bot, text_in
from tests.support.migrations import _downgrade, columns

# Consent, profile (26–35, Perempuan, SMA/SMK, PNS), KTP-el, nine answers, no suggestion;
# then "2": Kirim & ingat data.
SURVEY = ["1", "2", "2", "3", "1", "1", *["4"] * 9, "1"]
WITH_CONTACT = """\
opds:
  - code: disdukcapil
    name: Dinas Kependudukan dan Pencatatan Sipil
    short_name: Disdukcapil
    contact: "Kantor Disdukcapil, Jl. Cenderawasih SP2, Timika"
    units:
      - code: dukcapil-mpp
        name: Loket Disdukcapil MPP
        service_types: [KTP-el]
      - code: dukcapil-kantor
        name: Kantor Disdukcapil
        service_types: [KTP-el]
"""


async def saved_profiles(storage: Storage) -> list[dict[str, str] | None]:
    async with storage.sessions() as session:
        return list((await session.execute(select(Contact.saved_profile))).scalars())


async def test_a_remembered_profile_is_kept_reused_and_erased(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-mpp"))
    for answer in [*SURVEY, "2"]:
        await bot.dispatcher.handle(text_in("warga", answer))
    [response] = await storage.responses()
    assert response.profile == {
        "age": "26-35",
        "gender": "P",
        "education": "SMA",
        "occupation": "PNS",
    }
    assert await saved_profiles(storage) == [dict(response.profile)]

    # Another unit: greeted, the profile not asked again, the first question at once.
    await bot.dispatcher.handle(command_in("warga", "start", "u_rsud-igd"))
    greeting, question = bot.sender.texts()[-2:]
    assert greeting.startswith("Selamat datang kembali") and "IGD RSUD Mimika" in greeting
    assert "Pertanyaan 1 dari 9" in question

    await bot.dispatcher.handle(command_in("warga", "hapus"))
    await bot.dispatcher.handle(text_in("warga", "1"))  # Ya, hapus
    assert await saved_profiles(storage) == []
    # Back again: a new contact, asked for consent and the profile like anyone.
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-kantor"))
    assert "Sebelum mulai" in bot.sender.texts()[-1]
    assert await saved_profiles(storage) == [None]


async def test_sending_without_remembering_keeps_no_profile(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-mpp"))
    for answer in [*SURVEY, "1"]:
        await bot.dispatcher.handle(text_in("warga", answer))
    assert len(await storage.responses()) == 1
    assert await saved_profiles(storage) == [None]


async def test_the_opd_contact_from_the_directory_file_reaches_help(
    storage: Storage, tmp_path: Path
) -> None:
    [opd] = parse_directory(WITH_CONTACT)
    assert opd.contact == "Kantor Disdukcapil, Jl. Cenderawasih SP2, Timika"
    path = tmp_path / "dir.yaml"
    path.write_text(WITH_CONTACT)
    await import_directory(storage, path)
    directory = await storage.directory()
    info = directory.opd("disdukcapil")
    assert info is not None and info.contact == opd.contact
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-mpp"))
    await bot.dispatcher.handle(text_in("warga", "bantuan"))
    assert opd.contact in bot.sender.texts()[-2]
    # Removed from the file: help falls back to the counter.
    path.write_text(
        WITH_CONTACT.replace(
            '    contact: "Kantor Disdukcapil, Jl. Cenderawasih SP2, Timika"\n', ""
        )
    )
    report = await import_directory(storage, path)
    assert report.changed == ["opd disdukcapil"]
    info = (await storage.directory()).opd("disdukcapil")
    assert info is not None and info.contact == ""


async def mid_survey(storage: Storage) -> Bot:
    """A citizen two answers into a survey of the MPP counter."""
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-mpp"))
    for answer in ("1", "2"):  # consent, an age
        await bot.dispatcher.handle(text_in("warga", answer))
    return bot


async def remind(storage: Storage, bot: Bot, after: timedelta) -> int:
    bot.clock.now += after
    outbox = OutboxWorker(storage, {"console": bot.sender}, bot.clock)
    return await idle_reminders(storage, FlowSettings(), outbox, bot.clock)


async def test_one_gentle_reminder_before_an_idle_survey_expires(storage: Storage) -> None:
    bot = await mid_survey(storage)
    assert await remind(storage, bot, timedelta(minutes=15)) == 0  # not yet: 15 minutes left
    assert await remind(storage, bot, timedelta(minutes=6)) == 1
    unit = "Loket Disdukcapil MPP"
    assert bot.sender.texts()[-1] == MESSAGES["id"]["reminder.skm"].format(unit=unit, minutes="9")
    assert await remind(storage, bot, timedelta(minutes=1)) == 0  # once
    assert await remind(storage, bot, timedelta(minutes=10)) == 0  # expired: nothing more
    # The next message still says the survey expired, and offers to go on.
    await bot.dispatcher.handle(text_in("warga", "halo"))
    assert MESSAGES["id"]["menu.resume"] in str(bot.sender.sent[-1].payload)


async def test_an_answer_starts_a_new_idle_period_with_its_own_reminder(storage: Storage) -> None:
    bot = await mid_survey(storage)
    assert await remind(storage, bot, timedelta(minutes=21)) == 1
    await bot.dispatcher.handle(text_in("warga", "1"))  # answers: the survey is alive again
    assert await remind(storage, bot, timedelta(minutes=21)) == 1


async def test_no_reminder_outside_whatsapp_s_window_or_to_a_blocked_contact(
    storage: Storage,
) -> None:
    bot = await mid_survey(storage)
    async with storage.sessions() as session:
        # As if on WhatsApp with the last message 25 hours ago (a long timeout).
        stale = bot.clock.now - timedelta(hours=25)
        await session.execute(update(Contact).values(channel="whatsapp", last_inbound_at=stale))
        await session.commit()
    assert await remind(storage, bot, timedelta(minutes=21)) == 0
    async with storage.sessions() as session:
        fresh = bot.clock.now - timedelta(minutes=21)
        await session.execute(
            update(Contact).values(channel="console", last_inbound_at=fresh, blocked_at=fresh)
        )
        await session.commit()
    assert await remind(storage, bot, timedelta(seconds=1)) == 0


async def test_nothing_under_way_gets_no_reminder(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(text_in("warga", "halo"))  # the menu: nothing expires
    assert await remind(storage, bot, timedelta(minutes=25)) == 0


# --- migration 0009: two nullable columns, up, down and up again --------------------------------


async def up_down_up_0009(engine: AsyncEngine) -> None:
    await db.upgrade(engine, "0008")
    async with engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO opds (code, name, active, position, updated_at) "
                "VALUES ('dinkes', 'Dinas Kesehatan', true, 0, :t)"
            ),
            {"t": T0},
        )
        await connection.execute(
            sa.text(
                "INSERT INTO contacts (channel, address, language, created_at) "
                "VALUES ('console', 'warga', 'id', :t)"
            ),
            {"t": T0},
        )
    await db.upgrade(engine, "0009")
    async with engine.begin() as connection:
        assert (await connection.run_sync(columns, "opds"))["contact"] is True  # nullable
        assert (await connection.run_sync(columns, "contacts"))["saved_profile"] is True
        # Rows from before read as before: no contact, nothing remembered.
        row = (await connection.execute(sa.text("SELECT contact FROM opds"))).one()
        assert row.contact is None
        saved = (await connection.execute(sa.text("SELECT saved_profile FROM contacts"))).one()
        assert saved.saved_profile is None
    await _downgrade(engine, "0008")
    async with engine.begin() as connection:
        assert "contact" not in await connection.run_sync(columns, "opds")
        assert "saved_profile" not in await connection.run_sync(columns, "contacts")
        assert await connection.scalar(sa.text("SELECT count(*) FROM contacts")) == 1
    await db.upgrade(engine, "0009")


async def test_migration_0009_on_sqlite(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        await up_down_up_0009(engine)
    finally:
        await engine.dispose()


async def test_migration_0009_on_postgresql(scratch_pg: str) -> None:
    engine = db.create_engine(scratch_pg)
    try:
        await up_down_up_0009(engine)
    finally:
        await engine.dispose()
