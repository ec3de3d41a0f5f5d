"""Golden transcripts of a complaint's whole life, on the console, Telegram and WhatsApp.

One channel-neutral script (:data:`SCRIPT`) is played on each channel through its public entry
point only: the console channel fed a line, Telegram's webhook fed Bot API update JSON (replies
read from the fake Bot API), WhatsApp's signed webhook fed Cloud API payloads (replies read from
the fake Graph API). Every step builds a FRESH service (storage engine, dispatcher, outbox,
sender, channel adapter) on the same SQLite file, so nothing can live in memory between steps;
the clock is fixed and moves one minute per step.

The transcript (``tests/golden/complaints/<channel>.json``) records, per step, who acted, what
they sent (as a person would say it, and the raw inbound kind), every message each party
received as the channel renders it, and the complaint's status and audit-trail length read back
from the database. Ticket numbers and wamids are replaced by ``<TICKET-n>`` / ``<WAMID-n>``.
``UPDATE_GOLDEN=1`` rewrites the files. The goldens record what the code does TODAY, right or
wrong: a fix shows up as a diff to review.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp.test_utils import TestServer

from bot.app import import_holidays
from bot.holidays_file import bundled_holidays
from bot.web import TELEGRAM_WEBHOOK_PATH, WHATSAPP_WEBHOOK_PATH, build_web_app
from handlers.console import ConsoleChannel, ConsoleKeys, ConsoleSender
from handlers.dispatcher import DirectoryCache, Dispatcher
from handlers.outbox import OutboxWorker, Sender, SendReceipt
from handlers.telegram import RateLimiter, TelegramSender, TelegramUpdates, make_bot
from handlers.whatsapp import GraphClient, WhatsAppSender, WhatsAppUpdates, whatsapp_limiter
from storage import Storage, db
from storage.complaints import complaint_events, load_complaint
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from storage.outbox import PendingMessage
from survey_flows.engine import FlowSettings
from tests.support.complaint_media import PHOTO, data_of
from tests.support.dispatcher import PSEUDONYM_SECRET, T0, Clock
from tests.support.fakes.graph_api import Citizen, FakeGraphApi, SentMessage, signature_header
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.golden_files import match_golden

GOLDEN_DIR = Path(__file__).parents[1] / "golden" / "complaints"
TICKET = "{ticket}"  # replaced, in what a person sends, by the ticket the citizen was given
UNKNOWN_TICKET = "ADU-2222-2222"  # well formed, never issued
FORGED_TICKET = "ADU-ZZZZ-ZZZZ"
_TICKET_PATTERN = re.compile(r"ADU-[0-9A-Z]{4}-[0-9A-Z]{4}")
_WAMID_PATTERN = re.compile(r"wamid\.[A-Za-z0-9_=-]+")
LOCATION = (-4.5465, 136.8883)  # Mal Pelayanan Publik, Timika
DESCRIPTION = "Antrean perekaman KTP-el sangat panjang dan loket tutup lebih awal dari jadwal."

CITIZEN = "citizen"
OTHER_CITIZEN = "other citizen"
OFFICER = "officer"  # Disdukcapil's officer
HEAD = "head"  # Disdukcapil's head
RSUD_OFFICER = "RSUD officer"
PARTIES = (CITIZEN, OTHER_CITIZEN, OFFICER, HEAD, RSUD_OFFICER)


# --- the script -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Say:
    """Typed text (``/command`` included: the platform decides what it is)."""

    text: str
    whatsapp: str | None = None  # what a WhatsApp user types instead, when it differs


@dataclass(frozen=True, slots=True)
class Tap:
    """A tap on the button (console: the number) labelled ``label`` of the newest message that
    has it, and contains ``on`` when given."""

    label: str
    on: str | None = None


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo from the phone's gallery."""


@dataclass(frozen=True, slots=True)
class Location:
    """The phone's location; the console skips the question instead."""


@dataclass(frozen=True, slots=True)
class Quote:
    """A reply that quotes the newest message containing ``on``."""

    on: str
    text: str


@dataclass(frozen=True, slots=True)
class Forge:
    """A button press with made-up data: prompt token and choice id."""

    token: str
    choice: str


