"""A fake WhatsApp Cloud API (Meta Graph API) on 127.0.0.1, speaking real HTTP and Graph JSON.

Point the bot's :class:`handlers.whatsapp.GraphClient` at it::

    async with FakeGraphApi(access_token="EAAG-test") as api:
        client = GraphClient(session, access_token="EAAG-test",
                             phone_number_id=api.phone_number_id, base_url=api.base_url)
        wamid = await client.send("6281234567890", {"type": "text", "text": {"body": "hi"}})
        assert api.last_to("6281234567890").body["text"]["body"] == "hi"

What it models (TECH.md §2f, 2i):

* ``POST /{version}/{phone_number_id}/messages`` answering
  ``{messaging_product, contacts: [{input, wa_id | user_id}], messages: [{id: "wamid..."}]}``,
  with ``to`` (a phone number) or ``recipient`` (a business-scoped user id).
* ``POST /{version}/{phone_number_id}/media`` (multipart upload, answers ``{id}``),
  ``GET /{version}/{media_id}`` (its URL) and ``GET /media/{media_id}`` (the bytes), and
  ``GET /{version}/{phone_number_id}`` (the number's name).
* The Bearer token on every request: a wrong or missing one gets 401 with code 190.
* Limits of what may be sent: text body 1..4096; interactive body <= 1024, footer <= 60;
  1..3 reply buttons with ids <= 256 and titles 1..20, unique; lists with a button label
  1..20, 1..10 sections, 1..10 rows in total with ids <= 200 (unique), titles 1..24 (unique),
  descriptions <= 72, and section titles required when there is more than one section;
  templates must be approved (name and language). Lengths count UTF-16 code units.
* Errors with Graph's body ``{"error": {"message", "type", "code", "error_data": {"details"},
  "fbtrace_id"}}``: injected with :meth:`fail_next` (130429, 131056, 131047, 131026, any
  code, or a 5xx), from state (:attr:`closed_windows` answers 131047 to anything but a
  template; :attr:`undeliverable` answers 131026), or an outage (:meth:`set_down`: the
  connection is dropped without an answer).
* Opt-in, the phone number's throughput (TECH.md §2h): with ``messages_per_s``, a send beyond
  that many in any sliding second is answered 130429; webhooks a test delivers count too when
  it says so (:meth:`note_inbound`), as Meta counts sending and receiving together.

WhatsApp Flows (TECH.md §2l; Meta's "Flows API", "Sending a Flow", "Receiving Flow Response"):

* ``POST /{version}/{waba_id}/flows`` (name, categories) creates a DRAFT Flow, names unique;
  ``POST /{version}/{flow_id}/assets`` (multipart ``file`` with ``asset_type=FLOW_JSON``) sets
  its JSON (a published Flow answers 139002: it cannot be edited), answering
  ``{success, validation_errors}``; ``POST /{version}/{flow_id}/publish`` publishes it;
  ``GET /{version}/{flow_id}`` gives its name and status.
* An ``interactive`` message of type ``flow`` is accepted only for a PUBLISHED Flow with the
  parameters Meta requires (else 131009, "Parameter value is not valid").
* :meth:`FakeGraphApi.complete_flow` fills a sent Flow as a user would: it walks the
  published JSON's screens, evaluates each footer's ``${form.x}`` / ``${data.x}`` payload and
  returns what the final ``complete`` action sends; :meth:`Citizen.flow_reply` wraps it in the
  ``nfm_reply`` webhook Meta documents.

Not modelled: delivery (use the status webhook fixtures), media types other than images and
documents, pricing and conversation categories, business profile and template management.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import time
from base64 import urlsafe_b64encode
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, cast

from aiohttp import web

__all__ = [
    "Citizen",
    "FakeFlow",
    "FakeGraphApi",
    "GraphCall",
    "SentMessage",
    "Upload",
    "fixture",
    "graph_error_body",
    "signature_header",
    "status_payload",
]

JsonDict = dict[str, Any]

TEXT_MAX: Final = 4096
BODY_MAX: Final = 1024
FOOTER_MAX: Final = 60
HEADER_TEXT_MAX: Final = 60
BUTTONS_MAX: Final = 3
BUTTON_TITLE_MAX: Final = 20
BUTTON_ID_MAX: Final = 256
SECTIONS_MAX: Final = 10
ROWS_MAX: Final = 10
ROW_TITLE_MAX: Final = 24
ROW_DESCRIPTION_MAX: Final = 72
ROW_ID_MAX: Final = 200
LIST_BUTTON_MAX: Final = 20
SECTION_TITLE_MAX: Final = 24
IMAGE_MAX_BYTES: Final = 5 * 1024 * 1024
UPLOAD_MAX_BYTES: Final = 100 * 1024 * 1024
UPLOAD_TYPES: Final = frozenset({"image/jpeg", "image/png", "application/pdf", "text/plain"})

#: (HTTP status, message, details) of the errors Meta documents, as its API words them.
KNOWN_ERRORS: Final[dict[int, tuple[int, str, str]]] = {
    2: (503, "Service temporarily unavailable", "The service is temporarily unavailable."),
    100: (400, "(#100) Invalid parameter", "Invalid parameter"),
    190: (
        401,
        "Error validating access token: Session has expired.",
        "The access token has expired or was revoked.",
    ),
    130429: (
        400,
        "(#130429) Rate limit hit",
        "Cloud API message throughput has been reached.",
    ),
    131000: (500, "(#131000) Something went wrong", "Message failed to send due to an error."),
    131009: (400, "(#131009) Parameter value is not valid", "Parameter value is not valid"),
    131026: (
        400,
        "(#131026) Message Undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a "
        "WhatsApp phone number; the recipient has not accepted the new Terms of Service.",
    ),
    131047: (
        400,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131056: (
        400,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time.",
    ),
    131062: (
        400,
        "(#131062) Business-scoped User ID recipients are not supported for this message.",
        "Business-scoped User ID recipients are not supported for this message.",
    ),
    132001: (
        404,
        "(#132001) Template name does not exist in the translation",
        "template name does not exist in the translation",
    ),
}


def graph_error_body(code: int | None, message: str, details: str | None) -> JsonDict:
    """Graph's error body; ``fbtrace_id`` differs per answer, as on the real API."""
    error: JsonDict = {
        "message": message,
        "type": "OAuthException",
        "fbtrace_id": "A"
        + urlsafe_b64encode(hashlib.sha256(message.encode()).digest())[:22]
        .decode()
        .replace("-", "x")
        .replace("_", "y"),
    }
    if code is not None:
        error["code"] = code
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class GraphCall:
    """One request: method, path, JSON body (or form fields), the answer's status, arrival."""

    method: str
    path: str
    body: JsonDict | None
    status: int
    at: float


