"""Bad input, generated: Telegram updates and WhatsApp payloads posted to the real aiohttp app.

The app is the production one (``bot.web.build_web_app``) with the real adapters and dispatcher on
PostgreSQL; only the senders are replaced by one that renders every reply as the platform would
(inline keyboards, WhatsApp buttons and lists) without a network. The properties:

* a well-signed request never gets a 5xx and never crashes the handler;
* a rejected request (wrong secret or signature, invalid JSON, not an update) writes nothing:
  no inbound event, no contact, no conversation, no outbox row;
* replayed updates add nothing; updates out of order, stale and forged taps never store an
  answer that was not chosen, at most one response per citizen and unit, and the conversation
  always answers a further message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.web import MAX_BODY_BYTES, build_web_app
from handlers.dispatcher import Dispatcher, DispatchResult, utc_now
from handlers.outbox import OutboxWorker, Sender, SendReceipt
from handlers.telegram import TelegramUpdates, answered_text, keyboard, make_bot
from handlers.whatsapp import WhatsAppUpdates, render, sign
from storage import Storage
from storage.outbox import PendingMessage
from survey_flows.engine import FlowSettings
from survey_flows.types import Inbound, Outbound
from tests.support.directory import load_small_directory
from tests.support.dispatcher import PSEUDONYM_SECRET
from tests.support.fakes.graph_api import fixture
from tests.support.fakes.telegram_api import FakeTelegramApi

TOKEN = "123456:FUZZ-token"
SECRET = "fuzz_webhook-secret"
APP_SECRET = "fuzz-meta-app-secret"
VERIFY_TOKEN = "fuzz-verify"
PHONE_ID = "106540352242922"
TELEGRAM_PATH = "/telegram/webhook"
WHATSAPP_PATH = "/whatsapp/webhook"

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class RenderingSender:
    """Renders each reply as its platform would, keeps it, and never touches a network."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[PendingMessage] = []

    async def send(self, message: PendingMessage) -> SendReceipt:
        if message.kind == "message":
            outbound = Outbound.from_json(message.payload)
            if self.channel == "telegram":
                keyboard(outbound)
            else:
                render(outbound, int(message.payload.get("wa_page", 0)))
        elif message.kind == "answered":
            answered_text(message.payload)
        self.sent.append(message)
        return SendReceipt(str(len(self.sent)))

    def last_prompt(self, address: str) -> Outbound | None:
        for message in reversed(self.sent):
            if message.address == address and message.kind == "message":
                return Outbound.from_json(message.payload)
        return None