Act = Say | Tap | Photo | Location | Quote | Forge


@dataclass(frozen=True, slots=True)
class Step:
    actor: str
    does: str  # what a person would say they did
    act: Act
    refusal: bool = False  # the transcript then proves whether the complaint stayed as it was
    only: tuple[str, ...] = ()  # the channels that play it (empty: all)


SCRIPT: tuple[Step, ...] = (
    # The whole life.
    Step(CITIZEN, "opens the main menu", Say("/start", whatsapp="Selamat pagi")),
    Step(CITIZEN, "chooses to file a complaint", Tap("Sampaikan pengaduan")),
    Step(CITIZEN, "chooses the OPD: its only unit needs no choosing", Tap("Disdukcapil")),
    Step(CITIZEN, "chooses the kind of report", Tap("Pengaduan")),
    Step(CITIZEN, "pastes a description over the limit: it is kept", Say(DESCRIPTION * 26)),
    Step(CITIZEN, "chooses to type it again", Tap("Ketik ulang")),
    Step(CITIZEN, "describes the problem", Say(DESCRIPTION)),
    Step(CITIZEN, "types ULANG: the photo question is asked again", Say("ulang")),
    Step(CITIZEN, "types MENU mid-complaint: asked once before leaving", Say("menu")),
    Step(CITIZEN, "stays, the description kept", Tap("Tidak, lanjutkan")),
    Step(CITIZEN, "sends a photo", Photo()),
    Step(CITIZEN, "has no more photos", Tap("Lanjut")),
    Step(CITIZEN, "shares the location", Location()),
    Step(CITIZEN, "does not report anonymously", Tap("Tidak", on="anonim")),
    Step(CITIZEN, "does not ask for confidentiality", Tap("Tidak", on="Rahasiakan")),
    Step(CITIZEN, "sends the complaint", Tap("Kirim", on="Ringkasan")),
    Step(OFFICER, "verifies it with the notification's button", Tap("Verifikasi", on=TICKET)),
    Step(
        OFFICER,
        "answers with the typed command",
        Say(f"/tanggapi {TICKET} Loket tambahan dibuka mulai Senin pukul 08.00 WIT."),
    ),
    Step(
        OFFICER,
        "answers with the typed command without a slash",
        Say(f"TANGGAPI {TICKET} Petugas tambahan juga disiapkan pada jam sibuk."),
    ),
    Step(
        OFFICER,
        "answers once more by quoting the notification",
        Quote(f"Pengaduan baru {TICKET}", "Nomor antrean kini dapat diambil lewat WhatsApp."),
    ),
    Step(OFFICER, "finishes it with the button", Tap("Selesai", on=TICKET)),
    Step(CITIZEN, "rates the handling as good", Tap("Ya, baik")),
    Step(CITIZEN, "reopens it within the limit", Tap("Buka kembali")),
    # The refusals: each must leave the complaint as it was.
    Step(
        RSUD_OFFICER,
        "(another OPD) answers it with the typed command",
        Say(f"/tanggapi {TICKET} Kami yang menangani."),
        refusal=True,
    ),
    Step(
        RSUD_OFFICER,
        "(another OPD) presses a forged answer button for it",
        Forge("o", f"ox:answer:{TICKET}"),
        refusal=True,
    ),
    Step(
        OTHER_CITIZEN,
        "asks for its status",
        Say(f"/status {TICKET}", whatsapp=f"STATUS {TICKET}"),
        refusal=True,
    ),
    Step(
        OTHER_CITIZEN,
        "presses a forged rate button for it",
        Forge("t", f"rate:{TICKET}:poor"),
        refusal=True,
    ),
    Step(
        OFFICER,
        "presses a button whose id carries a forged ticket",
        Forge("o", f"ox:verify:{FORGED_TICKET}"),
        refusal=True,
    ),
    Step(
        CITIZEN,
        "(not registered) types an officer command",
        Say(f"/tanggapi {TICKET} Saya jawab sendiri saja."),
        refusal=True,
    ),
    Step(
        OFFICER,
        "answers an unknown ticket",
        Say(f"/tanggapi {UNKNOWN_TICKET} Jawaban untuk tiket yang tidak ada."),
        refusal=True,
    ),
    Step(OFFICER, "types the command without its arguments", Say("/tanggapi"), refusal=True),
    Step(
        OFFICER,
        "answers with a text over the limit (2,000 characters)",
        Say(f"TANGGAPI {TICKET} " + "Antrean akan kami tata ulang. " * 70),
        refusal=True,
    ),
    Step(
        HEAD,
        "answers where the OPD has officers (officers' work)",
        Say(f"/tanggapi {TICKET} Jawaban langsung dari kepala dinas."),
        refusal=True,
    ),
    # The unit's complaint link (its poster's QR code): Telegram's start=c_<unit>, WhatsApp's
    # prefilled text "PENGADUAN <unit>".
    Step(
        OTHER_CITIZEN,
        "opens a unit's complaint link: its complaint form at once",
        Say("/start c_rsud-igd", whatsapp="PENGADUAN rsud-igd"),
    ),
    # Erasure with the complaint still open: the citizen keeps it until it is finished.
    Step(
        CITIZEN,
        "asks to erase their data: told about the open complaint",
        Say("/hapus", whatsapp="hapus"),
    ),  # fmt: skip
    Step(
        CITIZEN,
        "keeps what the open complaint needs until it is finished",
        Tap("Simpan pengaduan"),
    ),  # fmt: skip
    Step(
        CITIZEN,
        "still finds the complaint by its ticket",
        Say(f"/status {TICKET}", whatsapp=f"STATUS {TICKET}"),
    ),  # fmt: skip
    Step(
        OFFICER,
        "answers it: the answer still reaches the citizen",
        Say(f"/tanggapi {TICKET} Loket tambahan sudah dibuka."),
    ),  # fmt: skip
)


