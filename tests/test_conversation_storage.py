"""Issue 14, items 16 and 18, through the dispatcher and a real database: a profile the
citizen asked us to remember is kept with the contact, skips the profile next time, and goes
with /hapus; the OPD's contact comes from the directory file and reaches help."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.app import import_directory
from bot.directory_file import parse_directory
from storage import Storage
from storage.models import Contact
from tests.conftest import command_in, load_small_directory, make_bot, text_in

# Consent, profile (26–35, Perempuan, SMA/SMK, PNS), KTP-el, nine answers, no suggestion;
# then "2": Kirim & ingat data diri.
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