@dataclass(frozen=True, slots=True)
class SentMessage:
    """An accepted message: its wamid, who it went to, the body, and the request field that
    named the recipient: ``to`` (a phone number) or ``recipient`` (a business-scoped id)."""

    wamid: str
    address: str
    body: JsonDict
    at: float
    field: str = "to"

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))

    @property
    def interactive(self) -> JsonDict:
        value = self.body.get("interactive")
        return value if isinstance(value, dict) else {}

    @property
    def text(self) -> str:
        """What the user reads first: the text body, or the interactive body."""
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.interactive["body"]["text"])
        return ""

    def replies(self) -> list[JsonDict]:
        """The tappable options: ``{id, title, description?}`` of buttons or list rows."""
        interactive = self.interactive
        action = interactive.get("action", {})
        if interactive.get("type") == "button":
            return [dict(b["reply"]) for b in action.get("buttons", [])]
        if interactive.get("type") == "list":
            return [dict(r) for s in action.get("sections", []) for r in s.get("rows", [])]
        return []


@dataclass(frozen=True, slots=True)
class Upload:
    media_id: str
    mime_type: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(slots=True)
class _Failure:
    code: int | None
    status: int
    message: str
    details: str | None
    remaining: int


class _Invalid(Exception):
    def __init__(self, code: int, details: str, status: int = 400) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.status = status


@dataclass(slots=True)
class FakeFlow:
    """A Flow on the business account, as the fake holds it."""

    flow_id: str
    name: str
    categories: list[str]
    status: str = "DRAFT"
    flow_json: JsonDict | None = None


