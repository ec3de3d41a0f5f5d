"""The right to erasure (UU 27/2022): /hapus deletes the identity, keeps pseudonymous answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage import Storage, db
from storage.base import keyed_event_id
from storage.models import Contact, Conversation, InboundEvent, OutboxMessage
from survey_flows.personal_data import MASK, mask_personal_data
from tests.support.directory import load_small_directory
from tests.support.dispatcher import PSEUDONYM_SECRET, T0, command_in, make_bot, text_in
from tests.support.surveys import FULL_SURVEY


async def count(storage: Storage, model: type) -> int:
    async with storage.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_erasure_deletes_the_contact_after_confirmation_and_keeps_responses(
    storage: Storage,
) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-mpp"))
    for answer in FULL_SURVEY:
        await bot.dispatcher.handle(text_in("warga", answer))
    [response] = await storage.responses()

    await bot.dispatcher.handle(command_in("warga", "hapus"))
    assert "Hapus data Bapak/Ibu?" in bot.sender.texts()[-1]
    assert await count(storage, Contact) == 1, "nothing is erased before the confirmation"

    await bot.dispatcher.handle(text_in("warga", "1"))  # Ya, hapus
    assert bot.sender.texts()[-1].startswith("Data Bapak/Ibu sudah dihapus")
    assert await count(storage, Contact) == 0
    assert await count(storage, Conversation) == 0
    assert await count(storage, OutboxMessage) == 0, "no row keeps the platform address"
    [kept] = await storage.responses()
    assert kept.scores == response.scores
    # Re-keyed at random: the HMAC of the address no longer finds them.
    assert kept.respondent_key and kept.respondent_key != response.respondent_key

    # A returning citizen's new answers do not link to the erased ones.
    await bot.dispatcher.handle(command_in("warga", "start", "u_dukcapil-mpp"))
    for answer in FULL_SURVEY:
        await bot.dispatcher.handle(text_in("warga", answer))
    _, again = await storage.responses()
    assert again.respondent_key == response.respondent_key != kept.respondent_key


async def test_declining_erasure_keeps_everything(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(text_in("warga", "hapus"))
    await bot.dispatcher.handle(text_in("warga", "2"))  # Tidak
    assert bot.sender.texts()[-2] == "Baik, data Bapak/Ibu tidak dihapus."
    assert await count(storage, Contact) == 1


def test_personal_data_in_free_text_is_masked() -> None:
    typed = "Hubungi 0812-3456-7890 / +62 812 3456 7890, NIK 3171234567890001, a.b@x.co.id"
    masked = mask_personal_data(typed + "; antre 2 jam di loket 3 tahun 2026")
    assert masked == (
        f"Hubungi {MASK} / {MASK}, NIK {MASK}, {MASK}; antre 2 jam di loket 3 tahun 2026"
    )


async def stored_event_ids(storage: Storage) -> list[str]:
    async with storage.sessions() as session:
        return list((await session.execute(select(InboundEvent.event_id))).scalars())


async def test_event_ids_are_stored_as_keyed_hashes_and_erased_with_the_contact(
    storage: Storage,
) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    wamid = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA="  # encodes a phone number
    await bot.dispatcher.handle(text_in("warga", "halo", event_id=wamid))
    await bot.dispatcher.handle(text_in("tetangga", "halo", event_id="other-1"))
    stored = await stored_event_ids(storage)
    assert wamid not in stored
    assert keyed_event_id(PSEUDONYM_SECRET, "console", wamid) in stored
    # Dedupe still works: the same id is the same key.
    again = await bot.dispatcher.handle(text_in("warga", "halo", event_id=wamid))
    assert again.outcome.value == "duplicate"

    await bot.dispatcher.handle(text_in("warga", "hapus"))
    await bot.dispatcher.handle(text_in("warga", "1"))  # Ya, hapus
    assert await stored_event_ids(storage) == [
        keyed_event_id(PSEUDONYM_SECRET, "console", "other-1")
    ], "every event of the erased contact is gone, the neighbour's stays"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    return str(request.getfixturevalue("scratch_pg"))


async def storage_at_0006_with_a_raw_event(url: str) -> Storage:
    storage = Storage(db.create_engine(url))
    await db.upgrade(storage.engine, "0006")
    async with storage.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO inbound_events (channel, event_id, received_at) "
                "VALUES ('whatsapp', 'wamid.raw', :at)"
            ),
            {"at": T0},
        )
    return storage


async def test_migration_0007_deletes_raw_event_ids_it_cannot_hash(empty_database: str) -> None:
    storage = await storage_at_0006_with_a_raw_event(empty_database)
    try:
        await db.upgrade(storage.engine)  # no secret: a raw id must not stay
        assert await stored_event_ids(storage) == []
    finally:
        await storage.dispose()


async def test_migration_0007_hashes_the_stored_event_ids(empty_database: str) -> None:
    storage = await storage_at_0006_with_a_raw_event(empty_database)
    try:
        await db.upgrade(storage.engine, event_secret=PSEUDONYM_SECRET)
        assert await stored_event_ids(storage) == [
            keyed_event_id(PSEUDONYM_SECRET, "whatsapp", "wamid.raw")
        ]
        # A redelivery of the event seen before the upgrade is still recognised.
        async with storage.transaction() as tx:
            key = keyed_event_id(PSEUDONYM_SECRET, "whatsapp", "wamid.raw")
            assert await tx.record_inbound("whatsapp", key, T0) is False
    finally:
        await storage.dispose()