@dataclass
class Harness:
    client: TestClient[Any, Any]
    storage: Storage
    dispatcher: Dispatcher
    whatsapp: WhatsAppUpdates
    senders: dict[str, RenderingSender]
    update_ids: list[int] = field(default_factory=lambda: [10_000_000])

    def next_update_id(self) -> int:
        self.update_ids[0] += 1
        return self.update_ids[0]

    async def post_telegram(self, body: bytes, secret: str | None = SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with self.client.post(TELEGRAM_PATH, data=body, headers=headers) as response:
            await response.read()
            status = response.status
        await self.settle()
        return status

    async def post_whatsapp(self, body: bytes, signature: str | None = "sign") -> int:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = sign(APP_SECRET, body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with self.client.post(WHATSAPP_PATH, data=body, headers=headers) as response:
            await response.read()
            status = response.status
        await self.settle()
        return status

    async def settle(self) -> None:
        await self.dispatcher.drain()

    async def footprint(self) -> tuple[int, ...]:
        """Rows in every table a request could write to."""
        query = text(
            "SELECT (SELECT count(*) FROM inbound_events), (SELECT count(*) FROM outbox),"
            " (SELECT count(*) FROM contacts), (SELECT count(*) FROM conversations),"
            " (SELECT count(*) FROM survey_responses), (SELECT count(*) FROM complaints)"
        )
        async with self.storage.sessions() as session:
            return tuple((await session.execute(query)).one())


@pytest_asyncio.fixture
async def harness(pg_storage: Storage) -> AsyncIterator[Harness]:
    await load_small_directory(pg_storage)
    async with FakeTelegramApi(token=TOKEN) as api:
        telegram_bot = make_bot(TOKEN, api.base_url)
        await telegram_bot.initialize()
        rendering = {name: RenderingSender(name) for name in ("telegram", "whatsapp")}
        senders: dict[str, Sender] = dict(rendering)
        outbox = OutboxWorker(pg_storage, senders, utc_now)
        dispatcher = Dispatcher(pg_storage, FlowSettings(), PSEUDONYM_SECRET, outbox)

        async def handle(inbound: Inbound) -> DispatchResult:
            return await dispatcher.handle(inbound, background=True)

        updates = TelegramUpdates(telegram_bot, handle)
        whatsapp = WhatsAppUpdates(pg_storage, handle, outbox, PHONE_ID)
        app = build_web_app(
            pg_storage,
            telegram=updates,
            telegram_secret=SECRET,
            whatsapp=whatsapp,
            whatsapp_app_secret=APP_SECRET,
            whatsapp_verify_token=VERIFY_TOKEN,
        )
        async with TestClient(TestServer(app)) as client:
            yield Harness(client, pg_storage, dispatcher, whatsapp, rendering)
            await dispatcher.drain()
        await telegram_bot.shutdown()


def dumps(value: Any) -> bytes:
    # ensure_ascii (the default) writes lone surrogates as \udXXX escapes, as a client may.
    return json.dumps(value).encode()


# --- strategies ------------------------------------------------------------------------------

MISSING = object()

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)

odd_text = st.one_of(
    # Any code point, lone surrogates included.
    st.text(st.characters(exclude_categories=()), max_size=40),
    st.sampled_from(
        [
            "/start u_dukcapil-mpp",
            "/start u_rsud-igd",
            "/start u_tidak-ada",
            "/start u_dishub-kir",  # a unit of an inactive OPD
            "/start u_",
            "/start",
            "/start@skm_test_bot u_rsud-igd",
            "/survei",
            "/bahasa",
            "/batal",
            "/bantuan",
            "/hapus",
            "/ringkasan",
            "/aduan",
            "/",
            "//",
            "SKM dukcapil-mpp",
            "SKM tidak-ada",
            "\u200b",
            "\u200b\u200c\u200d\ufeff\u2060",
            "\u202egnp.exe",
            "\x00",
            "a\x00b",
            "1",
            "0",
            "-1",
            "99999999999999999999",
            "kembali",
            "batal",
            "ulang",
            "T-ABCDEF",
        ]
    ),
    st.builds(
        lambda unit, n: unit * n,
        st.sampled_from(["x", "é", "😀", "\u200b", "\ud800", "\udfff", "a\u0301", "\U0010ffff"]),
        st.integers(min_value=0, max_value=30_000),
    ),
)

choice_ids = st.sampled_from(
    [
        "yes",
        "no",
        "cancel",
        "back",
        "skip",
        "submit",
        "edit",
        "1",
        "4",
        "5",
        "u:dukcapil-mpp",
        "u:tidak-ada",
        "u:dishub-kir",
        "s:1",
        "s:99",
        "s:-1",
        "opd:rsud",
        "opd:tidak-ada",
        "page:2",
        "page:99999999999999",
        "lang:xx",
        "",
    ]
)
tokens = st.one_of(st.sampled_from(["", "0", "1", "2", "999", "invalid"]), st.text(max_size=6))

callback_data = st.one_of(
    st.builds(lambda t, c: f"v1|{t}|{c}", tokens, choice_ids),
    st.sampled_from(["v1|999|u:rsud-igd", "v1||", "v1|", "v2|1|yes", "drop table", "v1|1|yes|x"]),
    st.text(st.characters(exclude_categories=()), max_size=70),
)

chat_ids = st.one_of(
    st.sampled_from([555000111, 555000112, 1, -100123, 2**53]),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.integers(min_value=10**170, max_value=10**171),  # longer than any address column
)


@st.composite
def telegram_updates(draw: st.DrawFn) -> dict[str, Any]:
    """An update that looks like Telegram's, before mutation."""
    chat = draw(chat_ids)
    user = {"id": abs(chat) if chat else 1, "is_bot": draw(st.booleans()), "first_name": "Budi"}
    chat_obj: dict[str, Any] = {
        "id": chat,
        "type": draw(st.sampled_from(["private", "private", "group", "supergroup", "channel"])),
    }
    message: dict[str, Any] = {
        "message_id": draw(st.integers(min_value=-5, max_value=2**40)),
        "from": user,
        "chat": chat_obj,
        "date": draw(st.integers(min_value=0, max_value=2**33)),
    }
    kind = draw(
        st.sampled_from(["text", "text", "callback", "callback", "location", "photo", "other"])
    )
    update: dict[str, Any] = {"update_id": draw(st.integers(min_value=0, max_value=2**40))}
    if kind == "text":
        message["text"] = draw(odd_text)
        if message["text"].startswith("/"):
            length = len(message["text"].split(" ")[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if draw(st.booleans()):
            message["reply_to_message"] = {
                "message_id": 1,
                "chat": chat_obj,
                "date": 0,
                "text": draw(st.sampled_from(["Aduan T-ABCDEF", "x", ""])),
            }
        update[draw(st.sampled_from(["message", "message", "edited_message", "channel_post"]))] = (
            message
        )
    elif kind == "callback":
        update["callback_query"] = {
            "id": draw(st.text(min_size=1, max_size=20)),
            "from": user,
            "chat_instance": "1",
            "data": draw(callback_data),
        }
        if draw(st.integers(0, 4)):
            update["callback_query"]["message"] = message
    elif kind == "location":
        message["location"] = {
            "latitude": draw(st.floats(allow_nan=True)),
            "longitude": draw(st.floats(allow_nan=True)),
        }
        update["message"] = message
    elif kind == "photo":
        message["photo"] = [
            {"file_id": draw(st.text(max_size=300)), "file_unique_id": "u", "width": 1, "height": 1}
        ]
        update["message"] = message
    else:
        update[draw(st.sampled_from(["poll", "my_chat_member", "unknown_kind"]))] = {"x": 1}
    return update


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside nested dicts and lists."""
    found: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any], keep: tuple[Any, ...] = ()) -> Any:
    """``base`` with up to three fields removed or replaced by a value of another type."""
    value = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = [p for p in _paths(value) if p not in keep]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        replacement = draw(st.one_of(st.just(MISSING), junk))
        if replacement is MISSING and isinstance(parent, dict):
            del parent[path[-1]]
        elif replacement is not MISSING:
            parent[path[-1]] = replacement
    return value


WHATSAPP_KINDS = ("text", "list_reply", "button_reply", "image", "location", "batch")
STATUS_KINDS = ("status_sent", "status_delivered", "status_read", "status_failed")
reply_ids = st.one_of(
    st.builds(lambda t, c: f"v1|{t}|{c}", tokens, choice_ids),
    st.builds(
        lambda t, p: f"wp1|{t}|{p}",
        tokens,
        st.sampled_from(["0", "1", "2", "99", "99999999999999999999", "-1", "x", ""]),
    ),
    st.text(st.characters(exclude_categories=()), max_size=60),
)


@st.composite
def whatsapp_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A payload built from the named fixtures, with generated senders, texts and reply ids."""
    name = draw(st.sampled_from(WHATSAPP_KINDS + STATUS_KINDS))
    payload = fixture(name)
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = draw(st.sampled_from([PHONE_ID, PHONE_ID, "1", ""]))
    wa_id = draw(st.sampled_from(["6281234567890", "6281299990000", "", "+62 812", "x" * 200]))
    for contact in value.get("contacts", []):
        contact["wa_id"] = wa_id
        contact["user_id"] = draw(st.sampled_from(["ID.1349120865530274", "", "ID." + "9" * 170]))
    for message in value.get("messages", []):
        message["id"] = draw(
            st.one_of(st.sampled_from(["wamid.A", "wamid.B", "wamid.A" * 40]), st.text(max_size=30))
        )
        message["from"] = wa_id
        if "text" in message:
            message["text"]["body"] = draw(odd_text)
        interactive = message.get("interactive")
        if isinstance(interactive, dict):
            reply = interactive.get(interactive.get("type", ""))
            if isinstance(reply, dict):
                reply["id"] = draw(reply_ids)
        if "location" in message:
            message["location"]["latitude"] = draw(st.floats(allow_nan=True))
    for status in value.get("statuses", []):
        status["id"] = draw(st.sampled_from(["1", "2", "wamid.unknown", ""]))
        status["timestamp"] = draw(st.one_of(st.text(max_size=12), st.integers()))
    return payload


def private_message(chat: int = 555000111, **fields: Any) -> dict[str, Any]:
    """A private-chat message update; ``fields`` go into the message."""
    user = {"id": 42, "is_bot": False, "first_name": "Budi"}
    message = {"message_id": 1, "from": user, "chat": {"id": chat, "type": "private"}, "date": 0}
    return {"update_id": 1, "message": {**message, **fields}}


def callback(data: str, **fields: Any) -> dict[str, Any]:
    user = {"id": 42, "is_bot": False, "first_name": "Budi"}
    query = {
        "id": "q1",
        "from": user,
        "chat_instance": "1",
        "data": data,
        "message": {"message_id": 1, "chat": {"id": 555000111, "type": "private"}, "date": 0},
    }
    return {"update_id": 2, "callback_query": {**query, **fields}}


# --- properties ------------------------------------------------------------------------------


@FUZZ
@given(update=mutated(telegram_updates(), keep=(("update_id",),)))
@example(update=private_message(10**170, text="halo"))  # an id longer than the address column
@example(update=private_message(text="a\x00b"))  # NUL: PostgreSQL text cannot hold it
@example(update=private_message(text="/start u_\x00"))
@example(update=private_message(text="\ud800 lone surrogate \udfff"))
@example(update=private_message(text="\u200b\u200c\u200d\ufeff"))
@example(update=private_message(text="/start " + "u_" * 3000))
@example(update=private_message(location={"latitude": float("nan"), "longitude": 1e308}))
@example(update=callback("v1|1|yes", **{"from": None}))
@example(update=callback("v1|\x00|\ud800"))
@example(update=callback("v1|1|yes", message=None))
async def test_a_generated_telegram_update_never_gets_a_5xx(
    harness: Harness, update: dict[str, Any]
) -> None:
    before = await harness.footprint()
    status = await harness.post_telegram(dumps(update))
    assert status < 500, update
    if status != 200:
        assert await harness.footprint() == before, "a rejected update wrote something"


@FUZZ
@given(update=mutated(telegram_updates()))
async def test_an_update_without_an_integer_id_is_refused_and_leaves_no_trace(
    harness: Harness, update: dict[str, Any]
) -> None:
    update["update_id"] = str(update.get("update_id", ""))
    before = await harness.footprint()
    assert await harness.post_telegram(dumps(update)) == 400
    assert await harness.footprint() == before


@FUZZ
@given(
    update=telegram_updates(),
    secret=st.one_of(
        st.none(),
        st.sampled_from(["", "wrong", SECRET.upper(), SECRET[:-1], SECRET + "x"]),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    ),
)
async def test_a_wrong_telegram_secret_is_403_and_writes_nothing(
    harness: Harness, update: dict[str, Any], secret: str | None
) -> None:
    assume(secret is None or secret.strip() != SECRET)  # HTTP drops surrounding blanks
    before = await harness.footprint()
    assert await harness.post_telegram(dumps(update), secret=secret) == 403
    assert await harness.footprint() == before


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b"", b"{", b"null", b"[]", b"42", b'"x"', b"\xff\xfe{}", b"{}"]),
        st.builds(dumps, st.one_of(st.lists(st.integers()), st.text(), st.integers())),
    )
)
async def test_invalid_json_or_a_non_update_is_400_and_writes_nothing(
    harness: Harness, body: bytes
) -> None:
    try:
        a_dict = isinstance(json.loads(body), dict)
    except ValueError:
        a_dict = False
    before = await harness.footprint()
    assert await harness.post_telegram(body) == 400
    # WhatsApp: a JSON object is a payload (without entries there is nothing in it to store).
    assert await harness.post_whatsapp(body) == (200 if a_dict else 400)
    assert await harness.footprint() == before


