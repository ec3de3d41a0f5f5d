"""Journeys: scripted citizens from the QR code to the thank-you, on every channel and mode.

Each journey goes through the real service in this process: ``run_service`` with the fake
Telegram Bot API and the fake Graph API (``tests/support/fakes/``) on 127.0.0.1, the webhook or
polling path, the dispatcher, the renderers and the senders; the console through its own
channel and sender. The database is a fresh PostgreSQL one with the bundled example directory
(examples/mimika.yaml). A scripted citizen reads what the bot sent (buttons, list rows, the
Flow message) and answers the way a person does, and every action is counted:

- a **tap**: every tap that opens a list, picks, or sends. A reply button is 1; a WhatsApp list
  row is 3 (open the list, pick the row, send); the first message is 1 (Telegram's START, or
  WhatsApp's send of the QR code's prefilled text; opening the link from the camera is not
  counted, on any channel); in a WhatsApp Flow, the "Isi survei" button is 1, each radio
  choice 1 and "Setuju & kirim" 1;
- a **typed reply** is 1 tap (the send) and its characters are counted apart;
- **messages** are the bot's messages the citizen receives (Telegram's edits of an answered
  question are not new messages);
- **wall** is the time from the first message to the thank-you (or the ticket), the bot's and
  the fake platforms' work only (the citizen answers at once), the median of ``--citizens``.

Journeys (``dukcapil-mpp``, a unit with five service types, and a first survey: the privacy
notice is part of it): the survey by console typing, Telegram buttons, WhatsApp chat tapping,
WhatsApp chat typing the number where a list is shown (buttons still tapped), and the WhatsApp
Flow; each with a citizen who answers every optional item (profile, service type) and one who
skips them, and a suggestion left out. Then a complaint from the unit's complaint link (kind,
a typed description, no photo, no location, not anonymous, not confidential, send).

    python bench/journeys.py --citizens 5

Nothing here leaves 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

from pg import fresh_database  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import cli_whatsapp  # noqa: E402
from bot.app import bundled_example, import_directory  # noqa: E402
from bot.cli import build_parser  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.console import ConsoleChannel, ConsoleKeys, ConsoleSender  # noqa: E402
from handlers.dispatcher import Dispatcher, utc_now  # noqa: E402
from handlers.outbox import OutboxWorker, Sender, SendReceipt  # noqa: E402
from storage import Storage, db  # noqa: E402
from storage.outbox import PendingMessage  # noqa: E402
from survey_flows.catalog import MESSAGES  # noqa: E402
from survey_flows.types import Outbound  # noqa: E402
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, SentMessage  # noqa: E402
from tests.support.fakes.telegram_api import FakeTelegramApi  # noqa: E402
from tests.support.telegram_service import Service as TelegramService  # noqa: E402
from tests.support.telegram_service import service_settings as telegram_settings  # noqa: E402
from tests.support.whatsapp_service import TOKEN as GRAPH_TOKEN  # noqa: E402
from tests.support.whatsapp_service import Service as WhatsAppService  # noqa: E402
from tests.support.whatsapp_service import service_settings as whatsapp_settings  # noqa: E402

UNIT = "dukcapil-mpp"
TELEGRAM_TOKEN = "123456:TEST-token"
DESCRIPTION = "Antrean di loket perekaman sangat panjang dan nomor antrean tidak dipanggil urut."
WAIT_S = 15.0

# What a citizen chooses where the bot offers these choices (ids as the engine names them).
PROFILE_CHOICES = {"26-35", "P", "SMA", "WIRAUSAHA"}
SCORES = ("4", "3", "3", "4", "3", "3", "4", "3", "4")
# A Flow filled in by the same citizen: its field names and option ids.
FLOW_ANSWERS: dict[str, str] = dict(zip(("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U9", "U8"),
                                        SCORES, strict=True))  # fmt: skip
FLOW_PROFILE = {"age": "26-35", "gender": "P", "education": "SMA", "occupation": "WIRAUSAHA"}
_NAV = {"back", "cancel"}
_THANKS = MESSAGES["id"]["thanks"].split("{", 1)[0]
_FILED = MESSAGES["id"]["complaint.filed"].split("{", 1)[0]


@dataclass
class Tally:
    """One journey's counts."""

    taps: int = 0
    typed_replies: int = 0
    typed_chars: int = 0
    received: int = 0
    seconds: float = 0.0

    def type(self, text: str) -> None:
        self.taps += 1  # the send
        self.typed_replies += 1
        self.typed_chars += len(text)