def fill(text: str, ticket: str | None) -> str:
    return text.replace(TICKET, ticket or "ADU-????-????")


def lines(text: str) -> list[str]:
    return text.split("\n")


# --- the directory and the database -----------------------------------------------------------


def directory(channel: str, address: dict[str, str]) -> tuple[OpdSpec, ...]:
    """Disdukcapil (an officer and a head) and RSUD (its own officer), on ``channel``."""
    return (
        OpdSpec(
            code="disdukcapil",
            name="Dinas Kependudukan dan Pencatatan Sipil",
            short_name="Disdukcapil",
            recipients=(
                RecipientSpec("head", channel, address[HEAD], "Kepala Disdukcapil"),
                RecipientSpec("officer", channel, address[OFFICER], "Petugas Disdukcapil"),
            ),
            units=(UnitSpec("dukcapil-mpp", "Loket Disdukcapil MPP", ("KTP-el", "KK")),),
        ),
        OpdSpec(
            code="rsud",
            name="RSUD Mimika",
            recipients=(RecipientSpec("officer", channel, address[RSUD_OFFICER], "Petugas RS"),),
            units=(UnitSpec("rsud-igd", "IGD RSUD Mimika", ("IGD",)),),
        ),
    )


async def prepare_database(url: str, specs: tuple[OpdSpec, ...]) -> None:
    """Migrate, load the directory and the bundled holidays."""
    storage = Storage(db.create_engine(url))
    try:
        await db.upgrade(storage.engine)
        async with storage.transaction() as tx:
            await apply_directory(tx, specs, T0)
        for path in bundled_holidays():
            await import_holidays(storage, path)
    finally:
        await storage.dispose()


async def complaint_state(url: str, ticket: str | None) -> dict[str, Any] | None:
    """The complaint's status and the length of its audit trail, read through storage."""
    if ticket is None:
        return None
    storage = Storage(db.create_engine(url))
    try:
        async with storage.transaction() as tx:
            complaint = await load_complaint(tx, ticket)
            events = await complaint_events(tx, ticket)
    finally:
        await storage.dispose()
    if complaint is None:
        return None
    return {"status": complaint.status.value, "events": len(events)}


SendersFor = Callable[[Storage], dict[str, Sender]]