def whatsapp_message(kind: str = "text", **fields: Any) -> dict[str, Any]:
    """A fixture payload whose first message has ``fields`` replaced."""
    payload = fixture(kind)
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["messages"][0].update(fields)
    return payload


def whatsapp_reply(reply_id: str) -> dict[str, Any]:
    payload = whatsapp_message("list_reply")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"]["list_reply"]["id"] = reply_id
    return payload


@FUZZ
@given(payload=mutated(whatsapp_payloads()))
@example(payload=whatsapp_message(id="wamid.\x00"))  # NUL in what becomes the event id
@example(payload=whatsapp_message(id="wamid.\ud800"))  # a lone surrogate there
@example(payload=whatsapp_message(from_user_id="ID.\x00\ud800", **{"from": "62\x00"}))
@example(payload=whatsapp_message(text={"body": "a\x00\ud800b"}))
@example(payload=whatsapp_message("image", image={"id": "\x00\ud800", "mime_type": "x"}))
@example(payload=whatsapp_message("location", location={"latitude": "nan", "longitude": "inf"}))
@example(payload=whatsapp_reply("wp1|1|99999999999999999999999"))
@example(payload=whatsapp_reply("wp1||0"))
@example(payload=whatsapp_reply("v1|\x00|\ud800"))
async def test_a_generated_whatsapp_payload_never_gets_a_5xx(
    harness: Harness, payload: dict[str, Any]
) -> None:
    before = await harness.footprint()
    status = await harness.post_whatsapp(dumps(payload))
    assert status < 500, payload
    if status != 200:
        assert await harness.footprint() == before