class FakeGraphApi:
    """Fake Graph API server. Use as ``async with FakeGraphApi(...) as api``.

    Args:
        access_token: the only Bearer token accepted.
        phone_number_id: the business phone number messages are sent from.
        approved_templates: template name -> languages approved for it.
        delay_s: latency added to every request.
        messages_per_s: the number's throughput (80 by default on Meta, up to 1,000); None
            (the default) enforces none.
    """

    def __init__(
        self,
        access_token: str = "EAAG-test-token",
        *,
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "6281100001111",
        version: str = "v25.0",
        approved_templates: dict[str, tuple[str, ...]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_s: float = 0.0,
        messages_per_s: float | None = None,
    ) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.version = version
        self.approved_templates = (
            {"skm_lanjutkan": ("id",)} if approved_templates is None else approved_templates
        )
        self.host = host
        self.delay_s = delay_s
        #: Every request, accepted or not, in arrival order.
        self.calls: list[GraphCall] = []
        #: Every accepted message, in order.
        self.sent: list[SentMessage] = []
        self.uploads: dict[str, Upload] = {}
        #: Recipients whose 24-hour window is closed: only templates reach them.
        self.closed_windows: set[str] = set()
        #: Recipients Meta cannot deliver to (131026).
        self.undeliverable: set[str] = set()
        #: Exceptions raised inside the fake itself (answered 500); should stay empty.
        self.errors: list[BaseException] = []
        #: Messages per second (sent and noted inbound) in any sliding second; None: no limit.
        self.messages_per_s = messages_per_s
        #: Sends answered 130429 by that limit (not those injected with :meth:`fail_next`).
        self.throughput_rejected = 0
        self._throughput: deque[float] = deque()  # when each counted message went through
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._failures: deque[_Failure] = deque()
        self._down = False
        self._changed = asyncio.Event()
        self._wamid_seq = itertools.count(1)
        self._media_seq = itertools.count(1)
        #: The business account's Flows by id (see :meth:`complete_flow`).
        self.flows: dict[str, FakeFlow] = {}
        self.business_account_id = "102290129340398"
        self._flow_seq = itertools.count(1)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        if self._runner is not None:
            return self
        app = web.Application(client_max_size=UPLOAD_MAX_BYTES + 1024 * 1024)
        app.router.add_post("/{version}/{node}/messages", self._handle_messages)
        app.router.add_post("/{version}/{node}/media", self._handle_upload)
        app.router.add_post("/{version}/{node}/flows", self._handle_create_flow)
        app.router.add_post("/{version}/{node}/assets", self._handle_flow_assets)
        app.router.add_post("/{version}/{node}/publish", self._handle_publish_flow)
        app.router.add_get("/media/{media_id}", self._handle_download)
        app.router.add_get("/{version}/{node}", self._handle_node)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        server = site._server
        assert server is not None
        self._port = int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What ``WHATSAPP_API_BASE_URL`` should be (the version goes after it)."""
        assert self._port is not None, "start the fake first"
        return f"http://{self.host}:{self._port}"

    # ---------------------------------------------------------------- control

    def fail_next(
        self,
        code: int | None = 130429,
        *,
        times: int = 1,
        status: int | None = None,
        message: str | None = None,
        details: str | None = None,
    ) -> None:
        """Answer the next ``times`` message sends with this Graph error.

        ``code`` picks Meta's wording from :data:`KNOWN_ERRORS`; ``code=None`` with a 5xx
        ``status`` answers a bare server error.
        """
        known = KNOWN_ERRORS.get(code) if code is not None else None
        http_status = status or (known[0] if known else 400)
        text = message or (known[1] if known else f"Error {http_status}")
        self._failures.append(
            _Failure(code, http_status, text, details or (known[2] if known else None), times)
        )

    def note_inbound(self, count: int = 1) -> None:
        """Count ``count`` webhooks delivered now against :attr:`messages_per_s` (Meta's
        throughput covers receiving as well as sending); inbound messages are never refused."""
        if self.messages_per_s is not None:
            self._throughput_reached()  # drops what left the sliding second
            self._throughput.extend([time.monotonic()] * count)

    def set_down(self, down: bool) -> None:
        """An outage: while down, every connection is dropped without an answer."""
        self._down = down

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (checked after every request)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met; sent: " + repr(self.sent[-3:]))
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: len(self.sent) >= count, timeout)

    def messages_to(self, address: str) -> list[SentMessage]:
        return [m for m in self.sent if m.address == address]

    def last_to(self, address: str) -> SentMessage | None:
        messages = self.messages_to(address)
        return messages[-1] if messages else None

    def message_calls(self) -> list[GraphCall]:
        return [c for c in self.calls if c.path.endswith("/messages")]

    # ---------------------------------------------------------------- HTTP

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header == f"Bearer {self.access_token}"

    def _error(
        self, status: int, code: int | None, message: str, details: str | None
    ) -> web.Response:
        return web.json_response(graph_error_body(code, message, details), status=status)

    def _record(self, request: web.Request, body: JsonDict | None, status: int) -> None:
        self.calls.append(GraphCall(request.method, request.path, body, status, time.monotonic()))
        self._changed.set()

    async def _prelude(self, request: web.Request) -> web.Response | None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if not self._authorised(request):
            return self._error(
                401, 190, "Invalid OAuth access token - Cannot parse access token", None
            )
        if not request.match_info["version"].startswith("v"):
            return self._error(400, 100, "Unknown path components", None)
        return None

    async def _handle_messages(self, request: web.Request) -> web.StreamResponse:
        if self._down:
            self._record(request, None, 0)
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=503)
        try:
            body: JsonDict | None = await request.json()
        except ValueError:
            body = None
        response = await self._prelude(request)
        if response is None:
            response = self._messages(request.match_info["node"], body)
        self._record(request, body, response.status)
        return response

    def _messages(self, node: str, body: JsonDict | None) -> web.Response:
        if node != self.phone_number_id:
            return self._error(
                400,
                100,
                f"Unsupported post request. Object with ID '{node}' does not exist",
                None,
            )
        if not isinstance(body, dict):
            return self._error(400, 100, "(#100) Invalid parameter", "The request body is not JSON")
        if self._failures:
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.popleft()
            return self._error(failure.status, failure.code, failure.message, failure.details)
        if self._throughput_reached():
            self.throughput_rejected += 1
            return self._known(130429)
        try:
            address, field_name = self._validate(body)
        except _Invalid as invalid:
            known = KNOWN_ERRORS.get(invalid.code)
            message = known[1] if known else "(#100) Invalid parameter"
            return self._error(invalid.status, invalid.code, message, invalid.details)
        except Exception as exc:  # a bug in the fake: visible in tests, answered like Meta
            self.errors.append(exc)
            return self._error(500, 131000, "(#131000) Something went wrong", repr(exc))
        if address in self.undeliverable:
            return self._known(131026)
        if address in self.closed_windows and body.get("type") != "template":
            return self._known(131047)
        wamid = self._new_wamid()
        self.sent.append(SentMessage(wamid, address, body, time.monotonic(), field_name))
        if self.messages_per_s is not None:
            self._throughput.append(time.monotonic())
        contact: JsonDict = {"input": address}
        contact["wa_id" if field_name == "to" else "user_id"] = address
        return web.json_response(
            {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]}
        )

    def _throughput_reached(self) -> bool:
        """True when :attr:`messages_per_s` messages went through in the last second."""
        if self.messages_per_s is None:
            return False
        now = time.monotonic()
        while self._throughput and now - self._throughput[0] >= 1.0:
            self._throughput.popleft()
        return len(self._throughput) >= self.messages_per_s

    def _known(self, code: int) -> web.Response:
        status, message, details = KNOWN_ERRORS[code]
        return self._error(status, code, message, details)

    def _new_wamid(self) -> str:
        raw = f"fake-graph-{next(self._wamid_seq):08d}".encode()
        return "wamid.HBgM" + urlsafe_b64encode(raw).decode().rstrip("=")

    # ---------------------------------------------------------------- validation

    def _validate(self, body: JsonDict) -> tuple[str, str]:
        if body.get("messaging_product") != "whatsapp":
            raise _Invalid(100, "The parameter messaging_product is required.")
        to, recipient = body.get("to"), body.get("recipient")
        if to:  # "to" takes precedence over "recipient", as on the real API
            if not (isinstance(to, str) and to.isdigit()):
                raise _Invalid(100, "Invalid parameter 'to': a phone number in digits")
            address, field_name = to, "to"
        elif recipient:
            if not isinstance(recipient, str) or "." not in recipient:
                raise _Invalid(100, "Invalid parameter 'recipient': a business-scoped user id")
            address, field_name = recipient, "recipient"
        else:
            raise _Invalid(100, "The parameter to is required.")
        kind = body.get("type", "text")
        content = body.get(kind)
        if not isinstance(content, dict):
            raise _Invalid(100, f"The parameter {kind} is required.")
        if kind == "text":
            self._check_text(content.get("body"), TEXT_MAX, "Text body")
        elif kind == "interactive":
            self._check_interactive(content)
        elif kind == "template":
            self._check_template(content)
        elif kind in {"image", "document"}:
            if content.get("id"):
                if str(content["id"]) not in self.uploads:
                    raise _Invalid(131053, "Media upload error: unknown media id", 400)
            elif not content.get("link"):
                raise _Invalid(100, f"{kind} requires id or link")
        else:
            raise _Invalid(100, f"Unsupported message type {kind!r}")
        return address, field_name

    @staticmethod
    def _check_text(value: Any, limit: int, what: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(100, f"{what} is required")
        if _utf16_len(value) > limit:
            raise _Invalid(131009, f"{what} is too long. Max length is {limit}")

    def _check_interactive(self, interactive: JsonDict) -> None:
        kind = interactive.get("type")
        body = interactive.get("body")
        if not isinstance(body, dict):
            raise _Invalid(100, "The parameter interactive['body'] is required.")
        self._check_text(body.get("text"), BODY_MAX, "Body text")
        footer = interactive.get("footer")
        if footer is not None:
            self._check_text(footer.get("text"), FOOTER_MAX, "Footer text")
        header = interactive.get("header")
        if header is not None and header.get("type") == "text":
            self._check_text(header.get("text"), HEADER_TEXT_MAX, "Header text")
        action = interactive.get("action")
        if not isinstance(action, dict):
            raise _Invalid(100, "The parameter interactive['action'] is required.")
        if kind == "button":
            self._check_buttons(action.get("buttons"))
        elif kind == "list":
            self._check_list(action)
        elif kind == "flow":
            self._check_flow(action)
        else:
            raise _Invalid(100, f"Unsupported interactive type {kind!r}")

    def _check_flow(self, action: JsonDict) -> None:
        parameters = action.get("parameters")
        if action.get("name") != "flow" or not isinstance(parameters, dict):
            raise _Invalid(100, "action.name must be 'flow' with parameters")
        if parameters.get("flow_message_version") != "3":
            raise _Invalid(131009, "flow_message_version must be '3'")
        token = parameters.get("flow_token")
        if not isinstance(token, str) or not token:
            raise _Invalid(131009, "flow_token is required")
        cta = parameters.get("flow_cta")
        if not isinstance(cta, str) or not 1 <= _utf16_len(cta) <= 20:
            raise _Invalid(131009, "flow_cta: 1 to 20 characters")
        flow = self.flows.get(str(parameters.get("flow_id")))
        if flow is None or flow.status != "PUBLISHED" or flow.flow_json is None:
            raise _Invalid(131009, "Parameter value is not valid: the Flow is not published")
        if parameters.get("flow_action", "navigate") == "navigate":
            payload = parameters.get("flow_action_payload")
            screens = [screen["id"] for screen in flow.flow_json["screens"]]
            if not isinstance(payload, dict) or payload.get("screen") not in screens:
                raise _Invalid(131009, "flow_action_payload.screen: not a screen of the Flow")
            # The first screen's declared data must come with the message, of its type.
            [screen] = [s for s in flow.flow_json["screens"] if s["id"] == payload["screen"]]
            given = payload.get("data") or {}
            for key, spec in (screen.get("data") or {}).items():
                value = given.get(key)
                expected = {"array": list, "boolean": bool, "string": str}.get(spec.get("type"))
                if expected is None or not isinstance(value, expected):
                    raise _Invalid(131009, f"flow_action_payload.data.{key}: missing or mistyped")

    def _check_buttons(self, buttons: Any) -> None:
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
            raise _Invalid(131009, f"Buttons count invalid. Min: 1, Max: {BUTTONS_MAX}")
        titles: set[str] = set()
        ids: set[str] = set()
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if button.get("type") != "reply" or not isinstance(reply, dict):
                raise _Invalid(100, "Each button must be of type reply")
            title, reply_id = reply.get("title"), reply.get("id")
            if not isinstance(title, str) or not 1 <= _utf16_len(title) <= BUTTON_TITLE_MAX:
                raise _Invalid(
                    131009,
                    f"Button title length invalid. Min length: 1, Max length: {BUTTON_TITLE_MAX}",
                )
            if not isinstance(reply_id, str) or not 1 <= len(reply_id) <= BUTTON_ID_MAX:
                raise _Invalid(131009, f"Button id length invalid. Max length: {BUTTON_ID_MAX}")
            if title in titles:
                raise _Invalid(131009, "Duplicate button titles are not allowed")
            if reply_id in ids:
                raise _Invalid(131009, "Duplicate button ids are not allowed")
            titles.add(title)
            ids.add(reply_id)

    def _check_list(self, action: JsonDict) -> None:
        label = action.get("button")
        if not isinstance(label, str) or not 1 <= _utf16_len(label) <= LIST_BUTTON_MAX:
            raise _Invalid(131009, f"Button label is too long. Max length is {LIST_BUTTON_MAX}")
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= SECTIONS_MAX:
            raise _Invalid(131009, f"Sections count invalid. Min: 1, Max: {SECTIONS_MAX}")
        rows = [r for s in sections if isinstance(s, dict) for r in s.get("rows") or []]
        if not 1 <= len(rows) <= ROWS_MAX:
            raise _Invalid(131009, f"Total row count exceed max allowed count: {ROWS_MAX}")
        for section in sections:
            title = section.get("title") if isinstance(section, dict) else None
            if len(sections) > 1 and not title:
                raise _Invalid(131009, "Section title is required when there are several")
            if title is not None and _utf16_len(str(title)) > SECTION_TITLE_MAX:
                raise _Invalid(
                    131009, f"Section title is too long. Max length is {SECTION_TITLE_MAX}"
                )
        titles: set[str] = set()
        ids: set[str] = set()
        for row in rows:
            if not isinstance(row, dict):
                raise _Invalid(100, "Each row must be an object")
            title, row_id = row.get("title"), row.get("id")
            description = row.get("description")
            if not isinstance(title, str) or not 1 <= _utf16_len(title) <= ROW_TITLE_MAX:
                raise _Invalid(131009, f"Row title is too long. Max length is {ROW_TITLE_MAX}")
            if description is not None and (
                not isinstance(description, str) or _utf16_len(description) > ROW_DESCRIPTION_MAX
            ):
                raise _Invalid(
                    131009, f"Row description is too long. Max length is {ROW_DESCRIPTION_MAX}"
                )
            if not isinstance(row_id, str) or not 1 <= len(row_id) <= ROW_ID_MAX:
                raise _Invalid(131009, f"Row id length invalid. Max length: {ROW_ID_MAX}")
            if title in titles:
                raise _Invalid(131009, "Duplicate row titles are not allowed")
            if row_id in ids:
                raise _Invalid(131009, "Duplicate row ids are not allowed")
            titles.add(title)
            ids.add(row_id)

    def _check_template(self, template: JsonDict) -> None:
        name = template.get("name")
        language = template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not name or not isinstance(code, str):
            raise _Invalid(100, "Template name and language code are required")
        if code not in self.approved_templates.get(name, ()):
            raise _Invalid(
                132001,
                f"template name ({name}) does not exist in {code}",
                KNOWN_ERRORS[132001][0],
            )

    # ---------------------------------------------------------------- Flows

    async def _handle_create_flow(self, request: web.Request) -> web.Response:
        response = await self._prelude(request)
        try:
            body: JsonDict | None = await request.json()
        except ValueError:
            body = None
        if response is None:
            if request.match_info["node"] != self.business_account_id:
                response = self._error(400, 100, "Unsupported post request", None)
            elif not isinstance(body, dict) or not body.get("name"):
                response = self._error(400, 100, "(#100) The parameter name is required", None)
            elif any(flow.name == body["name"] for flow in self.flows.values()):
                response = self._error(400, 139001, "Flow name is not unique", None)
            else:
                flow_id = f"{7000000000000000 + next(self._flow_seq)}"
                categories = body.get("categories")
                self.flows[flow_id] = FakeFlow(
                    flow_id, str(body["name"]), list(categories or ["OTHER"])
                )
                response = web.json_response({"id": flow_id})
        self._record(request, body, response.status)
        return response

    async def _handle_flow_assets(self, request: web.Request) -> web.Response:
        response = await self._prelude(request)
        fields: JsonDict = {}
        if response is None:
            flow = self.flows.get(request.match_info["node"])
            data = b""
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if getattr(part, "name", None) == "file" and hasattr(part, "read"):
                    data = bytes(await part.read())  # type: ignore[union-attr]
                elif hasattr(part, "text"):
                    fields[str(part.name)] = await part.text()  # type: ignore[union-attr]
            if flow is None:
                response = self._error(400, 100, "Unsupported post request", None)
            elif flow.status != "DRAFT":
                response = self._error(400, 139002, "Flow can't be updated", "Published Flow")
            elif fields.get("asset_type") != "FLOW_JSON":
                response = self._error(400, 100, "asset_type must be FLOW_JSON", None)
            else:
                try:
                    document = json.loads(data)
                except ValueError:
                    document = None
                errors = _flow_json_errors(document)
                if not errors:
                    flow.flow_json = document
                response = web.json_response(
                    {"success": not errors, "validation_errors": [{"message": e} for e in errors]}
                )
        self._record(request, fields, response.status)
        return response

    async def _handle_publish_flow(self, request: web.Request) -> web.Response:
        response = await self._prelude(request)
        if response is None:
            flow = self.flows.get(request.match_info["node"])
            if flow is None:
                response = self._error(400, 100, "Unsupported post request", None)
            elif flow.flow_json is None:
                response = self._error(400, 139000, "Flow has no valid Flow JSON", None)
            else:
                flow.status = "PUBLISHED"
                response = web.json_response({"success": True})
        self._record(request, None, response.status)
        return response

    def complete_flow(self, message: SentMessage, answers: JsonDict) -> str:
        """The ``response_json`` a user sends by filling the Flow of ``message`` with
        ``answers`` (field name -> option id or text; absent: left empty) and pressing each
        screen's button: Meta's ``complete`` payload with the ``flow_token`` beside it."""
        parameters = message.interactive["action"]["parameters"]
        flow = self.flows[parameters["flow_id"]]
        assert flow.flow_json is not None
        screens = {screen["id"]: screen for screen in flow.flow_json["screens"]}
        screen = screens[parameters["flow_action_payload"]["screen"]]
        data: JsonDict = dict(parameters["flow_action_payload"].get("data") or {})
        while True:
            children = screen["layout"]["children"]
            form: JsonDict = {}
            for child in children:
                name = child.get("name")
                if name is None:
                    continue
                if name in answers:
                    form[name] = answers[name]
                elif child.get("required"):
                    raise AssertionError(f"{name} is required on {screen['id']}")
            footer = next(c for c in children if c["type"] == "Footer")
            action = footer["on-click-action"]
            payload = {
                key: _evaluate(value, form, data) for key, value in action["payload"].items()
            }
            payload = {k: v for k, v in payload.items() if v is not None}
            if action["name"] == "complete":
                return json.dumps({**payload, "flow_token": parameters["flow_token"]})
            data = payload
            screen = screens[action["next"]["name"]]

    # ---------------------------------------------------------------- media and the number

    async def _handle_upload(self, request: web.Request) -> web.Response:
        response = await self._prelude(request)
        form: JsonDict = {}
        if response is None:
            response, form = await self._upload(request)
        self._record(request, form, response.status)
        return response

    async def _upload(self, request: web.Request) -> tuple[web.Response, JsonDict]:
        if request.match_info["node"] != self.phone_number_id:
            return self._error(400, 100, "Unsupported post request", None), {}
        fields: JsonDict = {}
        data = b""
        filename = ""
        content_type = ""
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not hasattr(part, "name"):
                continue
            if part.name == "file" and hasattr(part, "read"):
                data = bytes(await part.read())  # type: ignore[union-attr]
                filename = getattr(part, "filename", "") or "file"
                content_type = part.headers.get("Content-Type", "")
            elif hasattr(part, "text"):
                fields[str(part.name)] = await part.text()  # type: ignore[union-attr]
        mime = str(fields.get("type") or content_type)
        summary = {**fields, "file": {"filename": filename, "size": len(data)}}
        if fields.get("messaging_product") != "whatsapp":
            return self._error(
                400, 100, "The parameter messaging_product is required.", None
            ), summary
        if not data:
            return self._error(400, 100, "The parameter file is required.", None), summary
        if mime not in UPLOAD_TYPES:
            return self._error(
                400, 131053, "Media upload error", f"Unsupported type {mime}"
            ), summary
        if mime.startswith("image/") and len(data) > IMAGE_MAX_BYTES:
            return self._error(400, 131053, "Media upload error", "Image is over 5 MB"), summary
        media_id = f"{9000000000000000 + next(self._media_seq)}"
        self.uploads[media_id] = Upload(media_id, mime, filename, data)
        return web.json_response({"id": media_id}), summary

    async def _handle_node(self, request: web.Request) -> web.Response:
        response = await self._prelude(request)
        if response is None:
            node = request.match_info["node"]
            if node == self.phone_number_id:
                response = web.json_response(
                    {
                        "display_phone_number": self.display_phone_number,
                        "verified_name": "SKM Kabupaten Mimika",
                        "id": self.phone_number_id,
                    }
                )
            elif node in self.flows:
                flow = self.flows[node]
                response = web.json_response(
                    {
                        "id": flow.flow_id,
                        "name": flow.name,
                        "status": flow.status,
                        "validation_errors": [],
                    }
                )
            elif node in self.uploads:
                upload = self.uploads[node]
                response = web.json_response(
                    {
                        "messaging_product": "whatsapp",
                        "url": f"{self.base_url}/media/{node}",
                        "mime_type": upload.mime_type,
                        "sha256": upload.sha256,
                        "file_size": len(upload.data),
                        "id": node,
                    }
                )
            else:
                response = self._error(
                    400,
                    100,
                    f"Unsupported get request. Object with ID '{node}' does not exist",
                    None,
                )
        self._record(request, dict(request.query), response.status)
        return response

    async def _handle_download(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            response = self._error(401, 190, "Invalid OAuth access token", None)
        elif (upload := self.uploads.get(request.match_info["media_id"])) is None:
            response = web.Response(status=404)
        else:
            response = web.Response(body=upload.data, content_type=upload.mime_type)
        self._record(request, None, response.status)
        return response


def _evaluate(value: Any, form: JsonDict, data: JsonDict) -> Any:
    """A payload value: ``${form.x}`` or ``${data.x}`` (None when not filled), else literal."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        scope, _, name = value[2:-1].partition(".")
        return (form if scope == "form" else data).get(name)
    return value


_COMPONENTS: Final = frozenset(
    {
        "TextHeading",
        "TextSubheading",
        "TextBody",
        "TextCaption",
        "TextArea",
        "RadioButtonsGroup",
        "Footer",
    }
)
COMPONENTS_PER_SCREEN_MAX: Final = 50  # Meta's limit of components on one screen


def _flow_json_errors(document: Any) -> list[str]:
    """The checks of Meta's Flow JSON validation this project relies on."""
    if not isinstance(document, dict) or not isinstance(document.get("screens"), list):
        return ["Flow JSON must be an object with screens"]
    errors: list[str] = []
    version = str(document.get("version", ""))
    if not version.startswith("7."):
        errors.append(f"version {version!r}: a 7.x version is expected")
    ids = {screen.get("id") for screen in document["screens"]}
    for screen in document["screens"]:
        children = screen.get("layout", {}).get("children", [])
        names = [c.get("name") for c in children if c.get("name")]
        if len(children) > COMPONENTS_PER_SCREEN_MAX:
            errors.append(f"{screen.get('id')}: more than 50 components")
        if len(names) != len(set(names)):
            errors.append(f"{screen.get('id')}: field names must be unique")
        for child in children:
            kind = child.get("type")
            if kind not in _COMPONENTS:
                errors.append(f"{screen.get('id')}: unknown component {kind!r}")
            if kind == "RadioButtonsGroup":
                if len(child.get("label", "")) > 30:
                    errors.append(f"{child.get('name')}: label over 30 characters")
                source = child.get("data-source", [])
                if isinstance(source, str):  # "${data.x}": given when the Flow is opened
                    key = source.removeprefix("${data.").removesuffix("}")
                    if screen.get("data", {}).get(key, {}).get("type") != "array":
                        errors.append(f"{child.get('name')}: {source} is not declared data")
                    source = []
                for option in source:
                    if len(option.get("title", "")) > 30:
                        errors.append(f"{child.get('name')}: option title over 30 characters")
            if kind == "TextArea" and len(child.get("label", "")) > 20:
                errors.append(f"{child.get('name')}: label over 20 characters")
            if kind == "Footer":
                action = child.get("on-click-action", {})
                target = action.get("next", {}).get("name")
                if action.get("name") == "navigate" and target not in ids:
                    errors.append(f"{screen.get('id')}: navigates to unknown {target!r}")
        footers = [c for c in children if c.get("type") == "Footer"]
        if len(footers) != 1:
            errors.append(f"{screen.get('id')}: exactly one Footer")
    if not any(screen.get("terminal") for screen in document["screens"]):
        errors.append("no terminal screen")
    return errors


# --------------------------------------------------------------------------------------------
# The webhooks Meta sends: named fixtures of real payload shapes, filled in per test
# --------------------------------------------------------------------------------------------

FIXTURES_DIR: Final = Path(__file__).parents[2] / "fixtures" / "whatsapp"
_event_seq = itertools.count(1)


@cache
def _load(name: str) -> str:
    return (FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8")


def fixture(name: str) -> JsonDict:
    """A fresh copy of ``tests/fixtures/whatsapp/<name>.json``."""
    return cast(JsonDict, json.loads(_load(name)))


def signature_header(app_secret: str, body: bytes) -> dict[str, str]:
    """The header Meta signs every webhook with: HMAC-SHA256 of the raw body."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def new_wamid(prefix: str = "in") -> str:
    raw = f"{prefix}-{next(_event_seq):08d}".encode()
    return "wamid.HBgN" + urlsafe_b64encode(raw).decode().rstrip("=")


def _value(payload: JsonDict) -> JsonDict:
    return cast(JsonDict, payload["entry"][0]["changes"][0]["value"])


class Citizen:
    """One WhatsApp user: builds the webhooks their actions produce, from the fixtures.

    ``wa_id=None`` is a user who adopted a username: only the business-scoped id is sent.
    """

    def __init__(
        self,
        user_id: str = "ID.1349120865530274",
        wa_id: str | None = "6281234567890",
        name: str = "Maria Kogoya",
        phone_number_id: str = "106540352242922",
    ) -> None:
        self.user_id = user_id
        self.wa_id = wa_id
        self.name = name
        self.phone_number_id = phone_number_id

    @property
    def reply_address(self) -> str:
        """Where the bot's messages to this user go: the phone number when Meta shows it
        (``to``), else the business-scoped user id (``recipient``)."""
        return self.wa_id or self.user_id

    def _personalise(self, payload: JsonDict) -> JsonDict:
        value = _value(payload)
        value["metadata"]["phone_number_id"] = self.phone_number_id
        contact: JsonDict = {"profile": {"name": self.name}, "user_id": self.user_id}
        if self.wa_id:
            contact["wa_id"] = self.wa_id
        value["contacts"] = [contact]
        for message in value.get("messages", []):
            message["id"] = new_wamid()
            message["timestamp"] = str(int(time.time()))
            message["from_user_id"] = self.user_id
            if self.wa_id:
                message["from"] = self.wa_id
            else:
                message.pop("from", None)
        return payload

    def text(self, body: str) -> JsonDict:
        payload = self._personalise(fixture("text"))
        _value(payload)["messages"][0]["text"]["body"] = body
        return payload

    def tap(self, reply: JsonDict, context_id: str | None, *, kind: str = "list") -> JsonDict:
        """Tapping a list row (``kind="list"``) or a reply button of message ``context_id``."""
        name = "list_reply" if kind == "list" else "button_reply"
        payload = self._personalise(fixture(name))
        message = _value(payload)["messages"][0]
        chosen = {"id": reply["id"], "title": reply["title"]}
        if kind == "list" and reply.get("description"):
            chosen["description"] = reply["description"]
        message["interactive"] = {"type": name, name: chosen}
        if context_id is None:
            message.pop("context", None)
        else:
            message["context"]["id"] = context_id
        return payload

    def flow_reply(self, flow_message: SentMessage, response_json: str) -> JsonDict:
        """The webhook of a completed Flow, as Meta documents it ("Receiving Flow Response"):
        an ``interactive`` message of type ``nfm_reply`` whose ``context.id`` is the Flow
        message's wamid."""
        payload = self._personalise(fixture("button_reply"))
        message = _value(payload)["messages"][0]
        message["context"]["id"] = flow_message.wamid
        message["interactive"] = {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": response_json},
        }
        return payload

    def image(self) -> JsonDict:
        return self._personalise(fixture("image"))

    def location(self) -> JsonDict:
        return self._personalise(fixture("location"))

    def same_message_again(self, payload: JsonDict) -> JsonDict:
        """Meta's redelivery: the very same payload (same wamid)."""
        return copy.deepcopy(payload)


def status_payload(
    wamid: str,
    status: str,
    *,
    recipient: Citizen | None = None,
    error_code: int | None = None,
    error_title: str = "Message undeliverable",
    timestamp: int | None = None,
    phone_number_id: str = "106540352242922",
) -> JsonDict:
    """A status webhook for a message we sent, from ``status_<status>.json``."""
    payload = fixture(f"status_{status}")
    value = _value(payload)
    value["metadata"]["phone_number_id"] = phone_number_id
    item = value["statuses"][0]
    item["id"] = wamid
    item["timestamp"] = str(timestamp if timestamp is not None else int(time.time()))
    if recipient is not None:
        if recipient.wa_id:
            item["recipient_id"] = recipient.wa_id
        else:
            item.pop("recipient_id", None)
        if "recipient_user_id" in item:
            item["recipient_user_id"] = recipient.user_id
    if error_code is not None:
        known = KNOWN_ERRORS.get(error_code)
        item["errors"] = [
            {
                "code": error_code,
                "title": known[1].split(") ", 1)[-1] if known else error_title,
                "message": known[1].split(") ", 1)[-1] if known else error_title,
                "error_data": {"details": known[2] if known else error_title},
            }
        ]
    return payload