@asynccontextmanager
async def fresh_dispatcher(
    url: str, clock: Clock, senders_for: SendersFor
) -> AsyncIterator[tuple[Storage, OutboxWorker, Dispatcher]]:
    """A new storage engine, outbox and dispatcher on the same database: nothing carried over."""
    storage = Storage(db.create_engine(url))
    try:
        outbox = OutboxWorker(storage, senders_for(storage), clock)
        dispatcher = Dispatcher(
            storage,
            FlowSettings(),
            PSEUDONYM_SECRET,
            outbox,
            clock=clock,
            directory_cache=DirectoryCache(ttl=timedelta(0)),
        )
        yield storage, outbox, dispatcher
        await dispatcher.drain()
    finally:
        await storage.dispose()


# --- the channels -----------------------------------------------------------------------------

Sent = dict[str, Any]  # the raw inbound, described
Skipped = str  # why the channel cannot do this


class Driver(Protocol):
    channel: str
    notes: tuple[str, ...]
    url: str  # the SQLite database every step's fresh service opens
    clock: Clock

    def addresses(self) -> dict[str, Any]: ...

    def specs(self) -> tuple[OpdSpec, ...]: ...

    async def send(self, actor: str, act: Act, ticket: str | None) -> Sent | Skipped: ...

    def received(self) -> dict[str, list[dict[str, Any]]]:
        """What each party received since the last call, as the channel renders it."""
        ...


class _ConsoleRouter:
    """Prints each outbound message as the console does, kept per recipient address."""

    channel = "console"

    def __init__(self, keys: ConsoleKeys) -> None:
        self.printed: list[tuple[str, str]] = []
        self.keys = keys

    async def send(self, message: PendingMessage) -> SendReceipt:
        screen = io.StringIO()
        receipt = await ConsoleSender(screen, self.keys).send(message)
        if screen.getvalue():
            self.printed.append((message.address or "", screen.getvalue()))
        return receipt


class ConsoleDriver:
    """Each step: a new console channel for the actor, fed one line."""

    channel = "console"
    notes: tuple[str, ...] = (
        "Each party is a console contact; officers and the head are registered on 'console'.",
        "The console has no buttons: a tap is typing the number printed before the label; the "
        "numbers of a complaint's notification or rating question are kept by the terminal "
        "(ConsoleKeys), the only state carried between steps, as a chat app keeps its buttons.",
        "It cannot send a photo or a location, quote a message or forge a button: those steps "
        "are skipped (the location question is skipped by typing the number of 'Lewati').",
    )

    def __init__(self, url: str, clock: Clock) -> None:
        self.url = url
        self.clock = clock
        self.contacts = {
            CITIZEN: "warga",
            OTHER_CITIZEN: "warga-lain",
            OFFICER: "petugas-dukcapil",
            HEAD: "kepala-dukcapil",
            RSUD_OFFICER: "petugas-rsud",
        }
        self.keys = ConsoleKeys()  # the terminals' own memory, not the service's
        self.router = _ConsoleRouter(self.keys)
        self._seen = 0
        self._history: list[tuple[str, str]] = []  # (party, printed message), oldest first

    def addresses(self) -> dict[str, Any]:
        return dict(self.contacts)

    def specs(self) -> tuple[OpdSpec, ...]:
        return directory("console", self.contacts)

    def _number_of(self, actor: str, label: str, on: str | None) -> str | None:
        choice = re.compile(rf"^\s+(\d+)\. {re.escape(label)}$", re.M)
        for party, printed in reversed(self._history):
            if party == actor and (on is None or on in printed) and (m := choice.search(printed)):
                return m[1]
        return None

    async def send(self, actor: str, act: Act, ticket: str | None) -> Sent | Skipped:
        sent: Sent
        if isinstance(act, Say):
            sent = {"kind": "line", "line": fill(act.text, ticket)}
        elif isinstance(act, Tap | Location):
            label = act.label if isinstance(act, Tap) else "Lewati"
            on = fill(act.on, ticket) if isinstance(act, Tap) and act.on else None
            number = self._number_of(actor, label, on)
            if number is None:
                return f"nothing printed for {actor} offers «{label}»"
            sent = {"kind": "line", "line": number, "number of": label}
            if isinstance(act, Location):
                sent["instead"] = "the console cannot share a location"
        elif isinstance(act, Photo):
            return "the console cannot send a photo"
        elif isinstance(act, Quote):
            return "the console cannot quote a message"
        else:
            return "the console has no buttons to forge"
        async with fresh_dispatcher(self.url, self.clock, lambda _: {"console": self.router}) as (
            _,
            _,
            dispatcher,
        ):
            console = ConsoleChannel(
                dispatcher,
                contact=self.contacts[actor],
                stdin=io.StringIO(""),
                stdout=io.StringIO(),
                keys=self.keys,
            )
            await console.run(first_command=sent["line"])
        return sent

    def received(self) -> dict[str, list[dict[str, Any]]]:
        party_of = {address: party for party, address in self.contacts.items()}
        out: dict[str, list[dict[str, Any]]] = {}
        for address, printed in self.router.printed[self._seen :]:
            party = party_of.get(address, address)
            self._history.append((party, printed))
            out.setdefault(party, []).append({"printed": lines(printed.rstrip("\n"))})
        self._seen = len(self.router.printed)
        return out


TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "webhook_secret-123"


class TelegramDriver:
    """Each step: a new Bot, sender, dispatcher and webhook app; the update is POSTed to it."""

    channel = "telegram"
    notes: tuple[str, ...] = (
        "Updates are POSTed to the webhook (/telegram/webhook) as the Bot API's JSON; replies "
        "are the sendMessage / editMessageText calls the fake Bot API received.",
        "Each party is a private chat; officers and the head are registered by chat id.",
    )

    def __init__(self, url: str, clock: Clock, api: FakeTelegramApi) -> None:
        self.url = url
        self.clock = clock
        self.api = api
        self.chats = {
            CITIZEN: 610000001,
            OTHER_CITIZEN: 610000002,
            OFFICER: 200000001,
            HEAD: 100000001,
            RSUD_OFFICER: 300000001,
        }
        self._seen = 0

    def addresses(self) -> dict[str, Any]:
        return dict(self.chats)

    def specs(self) -> tuple[OpdSpec, ...]:
        return directory("telegram", {k: str(v) for k, v in self.chats.items()})

    def _newest(self, chat: int, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return next((m for m in reversed(self.api.sent_messages(chat)) if predicate(m)), {})

    def _update(
        self, actor: str, act: Act, ticket: str | None
    ) -> tuple[dict[str, Any], Sent] | Skipped:
        chat = self.chats[actor]
        api = self.api
        if isinstance(act, Say):
            text = fill(act.text, ticket)
            return api.make_message_update(chat, text), {"kind": "message.text", "text": text}
        if isinstance(act, Tap):
            on = fill(act.on, ticket) if act.on else None

            def offers(message: dict[str, Any]) -> bool:
                rows = message.get("reply_markup", {}).get("inline_keyboard", [])
                labels = {button["text"] for row in rows for button in row}
                return act.label in labels and (on is None or on in message.get("text", ""))

            message = self._newest(chat, offers)
            if not message:
                return f"no message to {actor} has a button «{act.label}»"
            data = data_of(message, act.label)
            update = api.make_callback_update(chat, message["message_id"], data)
            return update, {"kind": "callback_query", "button": act.label, "data": data}
        if isinstance(act, Photo):
            return api.make_message_update(chat, None, extra=PHOTO), {"kind": "message.photo"}
        if isinstance(act, Location):
            where = {"latitude": LOCATION[0], "longitude": LOCATION[1]}
            update = api.make_message_update(chat, None, extra={"location": where})
            return update, {"kind": "message.location", **where}
        if isinstance(act, Quote):
            on = fill(act.on, ticket)
            quoted = self._newest(chat, lambda m: on in m.get("text", ""))
            if not quoted:
                return f"no message to {actor} contains {on}"
            update = api.make_message_update(
                chat, act.text, reply_to_message_id=quoted["message_id"]
            )
            first_line = lines(quoted["text"])[0]
            sent = {"kind": "message.text", "text": act.text, "reply_to_message": first_line}
            return update, sent
        data = f"v1|{act.token}|{fill(act.choice, ticket)}"
        latest = self.api.last_sent(chat)
        update = api.make_callback_update(chat, latest["message_id"] if latest else 1, data)
        return update, {"kind": "callback_query", "data": data}

    async def send(self, actor: str, act: Act, ticket: str | None) -> Sent | Skipped:
        made = self._update(actor, act, ticket)
        if isinstance(made, str):
            return made
        update, sent = made
        bot = make_bot(TELEGRAM_TOKEN, self.api.base_url)
        await bot.initialize()
        limiter = RateLimiter(overall_per_s=1000.0, per_chat_interval_s=0.001)
        try:
            async with fresh_dispatcher(
                self.url, self.clock, lambda _: {"telegram": TelegramSender(bot, limiter)}
            ) as (storage, _, dispatcher):
                updates = TelegramUpdates(
                    bot, lambda inbound: dispatcher.handle(inbound, background=True)
                )
                app = build_web_app(storage, telegram=updates, telegram_secret=TELEGRAM_SECRET)
                async with TestServer(app) as server, aiohttp.ClientSession() as http:
                    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
                    url = server.make_url(TELEGRAM_WEBHOOK_PATH)
                    async with http.post(url, json=update, headers=headers) as response:
                        assert response.status == 200, await response.text()
                    await dispatcher.drain()
                    await updates.drain()
        finally:
            await bot.shutdown()
        return sent

    def received(self) -> dict[str, list[dict[str, Any]]]:
        party_of = {chat: party for party, chat in self.chats.items()}
        out: dict[str, list[dict[str, Any]]] = {}
        calls = self.api.calls
        for call in calls[self._seen :]:
            if call.method not in {"sendMessage", "editMessageText"}:
                continue
            chat = int(call.params["chat_id"])
            shown: dict[str, Any] = {"edited": True} if call.method == "editMessageText" else {}
            shown["text"] = lines(str(call.params.get("text", "")))
            markup = call.params.get("reply_markup") or {}
            buttons = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
            if buttons:
                shown["buttons"] = buttons
            out.setdefault(party_of.get(chat, str(chat)), []).append(shown)
        self._seen = len(calls)
        return out


WHATSAPP_TOKEN = "EAAG-test-token"
WHATSAPP_APP_SECRET = "meta-app-secret-for-tests"
WHATSAPP_VERIFY_TOKEN = "skm-verify-token-123"


class WhatsAppDriver:
    """Each step: a new Graph client, sender, dispatcher and webhook app; the payload is signed
    and POSTed to it."""

    channel = "whatsapp"
    notes: tuple[str, ...] = (
        "Payloads are POSTed to /whatsapp/webhook signed with X-Hub-Signature-256; every one "
        "carries both wa_id (the phone number) and user_id (the BSUID), as Meta has sent since "
        "April 2026. Replies are the messages the fake Graph API accepted.",
        "Officers and the head are registered by PHONE number (what an OPD knows of its staff).",
        "'to' / 'recipient' says how the bot addressed a message: by phone number or by BSUID.",
    )

    def __init__(self, url: str, clock: Clock, api: FakeGraphApi) -> None:
        self.url = url
        self.clock = clock
        self.api = api
        self.users = {
            CITIZEN: Citizen("ID.1349120865530274", "6281234567890", "Maria Kogoya"),
            OTHER_CITIZEN: Citizen("ID.2290417736501122", "6281298765432", "Yohanes"),
            OFFICER: Citizen("ID.7301000000000001", "6281211110001", "Petugas Dukcapil"),
            HEAD: Citizen("ID.7301000000000002", "6281211110002", "Kepala Dukcapil"),
            RSUD_OFFICER: Citizen("ID.7302000000000003", "6281311110003", "Petugas RSUD"),
        }
        self._seen = 0

    def addresses(self) -> dict[str, Any]:
        return {p: {"wa_id": u.wa_id, "user_id": u.user_id} for p, u in self.users.items()}

    def specs(self) -> tuple[OpdSpec, ...]:
        return directory("whatsapp", {p: u.wa_id or "" for p, u in self.users.items()})

    def _to(self, actor: str) -> list[SentMessage]:
        user = self.users[actor]
        return [m for m in self.api.sent if m.address in {user.user_id, user.wa_id}]

    def _payload(
        self, actor: str, act: Act, ticket: str | None
    ) -> tuple[dict[str, Any], Sent] | Skipped:
        user = self.users[actor]
        if isinstance(act, Say):
            text = fill(act.whatsapp or act.text, ticket)
            return user.text(text), {"kind": "text", "body": text}
        if isinstance(act, Tap):
            on = fill(act.on, ticket) if act.on else None
            for message in reversed(self._to(actor)):
                if on is not None and on not in message.text:
                    continue
                for reply in message.replies():
                    title = str(reply["title"])
                    cut = title.endswith("…") and act.label.startswith(title[:-1])
                    if title == act.label or cut:
                        kind = "button" if message.interactive.get("type") == "button" else "list"
                        sent = {"kind": f"interactive.{kind}_reply", "id": reply["id"],
                                "title": title, "context.id": message.wamid}  # fmt: skip
                        return user.tap(reply, message.wamid, kind=kind), sent
            return f"no message to {actor} offers «{act.label}»"
        if isinstance(act, Photo):
            return user.image(), {"kind": "image"}
        if isinstance(act, Location):
            return user.location(), {"kind": "location"}
        if isinstance(act, Quote):
            on = fill(act.on, ticket)
            quoted = next((m for m in reversed(self._to(actor)) if on in m.text), None)
            if quoted is None:
                return f"no message to {actor} contains {on}"
            payload = user.text(act.text)
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            message["context"] = {"from": self.api.display_phone_number, "id": quoted.wamid}
            sent = {"kind": "text", "body": act.text, "context.id": quoted.wamid,
                    "quoted": lines(quoted.text)[0]}  # fmt: skip
            return payload, sent
        reply_id = f"v1|{act.token}|{fill(act.choice, ticket)}"
        latest = next(iter(reversed(self._to(actor))), None)
        context = latest.wamid if latest else None
        payload = user.tap({"id": reply_id, "title": "Pilih"}, context, kind="button")
        return payload, {"kind": "interactive.button_reply", "id": reply_id}

    async def send(self, actor: str, act: Act, ticket: str | None) -> Sent | Skipped:
        made = self._payload(actor, act, ticket)
        if isinstance(made, str):
            return made
        payload, sent = made
        body = json.dumps(payload).encode()
        async with aiohttp.ClientSession() as http:
            graph = GraphClient(
                http,
                access_token=WHATSAPP_TOKEN,
                phone_number_id=self.api.phone_number_id,
                base_url=self.api.base_url,
            )

            def senders(storage: Storage) -> dict[str, Sender]:
                limiter = whatsapp_limiter(1000.0)
                return {
                    "whatsapp": WhatsAppSender(graph, storage, clock=self.clock, limiter=limiter)
                }

            async with fresh_dispatcher(self.url, self.clock, senders) as (
                storage,
                outbox,
                dispatcher,
            ):
                updates = WhatsAppUpdates(
                    storage,
                    lambda inbound: dispatcher.handle(inbound, background=True),
                    outbox,
                    self.api.phone_number_id,
                    clock=self.clock,
                )
                app = build_web_app(
                    storage,
                    whatsapp=updates,
                    whatsapp_app_secret=WHATSAPP_APP_SECRET,
                    whatsapp_verify_token=WHATSAPP_VERIFY_TOKEN,
                )
                async with TestServer(app) as server:
                    headers = {
                        "Content-Type": "application/json",
                        **signature_header(WHATSAPP_APP_SECRET, body),
                    }
                    url = server.make_url(WHATSAPP_WEBHOOK_PATH)
                    async with http.post(url, data=body, headers=headers) as response:
                        assert response.status == 200, await response.text()
                    await dispatcher.drain()
        return sent

    def received(self) -> dict[str, list[dict[str, Any]]]:
        party_of: dict[str, str] = {}
        for party, user in self.users.items():
            party_of[user.user_id] = party
            if user.wa_id:
                party_of[user.wa_id] = party
        out: dict[str, list[dict[str, Any]]] = {}
        for message in self.api.sent[self._seen :]:
            party = party_of.get(message.address, message.address)
            out.setdefault(party, []).append(whatsapp_rendering(message))
        self._seen = len(self.api.sent)
        return out


def whatsapp_rendering(message: SentMessage) -> dict[str, Any]:
    """What the user's WhatsApp shows: body, buttons or list rows; and how it was addressed."""
    shown: dict[str, Any] = {
        "addressed by": "to (phone number)" if "to" in message.body else "recipient (BSUID)",
        "type": message.type,
    }
    if message.type == "template":
        shown["template"] = message.body["template"]["name"]
        return shown
    shown["body"] = lines(message.text)
    interactive = message.interactive
    if interactive:
        shown["type"] = f"interactive.{interactive.get('type')}"
        if interactive.get("type") == "button":
            shown["buttons"] = [str(reply["title"]) for reply in message.replies()]
        else:
            shown["list button"] = interactive.get("action", {}).get("button")
            shown["rows"] = [
                str(row["title"]) + (f" — {row['description']}" if row.get("description") else "")
                for row in message.replies()
            ]
        if "footer" in interactive:
            shown["footer"] = interactive["footer"]["text"]
    return shown


# --- playing the script -----------------------------------------------------------------------


async def play(driver: Driver) -> dict[str, Any]:
    """Run :data:`SCRIPT` on ``driver``'s channel; the transcript, not yet normalised."""
    url, clock = driver.url, driver.clock
    await prepare_database(url, driver.specs())
    steps: list[dict[str, Any]] = []
    ticket: str | None = None
    before: dict[str, Any] | None = None
    for step in SCRIPT:
        if step.only and driver.channel not in step.only:
            continue
        clock.advance(timedelta(minutes=1))
        sent = await driver.send(step.actor, step.act, ticket)
        received = driver.received()
        if ticket is None:
            found = _TICKET_PATTERN.search(json.dumps(received.get(CITIZEN, [])))
            ticket = found[0] if found else None
        state = await complaint_state(url, ticket)
        entry: dict[str, Any] = {"step": len(steps) + 1, "actor": step.actor, "does": step.does}
        if isinstance(sent, str):
            entry["skipped"] = sent
        else:
            entry["sends"] = sent
        entry["received"] = {party: received[party] for party in PARTIES if party in received}
        entry["complaint"] = state
        if step.refusal:
            entry["complaint unchanged"] = state == before
        before = state
        steps.append(entry)
    return {
        "channel": driver.channel,
        "about": [
            "Generated by tests/e2e/test_complaint_goldens.py (UPDATE_GOLDEN=1 rewrites it).",
            f"Clock fixed at {T0.isoformat()}, one minute more at every step; SQLite; a fresh "
            "service on the same database for every step.",
            *driver.notes,
        ],
        "parties": driver.addresses(),
        "steps": steps,
    }


def normalise(transcript: dict[str, Any]) -> str:
    """The transcript as JSON with run-to-run values replaced by stable placeholders."""
    text = json.dumps(transcript, ensure_ascii=False, indent=2) + "\n"
    fixed = {UNKNOWN_TICKET, FORGED_TICKET}
    names: dict[str, str] = {}

    def numbered(prefix: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            value = match[0]
            if value in fixed:
                return value
            if value not in names:
                count = sum(1 for name in names.values() if name.startswith(f"<{prefix}-"))
                names[value] = f"<{prefix}-{count + 1}>"
            return names[value]

        return replace

    text = _TICKET_PATTERN.sub(numbered("TICKET"), text)
    return _WAMID_PATTERN.sub(numbered("WAMID"), text)


async def check_channel(driver: Driver) -> dict[str, Any]:
    """Play the script, compare (or rewrite) the channel's golden; the raw transcript."""
    transcript = await play(driver)
    match_golden(GOLDEN_DIR / f"{driver.channel}.json", normalise(transcript))
    return transcript