@FUZZ
@given(
    payload=whatsapp_payloads(),
    forgery=st.sampled_from(
        ["missing", "empty", "other secret", "other body", "no prefix", "truncated", "sha1"]
    ),
)
async def test_an_invalid_whatsapp_signature_is_refused_and_writes_nothing(
    harness: Harness, payload: dict[str, Any], forgery: str
) -> None:
    body = dumps(payload)
    good = sign(APP_SECRET, body)
    signature = {
        "missing": None,
        "empty": "",
        "other secret": sign("not-the-secret", body),
        "other body": sign(APP_SECRET, body + b" "),
        "no prefix": good.removeprefix("sha256="),
        "truncated": good[:-2],
        "sha1": "sha1=" + good.removeprefix("sha256="),
    }[forgery]
    before = await harness.footprint()
    assert await harness.post_whatsapp(body, signature=signature) in (401, 403)
    assert await harness.footprint() == before


async def test_a_body_over_the_cap_is_413_and_writes_nothing(harness: Harness) -> None:
    update = {"update_id": 1, "message": {"text": "x" * MAX_BODY_BYTES}}
    before = await harness.footprint()
    assert await harness.post_telegram(dumps(update)) == 413
    assert await harness.post_whatsapp(dumps(update)) == 413
    assert await harness.footprint() == before


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
        st.text(max_size=20),
    )
)
async def test_the_whatsapp_verification_get_never_fails(
    harness: Harness, params: dict[str, str]
) -> None:
    async with harness.client.get(WHATSAPP_PATH, params=params) as response:
        expected = (
            params.get("hub.mode") == "subscribe"
            and params.get("hub.verify_token") == VERIFY_TOKEN
            and "hub.challenge" in params
        )
        assert response.status == (200 if expected else 403)


