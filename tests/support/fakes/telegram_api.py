"""A fake Telegram Bot API server on 127.0.0.1, speaking real HTTP and the Bot API's JSON.

Point python-telegram-bot (or any HTTP client) at it::

    async with FakeTelegramApi(token="123:ABC") as api:
        bot = telegram.Bot("123:ABC", base_url=api.base_url, base_file_url=api.base_file_url)
        async with bot:
            await bot.send_message(42, "hi")
        assert api.sent_messages(42)[0]["text"] == "hi"

What it models (see TECH.md §1a, 1d, 1g):

* URLs ``/bot<token>/<method>`` (method names are case-insensitive, as on the real server) and
  ``/file/bot<token>/<file_path>`` for downloads of uploaded files.
* Request bodies as PTB sends them (``application/x-www-form-urlencoded`` with object values as
  JSON strings, ``multipart/form-data`` with file parts), plain JSON bodies, and query strings.
* Replies ``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": N, "description": ...}``
  with the real API's error strings where they are known.
* getUpdates long polling with the real server's conflict rule: a *new* long poll terminates the
  one that is still waiting, which then gets 409 "terminated by other getUpdates request".
* Webhooks (setWebhook / deleteWebhook / getWebhookInfo and :meth:`deliver_webhook`),
  including a method call in the webhook's answer (:meth:`run_webhook_reply`).
* Message limits (text 1..4096, caption <= 1024, callback_data 1..64 bytes) and, with
  ``rate_limits=True``, flood limits (overall N/s and per-chat token bucket) answered with 429.
* Fault injection (:meth:`fail_next`, :meth:`set_down`, :meth:`set_hanging`, :attr:`delay_s`,
  :attr:`blocked_chats`).

Not modelled: message formatting (``parse_mode`` is stored, not rendered; only HTML tags are
discounted when checking text length), groups' 20 msg/min limit, media groups, inline mode.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import html
import itertools
import json
import logging
import math
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "ApiStats",
    "Call",
    "FakeTelegramApi",
    "UploadedFile",
]

JsonDict = dict[str, Any]
ChatKey = int | str

_log = logging.getLogger(__name__)

BOT_FIRST_NAME: Final = "SKM Bot"
BOT_USERNAME: Final = "skm_test_bot"
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024

CONFLICT_OTHER_POLL: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK_ACTIVE: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_SET_WEBHOOK: Final = "Conflict: terminated by setWebhook request"
MESSAGE_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
BLOCKED_BY_USER: Final = "Forbidden: bot was blocked by the user"
QUERY_INVALID: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)

#: Methods that count against the flood limits (and that a blocked user rejects with 403).
SEND_METHODS: Final = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)
_CHAT_METHODS: Final = SEND_METHODS | {"sendChatAction"}

#: Update types not delivered unless asked for explicitly in ``allowed_updates``.
_NOT_DEFAULT_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)

#: Parameters that are always plain strings and must never be JSON-decoded.
_RAW_STRING_FIELDS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "description",
        "short_description",
        "title",
        "name",
        "photo",
        "document",
        "file_id",
        "ip_address",
        "certificate",
        "message_effect_id",
        "business_connection_id",
        "question",
        "explanation",
        "emoji",
        "action",
        "query",
    }
)
_NUMBER_RE: Final = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_HTML_TAG_RE: Final = re.compile(r"<[^>]*>")
_SECRET_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}")
_WEBHOOK_PORTS: Final = frozenset({80, 88, 443, 8443})
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Call:
    """One authorised request: the canonical method name, its decoded parameters, and when it
    arrived (``time.monotonic()``). JSON-string values are decoded (``reply_markup`` is a dict,
    ``chat_id`` an int ...); uploaded files appear as :class:`UploadedFile`."""

    method: str
    params: JsonDict = field(hash=False)
    at: float
    # Made by Telegram from the webhook's answer ("Making requests when getting updates").
    via_webhook: bool = False


@dataclass(slots=True)
class ApiStats:
    """Request counters. ``rejected_429`` counts every 429 (injected or from the rate limiter);
    ``hung`` counts the requests held by :meth:`FakeTelegramApi.set_hanging`."""

    requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rejected_429: int = 0
    hung: int = 0


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True, slots=True)
class _Result:
    value: Any
    description: str | None = None


@dataclass(slots=True)
class _Failure:
    status: int
    remaining: int
    retry_after: int | None
    description: str | None


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes | None
    file_name: str | None
    mime_type: str | None


def _default_description(status: int, retry_after: int) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    if status == 403:
        return BLOCKED_BY_USER
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _too_many_requests(retry_after: int) -> _ApiError:
    return _ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _decode_value(name: str, value: Any) -> Any:
    """Decode a form value the way the Bot API reads it: strings stay strings, numbers,
    booleans and JSON objects/arrays become Python values."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str) or name in _RAW_STRING_FIELDS:
        return value
    stripped = value.strip()
    if not stripped:
        return value
    if (
        stripped[0] in "[{"
        or stripped in ("true", "false", "null")
        or _NUMBER_RE.fullmatch(stripped)
    ):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _as_float(value: Any, default: float) -> float:
    if value is None or value == "" or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _visible_text(text: str, parse_mode: Any) -> str:
    """Text as the user would see it (HTML tags removed); other parse modes are not parsed."""
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        return html.unescape(_HTML_TAG_RE.sub("", text))
    return text


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def _update_type(update: Mapping[str, Any]) -> str | None:
    return next((key for key in update if key != "update_id"), None)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegramApi:
    """Fake Bot API server. Use as ``async with FakeTelegramApi(...) as api`` or call
    :meth:`start` / :meth:`close` yourself.

    Args:
        token: the only token accepted; its numeric prefix is the bot's user id.
        rate_limits: enforce flood limits on :data:`SEND_METHODS` (429 with ``retry_after``).
        overall_per_s: accepted send-type calls allowed in any sliding 1 s window.
        per_chat_interval_s: one message per chat per this many seconds on average ...
        per_chat_burst: ... after an initial burst of this many (token bucket).
        host, port: where to listen; port 0 picks a free port.
        delay_s: latency added to every request (can be changed at any time).
    """

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        rate_limits: bool = False,
        overall_per_s: int = 30,
        per_chat_interval_s: float = 1.0,
        per_chat_burst: int = 3,
        host: str = "127.0.0.1",
        port: int = 0,
        delay_s: float = 0.0,
    ) -> None:
        prefix = token.split(":", 1)[0]
        if not prefix.isdigit():
            raise ValueError(f"token must look like '<digits>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(prefix)
        self.host = host
        self.rate_limits = rate_limits
        self.overall_per_s = overall_per_s
        self.per_chat_interval_s = per_chat_interval_s
        self.per_chat_burst = per_chat_burst
        self.delay_s = delay_s

        self.calls: list[Call] = []
        self.stats = ApiStats()
        #: Exceptions raised inside the fake itself (answered with 500); should stay empty.
        self.errors: list[BaseException] = []
        #: Chats whose user "blocked the bot": send-type calls there get 403.
        self.blocked_chats: set[ChatKey] = set()
        #: answerCallbackQuery parameters by callback_query_id.
        self.answered_callbacks: dict[str, JsonDict] = {}
        #: (update, HTTP status) for every :meth:`deliver_webhook`.
        self.webhook_deliveries: list[tuple[JsonDict, int]] = []

        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = False
        self._down = False
        # Set while not hanging; a hanging request waits for it (see set_hanging).
        self._released = asyncio.Event()
        self._released.set()
        self._changed = asyncio.Event()

        self._failures: dict[str, deque[_Failure]] = {}
        self._updates: list[JsonDict] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._poll: asyncio.Future[str] | None = None
        self._webhook: _Webhook | None = None

        self._messages: dict[ChatKey, dict[int, JsonDict]] = {}
        self._last_message_id: dict[ChatKey, int] = {}
        self._chats: dict[ChatKey, JsonDict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._callback_ids: set[str] = set()
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}

        self._overall_window: deque[float] = deque()
        self._chat_buckets: dict[ChatKey, tuple[float, float]] = {}

        self._handlers: dict[str, Callable[[JsonDict], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda _p: True,
            "close": lambda _p: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": lambda p: self._send_media(p, "photo"),
            "sendDocument": lambda p: self._send_media(p, "document"),
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
        }
        self._canonical = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        """Start listening (idempotent)."""
        if self._runner is not None:
            return self
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Stop the server; a waiting getUpdates is answered with an empty list first."""
        self._closing = True
        self._resolve_poll("closed")
        self._released.set()  # hanging requests are answered, so the server can shut down
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramApi is not started")
        return self._port

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:41234``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends ``<token>/<method>``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def method_url(self, method: str) -> str:
        """Full URL of a method for hand-written clients."""
        return f"{self.base_url}{self.token}/{method}"

    @property
    def bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    # ---------------------------------------------------------------- inspection

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def reset_calls(self) -> None:
        self.calls.clear()

    def add_user_file(self, file_id: str, data: bytes, mime_type: str = "image/jpeg") -> None:
        """A file a user sent (a photo's ``file_id``): ``getFile`` and its download find it."""
        n = next(self._file_seq)
        self._files[file_id] = _StoredFile(file_id, f"u{n}", f"photos/file_{n}.jpg", data,
                                           None, mime_type)  # fmt: skip

    def sent_messages(self, chat_id: ChatKey) -> list[JsonDict]:
        """Current state (after edits and deletions) of the bot's messages in a chat, oldest
        first, as Bot API Message dicts (copies)."""
        return [
            msg
            for msg in self.chat_history(chat_id)
            if msg.get("from", {}).get("id") == self.bot_id
        ]

    def chat_history(self, chat_id: ChatKey) -> list[JsonDict]:
        """All known messages of a chat: the bot's and the simulated user's."""
        try:
            chat = self._chat_key(chat_id)
        except _ApiError:
            return []
        return [copy.deepcopy(msg) for msg in self._messages.get(chat, {}).values()]

    def last_sent(self, chat_id: ChatKey) -> JsonDict | None:
        sent = self.sent_messages(chat_id)
        return sent[-1] if sent else None

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JsonDict]:
        """Commands stored by setMyCommands for a scope (default scope if None) and language."""
        return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    def uploaded(self, file_id: str) -> bytes | None:
        """Bytes uploaded for a file_id (None for unknown ids or ids sent by reference)."""
        stored = self._files.get(file_id)
        return stored.data if stored else None

    @property
    def pending_updates(self) -> list[JsonDict]:
        return copy.deepcopy(self._updates)

    @property
    def long_poll_active(self) -> bool:
        """True while a getUpdates request is parked waiting for updates."""
        return self._poll is not None and not self._poll.done()

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    @property
    def webhook_secret_token(self) -> str | None:
        return self._webhook.secret_token if self._webhook else None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true; it is re-checked after every request and state
        change (no polling). Raises TimeoutError with the last calls in the message."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    if predicate():
                        return
                    await changed.wait()
        except TimeoutError:
            recent = ", ".join(call.method for call in self.calls[-10:]) or "none"
            raise TimeoutError(
                f"condition not met within {timeout}s (last calls: {recent})"
            ) from None

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` were handled; returns all of them."""
        await self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str = "*",
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of handling them.

        ``method="*"`` matches any method except getUpdates (so a polling loop does not eat the
        failure); method-specific failures are used before ``"*"`` ones. 429 replies carry
        ``parameters.retry_after`` (default 1). Default descriptions: 429 "Too Many Requests:
        retry after N", 403 "Forbidden: bot was blocked by the user", otherwise the HTTP phrase
        ("Internal Server Error", "Bad Gateway", ...)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._failures.setdefault(method, deque()).append(
            _Failure(status, times, retry_after, description)
        )

    def clear_failures(self) -> None:
        self._failures.clear()

    def set_down(self, down: bool = True) -> None:
        """Outage switch: while down every method answers 502 "Bad Gateway"."""
        self._down = down

    def set_hanging(self, hanging: bool = True) -> None:
        """Timeout switch: while on, every method but getUpdates is read and never answered.

        Like a request lost in the network, a held request is not applied (and not recorded in
        :attr:`calls`; :attr:`ApiStats.hung` counts it). When the switch goes off the held
        requests are answered 504 "Gateway Timeout", still unapplied: by then their clients
        have given up. Requests arriving after that are handled normally."""
        if hanging:
            self._released.clear()
        else:
            self._released.set()

    @property
    def hanging(self) -> bool:
        return not self._released.is_set()

    # ---------------------------------------------------------------- inbound simulation

    def push_update(self, update: Mapping[str, Any]) -> JsonDict:
        """Queue an update for getUpdates; assigns ``update_id`` when missing. Updates of types
        excluded by the current ``allowed_updates`` are dropped, like the real server does.
        Returns the queued update."""
        upd = self._prepare_update(update)
        kind = _update_type(upd)
        if self._is_allowed(kind):
            self._updates.append(upd)
            self._resolve_poll("wake")
        self._notify()
        return upd

    def make_message_update(
        self,
        chat_id: int,
        text: str | None,
        user_id: int | None = None,
        *,
        first_name: str = "Budi",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "id",
        reply_to_message_id: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> JsonDict:
        """Build a realistic ``message`` update from a user (private chat when chat_id > 0).

        The message is recorded in the chat's history and gets the chat's next message_id;
        text starting with "/" gets a ``bot_command`` entity so PTB's CommandHandler matches.
        ``extra`` is merged into the message (``contact``, ``location``, ``photo`` ...)."""
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1)
        user = self._make_user(uid, first_name, last_name, username, language_code)
        chat = self._remember_chat(chat_id, user)
        message: JsonDict = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
                ]
        if reply_to_message_id is not None:
            replied = self._messages.get(chat_id, {}).get(reply_to_message_id)
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied)
        if extra:
            message.update(copy.deepcopy(dict(extra)))
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return {"update_id": self._alloc_update_id(), "message": copy.deepcopy(message)}

    def make_callback_update(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        user_id: int | None = None,
        *,
        first_name: str = "Budi",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "id",
        callback_id: str | None = None,
    ) -> JsonDict:
        """Build a ``callback_query`` update for a button press on a message (the stored
        message is embedded; unknown messages become an inaccessible message with date 0)."""
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1)
        user = self._make_user(uid, first_name, last_name, username, language_code)
        chat = self._remember_chat(chat_id, user)
        stored = self._messages.get(chat_id, {}).get(message_id)
        message = (
            copy.deepcopy(stored)
            if stored is not None
            else {"message_id": message_id, "date": 0, "chat": chat}
        )
        query_id = callback_id or str(10**15 + next(self._callback_seq))
        self._callback_ids.add(query_id)
        return {
            "update_id": self._alloc_update_id(),
            "callback_query": {
                "id": query_id,
                "from": user,
                "message": message,
                "chat_instance": f"{abs(chat_id)}{self.bot_id}",
                "data": data,
            },
        }

    async def deliver_webhook(self, update: Mapping[str, Any], timeout: float = 10.0) -> int:
        """POST an update as JSON to the URL set by setWebhook (with the
        X-Telegram-Bot-Api-Secret-Token header when a secret is set); returns the HTTP status.
        Connection errors propagate (and are recorded in getWebhookInfo's last_error)."""
        webhook = self._webhook
        if webhook is None:
            raise RuntimeError("no webhook is set (call setWebhook first)")
        upd = self._prepare_update(update)
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                webhook.url,
                data=json.dumps(upd),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                answer = await resp.read()
                status, reason = resp.status, resp.reason
                content_type = resp.content_type
        except (aiohttp.ClientError, TimeoutError) as exc:
            webhook.last_error_date = int(time.time())
            webhook.last_error_message = f"Connection failed: {exc!r}"
            raise
        if not 200 <= status < 300:
            webhook.last_error_date = int(time.time())
            webhook.last_error_message = f"Wrong response from the webhook: {status} {reason}"
        self.webhook_deliveries.append((upd, status))
        if 200 <= status < 300:
            await self.run_webhook_reply(answer, content_type)
        self._notify()
        return status

    async def run_webhook_reply(
        self, answer: bytes, content_type: str = "application/json"
    ) -> Call | None:
        """Make the Bot API call a webhook's 2xx answer names in ``method``, as Telegram does
        (its result goes nowhere); the call, or None when the answer names none."""
        if content_type != "application/json" or not answer.strip():
            return None
        try:
            data = json.loads(answer)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("method"), str):
            return None
        method = self._canonical.get(data["method"].lower(), data["method"])
        params = {name: _decode_value(name, value) for name, value in data.items()}
        del params["method"]
        call = Call(method, params, time.monotonic(), via_webhook=True)
        self.calls.append(call)
        self.stats.requests += 1
        status, _ = await self._dispatch(method, params)
        self.stats.by_method[method] += 1
        self.stats.by_status[status] += 1
        return call

    # ---------------------------------------------------------------- HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrival = time.monotonic()
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        self.stats.requests += 1
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return self._respond(raw_method, 401, _ApiError(401, "Unauthorized").body())
        method = self._canonical.get(raw_method.lower(), raw_method)
        try:
            params = await self._read_params(request)
        except _ApiError as exc:
            return self._respond(method, exc.status, exc.body())
        if not self._released.is_set() and method != "getUpdates":
            return await self._hang(method)
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        self.calls.append(Call(method, params, arrival))
        self._notify()
        status, body = await self._dispatch(method, params)
        response = self._respond(method, status, body)
        self._notify()
        return response

    async def _hang(self, method: str) -> web.Response:
        self.stats.hung += 1
        self._notify()
        await self._released.wait()  # cancelled instead if the server drops the connection
        error = _ApiError(504, "Gateway Timeout")
        return self._respond(method, error.status, error.body())

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        if not hmac.compare_digest(request.match_info["token"].encode(), self.token.encode()):
            return self._respond("file", 401, _ApiError(401, "Unauthorized").body())
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None or stored.data is None:
            return self._respond("file", 404, _ApiError(404, "Not Found").body())
        self.stats.by_method["file"] += 1
        self.stats.by_status[200] += 1
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _respond(self, method: str, status: int, body: JsonDict) -> web.Response:
        self.stats.by_method[method] += 1
        self.stats.by_status[status] += 1
        if status == 429:
            self.stats.rejected_429 += 1
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> JsonDict:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        try:
            if request.content_type == "application/json":
                body = await request.read()
                if body.strip():
                    data = json.loads(body)
                    if not isinstance(data, dict):
                        raise _ApiError(400, "Bad Request: JSON body must be an object")
                    raw.update(data)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        try:
                            content = value.file.read()
                        finally:
                            value.file.close()
                        uploads[name] = UploadedFile(
                            name, value.filename, value.content_type, content
                        )
                    else:
                        raw[name] = value
        except web.HTTPRequestEntityTooLarge:
            raise _ApiError(413, "Request Entity Too Large") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise _ApiError(400, f"Bad Request: can't parse request: {exc}") from None
        params = {name: _decode_value(name, value) for name, value in raw.items()}
        for name, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                ref = value.removeprefix("attach://")
                if ref in uploads:
                    params[name] = uploads[ref]
        referenced = {v.field for v in params.values() if isinstance(v, UploadedFile)}
        for name, upload in uploads.items():
            if name not in referenced:
                params.setdefault(name, upload)
        return params

    async def _dispatch(self, method: str, params: JsonDict) -> tuple[int, JsonDict]:
        try:
            if self._down:
                raise _ApiError(502, "Bad Gateway")
            handler = self._handlers.get(method)
            if handler is None and method != "getUpdates":
                raise _ApiError(404, "Not Found")
            self._maybe_fail(method)
            if method in _CHAT_METHODS:
                self._check_blocked(params)
            self._check_rate_limit(method, params)
            if handler is None:
                result: Any = await self._get_updates(params)
            else:
                result = handler(params)
        except _ApiError as exc:
            return exc.status, exc.body()
        except Exception as exc:  # a bug in the fake: surface it, do not hide it
            _log.exception("FakeTelegramApi crashed handling %s", method)
            self.errors.append(exc)
            return 500, _ApiError(500, f"Internal Server Error: fake crashed: {exc!r}").body()
        if isinstance(result, _Result):
            body: JsonDict = {"ok": True, "result": result.value}
            if result.description:
                body["description"] = result.description
            return 200, body
        return 200, {"ok": True, "result": result}

    # ---------------------------------------------------------------- checks

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _maybe_fail(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue and method != "getUpdates":
            queue = self._failures.get("*")
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        retry_after = failure.retry_after if failure.retry_after is not None else 1
        description = failure.description or _default_description(failure.status, retry_after)
        parameters = {"retry_after": retry_after} if failure.status == 429 else None
        raise _ApiError(failure.status, description, parameters)

    def _check_blocked(self, params: JsonDict) -> None:
        chat_id = params.get("chat_id")
        if chat_id is not None and self._chat_key(chat_id) in self.blocked_chats:
            raise _ApiError(403, BLOCKED_BY_USER)

    def _check_rate_limit(self, method: str, params: JsonDict) -> None:
        if not self.rate_limits or method not in SEND_METHODS:
            return
        now = time.monotonic()
        window = self._overall_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.overall_per_s:
            raise _too_many_requests(max(1, math.ceil(window[0] + 1.0 - now)))
        chat_id = params.get("chat_id")
        if chat_id is not None and not params.get("inline_message_id"):
            chat = self._chat_key(chat_id)
            burst = float(self.per_chat_burst)
            tokens, last = self._chat_buckets.get(chat, (burst, now))
            tokens = min(burst, tokens + (now - last) / self.per_chat_interval_s)
            if tokens < 1.0:
                self._chat_buckets[chat] = (tokens, now)
                wait = (1.0 - tokens) * self.per_chat_interval_s
                raise _too_many_requests(max(1, math.ceil(wait)))
            self._chat_buckets[chat] = (tokens - 1.0, now)
        window.append(now)

    def _chat_key(self, chat_id: Any) -> ChatKey:
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, bool):
            raise _ApiError(400, "Bad Request: chat not found")
        if isinstance(chat_id, int):
            return chat_id
        text = str(chat_id).strip()
        try:
            return int(text)
        except ValueError:
            pass
        if text.startswith("@"):
            for key, chat in self._chats.items():
                if str(chat.get("username", "")).lower() == text[1:].lower():
                    return key
        raise _ApiError(400, "Bad Request: chat not found")

    def _check_text(
        self, value: Any, parse_mode: Any, *, limit: int, empty: str | None, too_long: str
    ) -> str:
        text = "" if value is None else str(value)
        visible = _visible_text(text, parse_mode)
        if empty is not None and not visible.strip():
            raise _ApiError(400, f"Bad Request: {empty}")
        if len(visible) > limit:
            raise _ApiError(400, f"Bad Request: {too_long}")
        return text

    def _check_markup(self, value: Any) -> JsonDict | None:
        """Validate reply_markup; returns the inline keyboard markup to store (others are not
        part of the Message object) or None."""
        if value is None or value == "":
            return None
        markup = value
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                markup = None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be '
                "an Array of Arrays",
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _ApiError(
                        400, "Bad Request: can't parse inline keyboard button: Text is missing"
                    )
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                elif len(button) == 1:
                    raise _ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
        return copy.deepcopy(markup)

    # ---------------------------------------------------------------- state helpers

    def _alloc_update_id(self) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        return update_id

    def _prepare_update(self, update: Mapping[str, Any]) -> JsonDict:
        upd = copy.deepcopy(dict(update))
        if "update_id" not in upd:
            upd["update_id"] = self._alloc_update_id()
        else:
            self._next_update_id = max(self._next_update_id, int(upd["update_id"]) + 1)
        query = upd.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._callback_ids.add(str(query["id"]))
        return upd

    def _is_allowed(self, kind: str | None) -> bool:
        if kind is None:
            return True
        if self._allowed_updates is None:
            return kind not in _NOT_DEFAULT_UPDATES
        return kind in self._allowed_updates

    def _set_allowed_updates(self, value: Any) -> None:
        if isinstance(value, list):
            self._allowed_updates = [str(v) for v in value] or None

    def _resolve_poll(self, reason: str) -> None:
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(reason)

    def _make_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> JsonDict:
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _remember_chat(self, chat_id: int, user: JsonDict) -> JsonDict:
        if chat_id > 0:
            chat: JsonDict = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if key in user:
                    chat[key] = user[key]
            self._chats[chat_id] = chat
        else:
            chat = self._chat_object(chat_id)
        return copy.deepcopy(chat)

    def _chat_object(self, chat: ChatKey) -> JsonDict:
        known = self._chats.get(chat)
        if known is not None:
            return copy.deepcopy(known)
        if isinstance(chat, int) and chat < 0:
            kind = "supergroup" if str(chat).startswith("-100") else "group"
            return {"id": chat, "type": kind, "title": "Test Group"}
        return {"id": chat, "type": "private"}

    def _next_message_id(self, chat: ChatKey) -> int:
        message_id = self._last_message_id.get(chat, 0) + 1
        self._last_message_id[chat] = message_id
        return message_id

    def _store_bot_message(self, chat: ChatKey, params: JsonDict, content: JsonDict) -> JsonDict:
        message: JsonDict = {
            "message_id": self._next_message_id(chat),
            "from": self.bot_user,
            "chat": self._chat_object(chat),
            "date": int(time.time()),
        }
        reply_to = _as_int(params.get("reply_to_message_id"))
        reply_parameters = params.get("reply_parameters")
        if reply_to is None and isinstance(reply_parameters, dict):
            reply_to = _as_int(reply_parameters.get("message_id"))
        if reply_to is not None:
            replied = self._messages.get(chat, {}).get(reply_to)
            if replied is not None:
                replied = copy.deepcopy(replied)
                replied.pop("reply_to_message", None)
                message["reply_to_message"] = replied
        message.update(content)
        self._messages.setdefault(chat, {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _edit_target(self, params: JsonDict) -> JsonDict | None:
        """The stored message to edit, or None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat = self._chat_key(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get(chat, {}).get(message_id)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return message

    def _store_file(self, source: Any, kind: str) -> _StoredFile:
        if isinstance(source, UploadedFile):
            n = next(self._file_seq)
            folder = "photos" if kind == "photo" else "documents"
            name = source.filename or f"file_{n}"
            suffix = (
                name.rsplit(".", 1)[-1] if "." in name else ("jpg" if kind == "photo" else "bin")
            )
            stored = _StoredFile(
                file_id=f"fake-{kind}-{n}",
                file_unique_id=f"u{n}",
                file_path=f"{folder}/file_{n}.{suffix}",
                data=source.data,
                file_name=source.filename or None,
                mime_type=source.content_type or None,
            )
            self._files[stored.file_id] = stored
            return stored
        reference = str(source)
        existing = self._files.get(reference)
        if existing is not None:
            return existing
        n = next(self._file_seq)
        stored = _StoredFile(
            file_id=reference if not reference.startswith("http") else f"fake-{kind}-{n}",
            file_unique_id=f"u{n}",
            file_path=f"{kind}s/file_{n}",
            data=None,
            file_name=None,
            mime_type=None,
        )
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not isinstance(scope, Mapping) or not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True)

    # ---------------------------------------------------------------- methods

    def _get_me(self, _params: JsonDict) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        if self._webhook is not None:
            raise _ApiError(409, CONFLICT_WEBHOOK_ACTIVE)
        offset = _as_int(params.get("offset"), 0) or 0
        limit = min(max(_as_int(params.get("limit"), 100) or 100, 1), 100)
        timeout = max(_as_float(params.get("timeout"), 0.0), 0.0)
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        self._confirm_updates(offset)
        batch = self._select_updates(offset, limit)
        if batch or timeout == 0 or self._closing:
            return batch
        # Like the real server: a new long poll terminates the one still waiting.
        self._resolve_poll("conflict")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            poll: asyncio.Future[str] = loop.create_future()
            self._poll = poll
            self._notify()
            try:
                reason = await asyncio.wait_for(poll, remaining)
            except TimeoutError:
                break
            finally:
                if self._poll is poll:
                    self._poll = None
            if reason == "conflict":
                raise _ApiError(409, CONFLICT_OTHER_POLL)
            if reason == "webhook":
                raise _ApiError(409, CONFLICT_SET_WEBHOOK)
            if reason == "closed":
                return []
            batch = self._select_updates(offset, limit)
            if batch:
                return batch
        return self._select_updates(offset, limit)

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _select_updates(self, offset: int, limit: int) -> list[JsonDict]:
        selected = [u for u in self._updates if offset <= 0 or int(u["update_id"]) >= offset]
        return copy.deepcopy(selected[:limit])

    def _set_webhook(self, params: JsonDict) -> _Result:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise _ApiError(400, "Bad Request: bad webhook: Failed to resolve host")
        if host not in _LOOPBACK_HOSTS:
            if parts.scheme != "https":
                raise _ApiError(
                    400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
                )
            if (parts.port or 443) not in _WEBHOOK_PORTS:
                raise _ApiError(
                    400,
                    "Bad Request: bad webhook: Webhook can be set up only on ports "
                    "80, 88, 443 or 8443",
                )
        secret = params.get("secret_token")
        secret = None if secret in (None, "") else str(secret)
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = min(max(_as_int(params.get("max_connections"), 40) or 40, 1), 100)
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        already = self._webhook is not None and self._webhook.url == url
        self._webhook = _Webhook(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            allowed_updates=list(self._allowed_updates) if self._allowed_updates else None,
        )
        self._resolve_poll("webhook")
        return _Result(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, params: JsonDict) -> _Result:
        existed = self._webhook is not None
        self._webhook = None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return _Result(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _get_webhook_info(self, _params: JsonDict) -> JsonDict:
        webhook = self._webhook
        info: JsonDict = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if webhook.allowed_updates:
                info["allowed_updates"] = list(webhook.allowed_updates)
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        cleaned: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            command = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not _COMMAND_RE.fullmatch(command):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        if len(cleaned) > 100:
            raise _ApiError(400, "Bad Request: too many commands")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = cleaned
        return True

    def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JsonDict) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    def _send_message(self, params: JsonDict) -> JsonDict:
        chat = self._chat_key(params.get("chat_id"))
        text = self._check_text(
            params.get("text"),
            params.get("parse_mode"),
            limit=MAX_TEXT_LENGTH,
            empty="message text is empty",
            too_long="message is too long",
        )
        markup = self._check_markup(params.get("reply_markup"))
        content: JsonDict = {"text": text}
        if isinstance(params.get("entities"), list):
            content["entities"] = params["entities"]
        if markup is not None:
            content["reply_markup"] = markup
        return self._store_bot_message(chat, params, content)

    def _send_media(self, params: JsonDict, kind: str) -> JsonDict:
        chat = self._chat_key(params.get("chat_id"))
        source = params.get(kind)
        if source is None or source == "":
            raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = self._check_text(
            params.get("caption"),
            params.get("parse_mode"),
            limit=MAX_CAPTION_LENGTH,
            empty=None,
            too_long="message caption is too long",
        )
        markup = self._check_markup(params.get("reply_markup"))
        stored = self._store_file(source, kind)
        content: JsonDict = {}
        if kind == "photo":
            width, height = (_png_size(stored.data) if stored.data else None) or (320, 240)
            size: JsonDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
            }
            if stored.data is not None:
                size["file_size"] = len(stored.data)
            content["photo"] = [size]
        else:
            document: JsonDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
            }
            if stored.file_name:
                document["file_name"] = stored.file_name
            if stored.mime_type:
                document["mime_type"] = stored.mime_type
            if stored.data is not None:
                document["file_size"] = len(stored.data)
            content["document"] = document
        if caption:
            content["caption"] = caption
        if markup is not None:
            content["reply_markup"] = markup
        return self._store_bot_message(chat, params, content)

    def _send_chat_action(self, params: JsonDict) -> bool:
        self._chat_key(params.get("chat_id"))
        if not params.get("action"):
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _edit_message_text(self, params: JsonDict) -> JsonDict | bool:
        text = self._check_text(
            params.get("text"),
            params.get("parse_mode"),
            limit=MAX_TEXT_LENGTH,
            empty="message text is empty",
            too_long="message is too long",
        )
        markup = self._check_markup(params.get("reply_markup"))
        message = self._edit_target(params)
        if message is None:
            return True
        if "text" not in message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        if message["text"] == text and message.get("reply_markup") == markup:
            raise _ApiError(400, MESSAGE_NOT_MODIFIED)
        message["text"] = text
        if isinstance(params.get("entities"), list):
            message["entities"] = params["entities"]
        else:
            message.pop("entities", None)
        self._apply_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_caption(self, params: JsonDict) -> JsonDict | bool:
        caption = self._check_text(
            params.get("caption"),
            params.get("parse_mode"),
            limit=MAX_CAPTION_LENGTH,
            empty=None,
            too_long="message caption is too long",
        )
        markup = self._check_markup(params.get("reply_markup"))
        message = self._edit_target(params)
        if message is None:
            return True
        if "text" in message:
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        if message.get("caption", "") == caption and message.get("reply_markup") == markup:
            raise _ApiError(400, MESSAGE_NOT_MODIFIED)
        if caption:
            message["caption"] = caption
        else:
            message.pop("caption", None)
        self._apply_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict | bool:
        markup = self._check_markup(params.get("reply_markup"))
        message = self._edit_target(params)
        if message is None:
            return True
        if message.get("reply_markup") == markup:
            raise _ApiError(400, MESSAGE_NOT_MODIFIED)
        self._apply_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    @staticmethod
    def _apply_markup(message: JsonDict, markup: JsonDict | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    def _delete_message(self, params: JsonDict) -> bool:
        chat = self._chat_key(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        messages = self._messages.get(chat, {})
        if message_id is None or message_id not in messages:
            raise _ApiError(400, "Bad Request: message to delete not found")
        del messages[message_id]
        return True

    def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids:
            raise _ApiError(400, QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callback_ids.discard(query_id)  # a query can be answered only once
        self.answered_callbacks[query_id] = dict(params)
        return True

    def _get_file(self, params: JsonDict) -> JsonDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        result: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.data is not None:
            result["file_size"] = len(stored.data)
        return result
