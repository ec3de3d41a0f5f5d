"""The front's levers one by one, in one process (issue 18): figures that a loaded machine
blurs less than a whole-bot run, as each pair is timed back to back.

1. **JSON.** The JSON work of one survey tap on the webhook path (parse the update; write
   sendMessage and editMessageText; read their two answers): the standard library against
   :mod:`handlers.json_codec`.
2. **One Bot API call** (what answering the callback in the webhook's 200 saves per tap): the
   bot's CPU for one ``BotApi`` call on its pooled keep-alive session, the fake Bot API in a
   child process.
3. **Logging.** One INFO JSON line (the product's log) as :class:`bot.logging_setup.JsonFormatter`
   writes it, and the dispatcher's INFO call when the level is WARNING, with and without the
   ``isEnabledFor`` guard.

    python bench/front_levers.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
import timeit
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import logging_setup  # noqa: E402
from bot.logging_setup import JsonFormatter, Pseudonymiser  # noqa: E402
from handlers import json_codec  # noqa: E402
from handlers.telegram import make_bot  # noqa: E402
from handlers.telegram_api import BotApi  # noqa: E402

TOKEN = "4242:levers"
PORT = 18097
LABELS = ["Sangat tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"]
KEYBOARD = {
    "inline_keyboard": [
        *([{"text": label, "callback_data": f"v1|12|{n}"}] for n, label in enumerate(LABELS)),
        [
            {"text": "Kembali", "callback_data": "v1|12|back"},
            {"text": "Batal", "callback_data": "x"},
        ],
    ]
}
QUESTION = "Pertanyaan 4 dari 9\n\nBagaimana pendapat Bapak/Ibu tentang kewajaran biaya/tarif?"
UPDATE = json.dumps(
    {
        "update_id": 10_000_001,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": {"id": 777000100, "is_bot": False, "first_name": "Ibu"},
            "chat_instance": "-7223",
            "data": "v1|11|2",
            "message": {
                "message_id": 9,
                "date": 1_767_225_600,
                "chat": {"id": 777000100, "type": "private", "first_name": "Ibu"},
                "text": QUESTION,
                "reply_markup": KEYBOARD,
            },
        },
    }
).encode()
SEND = {"chat_id": 777000100, "text": QUESTION, "reply_markup": KEYBOARD}
EDIT = {"chat_id": 777000100, "message_id": 9, "text": f"{QUESTION}\n\n✓ Sesuai"}
ANSWER = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 12,
            "from": {"id": 4242, "is_bot": True, "first_name": "SKM"},
            "chat": {"id": 777000100, "type": "private"},
            "date": 1_767_225_600,
            "text": QUESTION,
            "reply_markup": KEYBOARD,
        },
    }
).encode()


def json_standard() -> None:
    json.loads(UPDATE)
    json.dumps(SEND, separators=(",", ":")).encode()
    json.dumps(EDIT, separators=(",", ":")).encode()
    json.loads(ANSWER.decode())
    json.loads(ANSWER.decode())


def json_codec_tap() -> None:
    json_codec.loads(UPDATE)
    json_codec.dumps(SEND)
    json_codec.dumps(EDIT)
    json_codec.loads(ANSWER.decode())
    json_codec.loads(ANSWER.decode())


def micro_s(function: object, number: int) -> float:
    return timeit.timeit(function, number=number) / number * 1e6  # type: ignore[arg-type]


FAKE_API = f"""
import asyncio, sys
sys.path.insert(0, {str(ROOT)!r})
from tests.support.fakes.telegram_api import FakeTelegramApi
async def main():
    async with FakeTelegramApi(token={TOKEN!r}, port={PORT}):
        print("ready", flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""


async def call_cpu_us(calls: int) -> float:
    """The bot's CPU per Bot API call (a small JSON request and answer, as a callback's)."""
    bot = make_bot(TOKEN, f"http://127.0.0.1:{PORT}/bot")
    async with bot:
        api = BotApi.of(bot)
        for _ in range(200):  # the pool's connections open, the first calls warm up
            await api.call("getMe")
        started = time.process_time()
        for _ in range(calls):
            await api.call("getMe")
        return (time.process_time() - started) / calls * 1e6


def logging_figures(number: int) -> tuple[float, float, float, float]:
    formatter = JsonFormatter(Pseudonymiser(b"k" * 32))
    log = logging.getLogger("bench.front_levers")
    fields = {"channel": "telegram", "event_id": "4242:q:438293847", "kind": "choice",
              "outcome": "processed", "step_ms": 1.53}  # fmt: skip
    record = log.makeRecord(log.name, logging.INFO, __file__, 1, "inbound", (), None, extra=fields)
    log.setLevel(logging.WARNING)

    def dropped() -> None:
        log.info("inbound", extra={**fields, "step_ms": round(1.5312, 2)})

    def guarded() -> None:
        if log.isEnabledFor(logging.INFO):
            dropped()

    # The formatter as before issue 18: the line written by the standard library.
    stdlib = SimpleNamespace(dumps_str=lambda value: json.dumps(value, ensure_ascii=False))
    with mock.patch.object(logging_setup, "json_codec", stdlib):
        standard_line = micro_s(lambda: formatter.format(record), number)
    return (
        standard_line,
        micro_s(lambda: formatter.format(record), number),
        micro_s(dropped, number),
        micro_s(guarded, number),
    )


def main() -> None:
    print("1. JSON work of one tap (parse, 2 writes, 2 reads), microseconds:")
    for _ in range(3):
        standard, codec = micro_s(json_standard, 20_000), micro_s(json_codec_tap, 20_000)
        print(f"   standard library {standard:.1f}, orjson codec {codec:.1f}")
    print("2. the bot's CPU for one Bot API call, microseconds:")
    server = subprocess.Popen([sys.executable, "-c", FAKE_API], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        server.stdout.readline()
        for _ in range(3):
            print(f"   {asyncio.run(call_cpu_us(2000)):.0f}")
    finally:
        server.terminate()
        server.wait()
    print("3. logging, microseconds:")
    for _ in range(2):
        standard, line, dropped, guarded = logging_figures(20_000)
        print(f"   one INFO JSON line {standard:.1f} with the standard library, {line:.1f} with "
              f"orjson; at WARNING, the dispatcher's INFO call {dropped:.2f} unguarded, "
              f"{guarded:.2f} guarded")  # fmt: skip


if __name__ == "__main__":
    main()
