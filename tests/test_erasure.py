"""The right to erasure (UU 27/2022): /hapus deletes the identity, keeps pseudonymous answers."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import Storage
from storage.models import Contact, Conversation, OutboxMessage
from survey_flows.personal_data import MASK, mask_personal_data
from tests.conftest import command_in, load_small_directory, make_bot, text_in
from tests.test_dispatcher_smoke import FULL_SURVEY


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