@dataclass
class Citizenship:
    """What the scripted citizen does at one prompt, from the choice ids the bot offered."""

    journey: str  # "survey" or "complaint"
    answers_optional: bool
    scores: list[str] = field(default_factory=lambda: list(SCORES))

    def choose(self, ids: list[str]) -> str | None:
        """The choice id to pick, or None: type :data:`DESCRIPTION` (the complaint's text)."""
        answers = [i for i in ids if i not in _NAV]
        if "submit" in answers:
            return "submit"
        if self.journey == "complaint":
            if "pengaduan" in answers:
                return "pengaduan"
            if "no" in answers:
                return "no"  # not anonymous, not confidential
            if answers == ["skip"]:
                return "skip"  # no photo, no location
            return None  # the description
        if "yes" in answers:
            return "yes"  # the privacy notice
        if {"1", "2", "3", "4"} <= set(answers):
            return self.scores.pop(0)
        if answers == ["skip"]:
            return "skip"  # the suggestion
        if not self.answers_optional and "skip" in answers:
            return "skip"
        picked = [i for i in answers if i in PROFILE_CHOICES or i == "s:0"]
        if picked:
            return picked[0]
        raise AssertionError(f"no scripted answer among {ids}")


def finished(text: str, journey: str) -> bool:
    return text.startswith(_THANKS) if journey == "survey" else text.startswith(_FILED)


# --- WhatsApp ----------------------------------------------------------------------------------


class WhatsAppCitizen:
    """A WhatsApp user who taps (or types the numbers of list rows) through the chat."""

    def __init__(self, service: WhatsAppService, api: FakeGraphApi, n: int) -> None:
        self.service, self.api = service, api
        self.user = Citizen(user_id=f"ID.77{n:012d}", wa_id=f"6281300{n:06d}", name="Warga")

    def _sent(self) -> list[SentMessage]:
        return self.api.messages_to(self.user.reply_address)

    async def _post(self, payload: dict[str, Any], journey: str) -> SentMessage:
        """Post and wait for the turn's last message: a prompt, or the journey's end."""
        before = len(self._sent())

        def turn_done() -> bool:
            sent = self._sent()[before:]
            return bool(sent) and (
                sent[-1].type == "interactive" or finished(sent[-1].text, journey)
            )

        assert await self.service.post(payload) == 200
        await self.api.wait_for(turn_done, timeout=WAIT_S)
        return self._sent()[-1]

    async def chat(self, first: str, script: Citizenship, tally: Tally, *, typing: bool) -> Tally:
        tally.taps += 1  # the QR code's prefilled text, sent
        message = await self._post(self.user.text(first), script.journey)
        while not finished(message.text, script.journey):
            kind = message.interactive.get("type")
            replies = message.replies()
            ids = [str(r["id"]).split("|")[-1] for r in replies]
            choice = script.choose(ids)
            if choice is None:
                tally.type(DESCRIPTION)
                payload = self.user.text(DESCRIPTION)
            elif kind == "list" and typing:
                answers = [i for i in ids if i not in _NAV and not i.startswith("wp1")]
                number = str(answers.index(choice) + 1)
                tally.type(number)
                payload = self.user.text(number)
            else:
                reply = replies[ids.index(choice)]
                tally.taps += 3 if kind == "list" else 1  # a list: open, pick, send
                payload = self.user.tap(reply, message.wamid, kind=str(kind))
            message = await self._post(payload, script.journey)
        tally.received = len(self._sent())
        return tally

    async def flow(self, first: str, script: Citizenship, tally: Tally) -> Tally:
        tally.taps += 1
        offer = await self._post(self.user.text(first), script.journey)
        assert offer.interactive.get("type") == "flow", "no Flow message: is it published?"
        data = offer.interactive["action"]["parameters"]["flow_action_payload"]["data"]
        fields: dict[str, str] = dict(FLOW_ANSWERS)
        if script.answers_optional:
            fields.update(FLOW_PROFILE)
            if data["ask_service"]:
                fields["service"] = data["service_types"][0]["id"]
        tally.taps += 1 + len(fields) + 1  # "Isi survei", one per radio, "Setuju & kirim"
        reply = self.user.flow_reply(offer, self.api.complete_flow(offer, fields))
        message = await self._post(reply, script.journey)
        assert finished(message.text, script.journey), message.text
        tally.received = len(self._sent())
        return tally


