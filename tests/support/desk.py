"""Filing a complaint through the dispatcher, for the desk tests."""

from __future__ import annotations

import re

from storage import Storage
from tests.support.dispatcher import command_in, make_bot, text_in

ANSWERS = ["1", "Loket tutup sebelum waktunya, antrean masih panjang.", "1", "1", "2", "2", "1"]


async def file(storage: Storage, count: int) -> list[str]:
    bot = make_bot(storage)
    for n in range(count):
        await bot.dispatcher.handle(command_in(f"warga-{n}", "start", "c_dukcapil-mpp"))
        for answer in ANSWERS:
            await bot.dispatcher.handle(text_in(f"warga-{n}", answer))
    texts = "\n".join(bot.sender.texts())
    return list(dict.fromkeys(re.findall(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}", texts)))
