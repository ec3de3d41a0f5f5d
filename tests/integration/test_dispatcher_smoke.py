"""A first survey through the dispatcher on both databases."""

from __future__ import annotations

from storage import Storage
from tests.support.directory import load_small_directory
from tests.support.dispatcher import command_in, make_bot, text_in
from tests.support.surveys import FULL_SURVEY


async def test_a_survey_lands_in_the_database_keyed_by_element_code(storage: Storage) -> None:
    await load_small_directory(storage)
    bot = make_bot(storage)
    await bot.dispatcher.handle(command_in("c1", "start", "u_dukcapil-mpp"))
    for answer in FULL_SURVEY:
        await bot.dispatcher.handle(text_in("c1", answer))
    [response] = await storage.responses()
    assert response.unit_code == "dukcapil-mpp"
    assert response.service_type == "Kartu Keluarga"
    # Asked in the order U1..U7, U9, U8: the 8th answer (3) is U9, the 9th (2) is U8.
    assert response.scores == {
        "U1": 4,
        "U2": 4,
        "U3": 3,
        "U4": 4,
        "U5": 4,
        "U6": 4,
        "U7": 4,
        "U9": 3,
        "U8": 2,
    }
    assert response.profile == {
        "age": "17-25",
        "gender": "P",
        "education": "SMA",
        "occupation": "PNS",
    }
    assert response.suggestion is None
    assert "Terima kasih" in bot.sender.texts()[-1]