async def whatsapp_journeys(
    url: str, citizens: int, add: Callable[[str, Tally], None], start: int
) -> None:
    async with FakeGraphApi(access_token=GRAPH_TOKEN) as api:
        settings = whatsapp_settings(api, url, whatsapp_business_account_id=None)
        async with WhatsAppService(settings, api) as service:
            n = start
            for label, journey, typing, optional in (
                ("WhatsApp chat tapping", "survey", False, True),
                ("WhatsApp chat tapping", "survey", False, False),
                ("WhatsApp chat typing list numbers", "survey", True, True),
                ("WhatsApp chat typing list numbers", "survey", True, False),
                ("WhatsApp chat tapping", "complaint", False, True),
            ):
                for _ in range(citizens):
                    n += 1
                    person = WhatsAppCitizen(service, api, n)
                    first = f"SKM {UNIT}" if journey == "survey" else f"PENGADUAN {UNIT}"
                    script = Citizenship(journey, optional)
                    tally = await timed(person.chat(first, script, Tally(), typing=typing))
                    add(_label(label, journey, optional), tally)
        # The same number with the questionnaire's Flow published.
        flows = whatsapp_settings(api, url, whatsapp_business_account_id=api.business_account_id)
        args = build_parser().parse_args(["whatsapp", "flow", "publish"])
        with io.StringIO() as quiet, _stdout(quiet):
            assert await cli_whatsapp.dispatch(args, flows) == 0
        async with WhatsAppService(flows, api) as service:
            for optional in (True, False):
                for _ in range(citizens):
                    n += 1
                    person = WhatsAppCitizen(service, api, n)
                    script = Citizenship("survey", optional)
                    tally = await timed(person.flow(f"SKM {UNIT}", script, Tally()))
                    add(_label("WhatsApp Flow", "survey", optional), tally)


# --- Telegram ----------------------------------------------------------------------------------


async def telegram_journeys(
    url: str, citizens: int, add: Callable[[str, Tally], None], start: int
) -> None:
    async with FakeTelegramApi(token=TELEGRAM_TOKEN) as api:
        settings = telegram_settings(api, url)
        async with TelegramService(settings):
            n = start
            for journey, optional in (("survey", True), ("survey", False), ("complaint", True)):
                for _ in range(citizens):
                    n += 1
                    tally = await timed(_telegram_citizen(api, 700_000 + n, journey, optional))
                    add(_label("Telegram buttons", journey, optional), tally)


async def _telegram_citizen(api: FakeTelegramApi, chat: int, journey: str, optional: bool) -> Tally:
    tally = Tally()
    script = Citizenship(journey, optional)

    def sends() -> list[Any]:
        return [c for c in api.calls_to("sendMessage") if str(c.params.get("chat_id")) == str(chat)]

    async def post(update: dict[str, Any]) -> dict[str, Any]:
        before = len(sends())

        def turn_done() -> bool:
            new = sends()[before:]
            last = api.last_sent(chat)
            return (
                bool(new)
                and last is not None
                and ("reply_markup" in last or finished(str(last.get("text", "")), journey))
            )

        api.push_update(update)
        await api.wait_for(turn_done, timeout=WAIT_S)
        last = api.last_sent(chat)
        assert last is not None
        return last

    prefix = "u_" if journey == "survey" else "c_"
    tally.taps += 1  # START
    message = await post(api.make_message_update(chat, f"/start {prefix}{UNIT}"))
    while not finished(str(message.get("text", "")), journey):
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        ids = [str(b["callback_data"]).split("|")[-1] for b in buttons]
        choice = script.choose(ids)
        if choice is None:
            tally.type(DESCRIPTION)
            message = await post(api.make_message_update(chat, DESCRIPTION))
            continue
        tally.taps += 1
        data = str(buttons[ids.index(choice)]["callback_data"])
        message = await post(api.make_callback_update(chat, message["message_id"], data))
    tally.received = len(sends())
    return tally


# --- the console -------------------------------------------------------------------------------


class _RecordingSender(ConsoleSender):
    """The console's sender, keeping what it printed as engine messages too."""

    def __init__(self, keys: ConsoleKeys) -> None:
        super().__init__(io.StringIO(), keys)
        self.shown: dict[str, list[Outbound]] = {}

    async def send(self, message: PendingMessage) -> SendReceipt:
        if message.kind == "message" and message.address is not None:
            self.shown.setdefault(message.address, []).append(Outbound.from_json(message.payload))
        return await super().send(message)