# --- sequences: replays, out-of-order deliveries, stale and forged taps -------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["tap", "tap", "tap", "tap", "tap", "stale", "forged", "replay", "late", "text"]
        ),
        st.integers(min_value=0, max_value=2**16),
    ),
    min_size=5,
    max_size=24,
)
CITIZENS = (555000201, 555000202)


@settings(FUZZ, max_examples=25)
@given(actions=ACTIONS, start=st.sampled_from(["/start u_dukcapil-mpp", "/start u_rsud-igd"]))
async def test_replays_late_and_stale_updates_never_double_or_stick(
    harness: Harness, actions: list[tuple[str, int]], start: str
) -> None:
    """Two citizens take the survey while updates are replayed, delayed and forged."""
    sender = harness.senders["telegram"]
    delivered: list[bytes] = []
    held: list[bytes] = []  # updates Telegram will deliver late

    def message(chat: int, text_: str) -> dict[str, Any]:
        return {
            "update_id": harness.next_update_id(),
            "message": {
                "message_id": harness.next_update_id(),
                "from": {"id": chat, "is_bot": False, "first_name": "Budi"},
                "chat": {"id": chat, "type": "private"},
                "date": 0,
                "text": text_,
            },
        }

    def tap(chat: int, data: str) -> dict[str, Any]:
        return {
            "update_id": harness.next_update_id(),
            "callback_query": {
                "id": str(harness.next_update_id()),
                "from": {"id": chat, "is_bot": False, "first_name": "Budi"},
                "chat_instance": "1",
                "data": data,
                "message": {"message_id": 7, "chat": {"id": chat, "type": "private"}, "date": 0},
            },
        }

    async def deliver(body: bytes) -> None:
        before = (await harness.footprint(), len(sender.sent))
        replay = body in delivered
        assert await harness.post_telegram(body) == 200
        delivered.append(body)
        if replay:
            assert (await harness.footprint(), len(sender.sent)) == before, "a replay wrote"

    for chat in CITIZENS:
        await deliver(dumps(message(chat, start)))
    for number, (action, seed) in enumerate(actions):
        chat = CITIZENS[number % len(CITIZENS)]
        prompt = sender.last_prompt(str(chat))
        if action == "tap" and prompt is not None and prompt.choices:
            choice = prompt.answer_choices() or prompt.choices
            picked = choice[seed % len(choice)]
            body = dumps(tap(chat, f"v1|{prompt.prompt_token or ''}|{picked.id}"))
        elif action == "stale" and prompt is not None and prompt.choices:
            stale = str(int(prompt.prompt_token or 0) - 1 - seed % 3)
            body = dumps(tap(chat, f"v1|{stale}|{prompt.choices[0].id}"))
        elif action == "forged":
            forged = ["u:tidak-ada", "s:99", "4", "submit", "yes"][seed % 5]
            body = dumps(tap(chat, f"v1|{prompt.prompt_token if prompt else ''}|{forged}"))
        elif action == "replay" and delivered:
            body = delivered[seed % len(delivered)]
        elif action == "late" and held:
            body = held.pop(seed % len(held))
        else:
            body = dumps(message(chat, ["halo", "3", "kembali", "Saran: antre"][seed % 4]))
            if action == "late":
                held.append(body)  # delivered after the ones that follow it
                continue
        await deliver(body)
    for body in held:
        await deliver(body)

    responses = await harness.storage.responses()
    keys = [(r.respondent_key, r.unit_code) for r in responses]
    assert len(keys) == len(set(keys)), "one response per citizen and unit"
    for response in responses:
        assert len(response.scores) == 9 and all(1 <= s <= 4 for s in response.scores.values())
    # Nobody is stuck: a further message always gets an answer.
    for chat in CITIZENS:
        before = len(sender.sent)
        await deliver(dumps(message(chat, "/start")))
        assert any(m.address == str(chat) for m in sender.sent[before:])