async def console_journeys(
    storage: Storage, settings: Settings, citizens: int, add: Callable[[str, Tally], None]
) -> None:
    keys = ConsoleKeys()
    sender = _RecordingSender(keys)
    senders: dict[str, Sender] = {"console": sender}
    outbox = OutboxWorker(storage, senders, utc_now)
    dispatcher = Dispatcher(storage, settings.flow_settings(), settings.pseudonym_key(), outbox)
    for journey, optional in (("survey", True), ("survey", False), ("complaint", True)):
        for n in range(citizens):
            contact = f"journey-{journey}-{int(optional)}-{n}"
            channel = ConsoleChannel(dispatcher, contact=contact, keys=keys)
            script = Citizenship(journey, optional)
            word = "SKM" if journey == "survey" else "PENGADUAN"
            tally = await timed(
                _console_citizen(channel, sender, contact, f"{word} {UNIT}", script)
            )
            add(_label("console typing", journey, optional), tally)


async def _console_citizen(
    channel: ConsoleChannel,
    sender: _RecordingSender,
    contact: str,
    first: str,
    script: Citizenship,
) -> Tally:
    tally = Tally()
    tally.type(first)
    await channel.send_line(first)
    while not finished((last := sender.shown[contact][-1]).text, script.journey):
        choice = script.choose([c.id for c in last.choices])
        if choice is None:
            line = DESCRIPTION
        else:
            line = str([c.id for c in last.answer_choices()].index(choice) + 1)
        tally.type(line)
        await channel.send_line(line)
    tally.received = len(sender.shown[contact])
    return tally


# --- running and printing ----------------------------------------------------------------------


async def timed(work: Awaitable[Tally]) -> Tally:
    started = time.perf_counter()
    tally = await work
    tally.seconds = time.perf_counter() - started
    return tally


def _label(mode: str, journey: str, optional: bool) -> str:
    if journey == "complaint":
        return f"complaint, {mode}"
    return f"survey, {mode} | {'answers' if optional else 'skips'} the optional items"


class _stdout:
    """Send ``sys.stdout`` to ``stream`` for a while (the publish command prints a table)."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def __enter__(self) -> None:
        self.saved, sys.stdout = sys.stdout, self.stream

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self.saved


async def main(url: str, citizens: int) -> None:
    await fresh_database(url)
    storage = Storage(db.create_engine(url))
    await db.upgrade(storage.engine)
    await import_directory(storage, bundled_example())
    results: dict[str, list[Tally]] = {}

    def add(label: str, tally: Tally) -> None:
        results.setdefault(label, []).append(tally)

    settings = Settings(database_url=url, pseudonym_secret="journeys-bench-pseudonym")
    await console_journeys(storage, settings, citizens, add)
    await storage.dispose()
    await telegram_journeys(url, citizens, add, 0)
    await whatsapp_journeys(url, citizens, add, 1000)
    print_table(results, citizens)


def print_table(results: dict[str, list[Tally]], citizens: int) -> None:
    print(f"unit {UNIT} (examples/mimika.yaml), {citizens} citizens per journey, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")  # fmt: skip
    header = f"{'journey':<72} {'taps':>4} {'typed':>11} {'msgs':>4} {'wall ms':>8}"
    print(header)
    print("-" * len(header))
    for label, tallies in results.items():
        first = tallies[0]
        # Every citizen of a journey follows the same script: the counts must agree.
        assert all((t.taps, t.typed_chars, t.received) == (first.taps, first.typed_chars,
                   first.received) for t in tallies), label  # fmt: skip
        typed = f"{first.typed_replies}/{first.typed_chars}ch" if first.typed_replies else "-"
        wall = statistics.median(t.seconds for t in tallies) * 1000
        print(f"{label:<72} {first.taps:>4} {typed:>11} {first.received:>4} {wall:>8.0f}")
    print("taps: every tap that opens a list, picks or sends (a typed reply: 1, its characters "
          "in 'typed' as replies/characters); msgs: the bot's messages received")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/skm_journeys"
    )
    parser.add_argument("--citizens", type=int, default=3, help="per journey (default 3)")
    arguments = parser.parse_args()
    if make_url(arguments.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url: a PostgreSQL database (it is dropped and created)")
    asyncio.run(main(arguments.database_url, arguments.citizens))
