"""The Telegram channel, on python-telegram-bot 22 used as Bot API client and update parser.

State stays in our database (no ConversationHandler, no pickle persistence). Updates become
one :class:`Inbound`; outbox rows become ``sendMessage`` with an inline keyboard or an
``editMessageText`` that shows the chosen answer and removes the keyboard.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from telegram import Bot as TelegramBot
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData

from handlers.outbox import PermanentSendError, SendReceipt, TransientSendError
from storage.repository import PendingMessage
from survey_flows.catalog import text as catalogue_text
from survey_flows.types import Channel, Inbound, InboundKind, Outbound

log = logging.getLogger(__name__)

CALLBACK_VERSION = "v1"
MAX_CALLBACK_BYTES = 64
ALLOWED_UPDATES = ("message", "callback_query")
# Commands shown in Telegram's menu, per language (setMyCommands).
COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "id": (
        ("start", "Mulai / menu utama"),
        ("survei", "Isi survei kepuasan"),
        ("bahasa", "Ganti bahasa"),
        ("batal", "Batalkan survei"),
        ("bantuan", "Bantuan"),
        ("hapus", "Hapus data saya"),
    ),
    "en": (
        ("start", "Start / main menu"),
        ("survei", "Take the satisfaction survey"),
        ("bahasa", "Change language"),
        ("batal", "Cancel the survey"),
        ("bantuan", "Help"),
        ("hapus", "Erase my data"),
    ),
}


class TelegramConflict(Exception):
    """Another process is polling this bot token (or a webhook is set)."""


class MalformedUpdate(ValueError):
    """A webhook body that python-telegram-bot cannot read as an update."""


# --- inbound: updates to Inbound -----------------------------------------------------------


def callback_data(token: str | None, choice_id: str) -> str:
    """Short, versioned callback data: ``v1|<prompt token>|<choice id>`` (at most 64 bytes)."""
    data = f"{CALLBACK_VERSION}|{token or ''}|{choice_id}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long for choice {choice_id!r}")
    return data


def parse_callback(data: str | None) -> tuple[str | None, str | None]:
    """(prompt token, choice id) from callback data; (None, None) when it is not ours."""
    if not data:
        return None, None
    parts = data.split("|", 2)
    if len(parts) != 3 or parts[0] != CALLBACK_VERSION:
        return None, None
    return parts[1] or None, parts[2] or None


@dataclass(frozen=True, slots=True)
class ParsedUpdate:
    """An update turned into our terms; ``inbound`` is None for updates we ignore."""

    inbound: Inbound | None
    callback_query_id: str | None = None
    reason: str = ""


def parse_update(update: Update, bot_id: int, received_at: datetime) -> ParsedUpdate:
    """Turn a Telegram update into an :class:`Inbound`, or say why it is ignored.

    Only private chats are served: group chats, channel posts, edited messages and messages
    from bots are ignored (no reply, nothing stored).
    """
    event_id = f"{bot_id}:{update.update_id}"
    query = update.callback_query
    if query is not None:
        message = query.message
        chat = message.chat if message is not None else None
        if chat is None or chat.type != "private" or query.from_user.is_bot:
            return ParsedUpdate(None, query.id, "callback outside a private chat")
        if not _is_chat_id(chat.id):
            return ParsedUpdate(None, query.id, "not a chat id")
        token, choice_id = parse_callback(query.data)
        return ParsedUpdate(
            Inbound(
                channel=Channel.TELEGRAM,
                contact=str(chat.id),
                event_id=event_id,
                kind=InboundKind.CHOICE,
                received_at=received_at,
                choice_id=choice_id or "",
                # Callback data that is not ours (forged, or an old format) is stale by
                # construction: its token can never match.
                prompt_token=token if choice_id else "invalid",
                message_ref=str(message.message_id) if message is not None else None,
            ),
            query.id,
        )
    message = update.message
    if message is None:
        return ParsedUpdate(None, reason="not a new message (edit, channel post, other)")
    if message.chat.type != "private":
        return ParsedUpdate(None, reason="not a private chat")
    if message.from_user is None or message.from_user.is_bot:
        return ParsedUpdate(None, reason="from a bot")
    if not _is_chat_id(message.chat.id):
        return ParsedUpdate(None, reason="not a chat id")
    common: dict[str, Any] = {
        "channel": Channel.TELEGRAM,
        "contact": str(message.chat.id),
        "event_id": event_id,
        "received_at": received_at,
    }
    replied = message.reply_to_message
    if replied is not None and (replied.text or replied.caption):
        # An officer answers a complaint by replying to its notification, which names the ticket.
        common["quoted_text"] = (replied.text or replied.caption or "")[:4096]
    if message.text is not None:
        text = message.text
        if text.startswith("/") and len(text) > 1:
            head, *args = text.split()
            command = head[1:].split("@", 1)[0].lower()
            return ParsedUpdate(
                Inbound(
                    kind=InboundKind.COMMAND, command=command, command_args=tuple(args), **common
                )
            )
        return ParsedUpdate(Inbound(kind=InboundKind.TEXT, text=text, **common))
    if message.location is not None:
        location = (message.location.latitude, message.location.longitude)
        return ParsedUpdate(Inbound(kind=InboundKind.LOCATION, location=location, **common))
    if message.photo:
        photo = message.photo[-1].file_id
        return ParsedUpdate(Inbound(kind=InboundKind.MEDIA, media_ref=photo, **common))
    return ParsedUpdate(Inbound(kind=InboundKind.UNSUPPORTED, **common))


def _is_chat_id(value: object) -> bool:
    """Telegram's chat ids are integers of at most 52 bits; anything else is forged."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


# --- outbound: Outbound to Bot API calls ---------------------------------------------------


def keyboard(message: Outbound) -> InlineKeyboardMarkup | None:
    """One answer per row (long labels stay readable on a phone), navigation on the last."""
    if not message.choices:
        return None
    rows = [
        [InlineKeyboardButton(c.label, callback_data=callback_data(message.prompt_token, c.id))]
        for c in message.answer_choices()
    ]
    nav = [
        InlineKeyboardButton(c.label, callback_data=callback_data(message.prompt_token, c.id))
        for c in message.nav_choices()
    ]
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def answered_text(payload: dict[str, Any]) -> str:
    """The question as it reads once answered: the text plus the chosen answer."""
    answer = catalogue_text("id", "answered", answer=payload.get("answer", ""))
    return f"{payload.get('question', '')}\n\n{answer}"


class RateLimiter:
    """Telegram's limits in one process: about 30 messages/s overall and 1/s per chat.

    A short burst per chat is allowed (the platform tolerates it); a ``retry_after`` from the
    API pauses every send for that long. A chat waiting for its own turn never holds up the
    others. With ``overall_burst``, sends are also spread evenly (a token bucket of that size
    refilled at ``overall_per_s``): a whole second's allowance sent at once reaches the
    platform with jitter, and a few arrive in the next second's window, over its limit.
    """

    def __init__(
        self,
        overall_per_s: float = 25.0,
        per_chat_interval_s: float = 1.0,
        per_chat_burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        overall_burst: int | None = None,
    ) -> None:
        self.overall_per_s = overall_per_s
        self.per_chat_interval_s = per_chat_interval_s
        self.per_chat_burst = per_chat_burst
        self.overall_burst = overall_burst
        self.clock = clock
        self.sleep = sleep
        self._recent: deque[float] = deque()
        self._chats: dict[str, deque[float]] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._tokens = float(overall_burst or 0)
        self._tokens_at = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _chat_wait(self, chat: str, now: float) -> float:
        sent = self._chats.setdefault(chat, deque())
        window = self.per_chat_interval_s * self.per_chat_burst
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) >= self.per_chat_burst:
            return window - (now - sent[0])
        return 0.0

    def _overall_wait(self, now: float) -> float:
        wait = max(self._paused_until - now, 0.0)
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.overall_per_s:
            wait = max(wait, 1.0 - (now - self._recent[0]))
        if self.overall_burst is not None:
            elapsed = max(now - self._tokens_at, 0.0)
            self._tokens = min(self._tokens + elapsed * self.overall_per_s, self.overall_burst)
            self._tokens_at = now
            if self._tokens < 1.0 - 1e-9:  # (a hair's tolerance: float sums never loop)
                wait = max(wait, (1.0 - self._tokens) / self.overall_per_s)
        return wait

    async def acquire(self, chat: str) -> None:
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        async with lock:  # one chat's messages wait for the chat's turn, without the others
            while (wait := self._chat_wait(chat, self.clock())) > 0:
                await self.sleep(wait)
            async with self._lock:
                while (wait := self._overall_wait(self.clock())) > 0:
                    await self.sleep(wait)
                now = self.clock()
                self._recent.append(now)
                if self.overall_burst is not None:
                    self._tokens -= 1.0
            self._chats[chat].append(now)
        if len(self._chats) > 10_000:  # forget idle chats
            idle = [
                c
                for c, s in self._chats.items()
                if (not s or now - s[-1] > 60) and not self._chat_locks[c].locked()
            ]
            for key in idle:
                del self._chats[key]
                del self._chat_locks[key]


BlockedCallback = Callable[[str], Awaitable[None]]


class TelegramSender:
    """Sends outbox rows through the Bot API and maps its errors to ours."""

    channel = Channel.TELEGRAM.value

    def __init__(
        self,
        bot: TelegramBot,
        limiter: RateLimiter | None = None,
        on_blocked: BlockedCallback | None = None,
    ) -> None:
        self.bot = bot
        self.limiter = limiter or RateLimiter()
        self.on_blocked = on_blocked

    async def send(self, message: PendingMessage) -> SendReceipt:
        chat_id = message.address
        if not chat_id:
            raise PermanentSendError("no address (contact erased)")
        await self.limiter.acquire(chat_id)
        try:
            return await self._call(message, chat_id)
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that the type becomes timedelta
                warnings.simplefilter("ignore")
                seconds = _seconds(exc.retry_after)
            self.limiter.pause(seconds)
            raise TransientSendError(
                f"flood control: retry after {seconds:.0f} s", seconds
            ) from exc
        except Forbidden as exc:
            if self.on_blocked is not None:
                await self.on_blocked(chat_id)
            raise PermanentSendError(f"forbidden: {exc.message}") from exc
        except (TimedOut, NetworkError) as exc:
            # PTB reports 5xx answers and connection failures as NetworkError.
            raise TransientSendError(f"network: {exc.message}") from exc
        except (BadRequest, ChatMigrated, InvalidToken) as exc:
            raise PermanentSendError(f"rejected: {exc.message}") from exc
        except TelegramError as exc:
            raise TransientSendError(f"telegram: {exc.message}") from exc

    async def _call(self, message: PendingMessage, chat_id: str) -> SendReceipt:
        if message.kind == "answered":
            ref = message.payload.get("message_ref")
            if not ref:
                return SendReceipt()
            try:
                await self.bot.edit_message_text(
                    answered_text(message.payload), chat_id=chat_id, message_id=int(ref)
                )
            except BadRequest as exc:
                # Already edited, deleted or too old to edit: the chat is tidy enough.
                log.info("edit skipped", extra={"reason": exc.message})
            return SendReceipt(str(ref))
        if message.kind == "digest_photo":
            png = base64.b64decode(str(message.payload["png_base64"]))
            photo = await self.bot.send_photo(
                chat_id,
                photo=png,
                caption=str(message.payload.get("caption", ""))[:1024],
                filename="skm-digest.png",
            )
            return SendReceipt(str(photo.message_id))
        outbound = Outbound.from_json(message.payload)
        sent = await self.bot.send_message(chat_id, outbound.text, reply_markup=keyboard(outbound))
        return SendReceipt(str(sent.message_id))


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's transport on aiohttp instead of httpx.

    The same requests (form-encoded parameters, multipart for files) and the same errors
    (:class:`TimedOut`, :class:`NetworkError`; PTB maps the status codes), for far less CPU:
    under load httpx's connection pool spent more time checking its pooled sockets than
    sending (see docs/performance.md).
    """

    def __init__(
        self, *, pool_size: int = 64, read_timeout_s: float = 10.0, connect_timeout_s: float = 5.0
    ) -> None:
        self._pool_size = pool_size
        self._read_timeout_s = read_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout_s

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = read_timeout
        if isinstance(read, DefaultValue):
            read = self._read_timeout_s
        connect = connect_timeout
        if isinstance(connect, DefaultValue):
            connect = self._connect_timeout_s
        data: Any = None
        if request_data is not None:
            parameters = request_data.json_parameters
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime_type) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime_type)
                data = form
            else:
                data = parameters  # form-encoded, as PTB's own transport sends them
        timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def make_bot(token: str, base_url: str, *, read_timeout_s: float = 10.0) -> TelegramBot:
    """A PTB Bot on our configured base URL (a local Bot API server, or the tests' fake)."""
    base = base_url.rstrip("/")
    file_base = base.removesuffix("/bot") + "/file/bot"
    return TelegramBot(
        token,
        base_url=base,
        base_file_url=file_base,
        request=AiohttpRequest(pool_size=64, read_timeout_s=read_timeout_s),
        get_updates_request=AiohttpRequest(pool_size=1, read_timeout_s=read_timeout_s + 30),
    )


async def register_commands(bot: TelegramBot) -> None:
    """Show /start, /survei, /bahasa, /batal, /bantuan, /hapus in Telegram's menu."""
    for language, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            scope=BotCommandScopeAllPrivateChats(),
            language_code=None if language == "id" else language,
        )


# --- the two ways updates arrive -----------------------------------------------------------

HandleInbound = Callable[[Inbound], Awaitable[Any]]


class TelegramUpdates:
    """Turns raw updates (from polling or the webhook) into dispatched inbound events."""

    def __init__(self, bot: TelegramBot, handle: HandleInbound) -> None:
        self.bot = bot
        self.handle = handle

    async def process(self, update: Update) -> bool:
        """Dispatch one update; True when it reached the dispatcher."""
        try:
            parsed = parse_update(update, self.bot.id, datetime.now(UTC))
        except (AttributeError, TypeError, ValueError) as exc:
            # Only a malformed update gets here (a real one always has its sender): ignore it.
            log.warning("update not understood", extra={"reason": type(exc).__name__})
            return False
        # The callback is answered at once, alongside the processing, so the spinner stops.
        answering = (
            asyncio.create_task(self._answer_callback(parsed.callback_query_id))
            if parsed.callback_query_id is not None
            else None
        )
        try:
            if parsed.inbound is None:
                log.debug("update ignored", extra={"reason": parsed.reason})
                return False
            await self.handle(parsed.inbound)
            return True
        finally:
            if answering is not None:
                await answering

    async def process_json(self, data: dict[str, Any]) -> bool:
        """Dispatch a webhook body; :class:`MalformedUpdate` when it is not a readable update."""
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # PTB raises whatever the malformed field triggers
            raise MalformedUpdate(f"not a readable update ({type(exc).__name__})") from exc
        return await self.process(update)

    async def _answer_callback(self, query_id: str) -> None:
        # Always answered, so the client's spinner stops; failure here is harmless.
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed", extra={"reason": exc.message})


def secret_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the webhook secret header."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class TelegramPoller:
    """getUpdates long polling, for one process. A second poller is refused."""

    def __init__(
        self,
        bot: TelegramBot,
        updates: TelegramUpdates,
        *,
        timeout_s: int = 25,
        error_backoff_s: float = 2.0,
    ) -> None:
        self.bot = bot
        self.updates = updates
        self.timeout_s = timeout_s
        self.error_backoff_s = error_backoff_s
        self.offset: int | None = None

    async def poll_once(self) -> int:
        """One getUpdates call; each update is dispatched before the offset moves past it."""
        try:
            batch = await self.bot.get_updates(
                offset=self.offset,
                timeout=self.timeout_s,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        except Conflict as exc:
            raise TelegramConflict(
                "another process is receiving this bot's updates (a second poller or a "
                f"webhook): {exc.message}. Run one poller per token, or use webhook mode."
            ) from exc
        for update in batch:
            await self.updates.process(update)
            self.offset = update.update_id + 1
        return len(batch)

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except TelegramConflict:
                raise
            except (TimedOut, NetworkError, RetryAfter) as exc:
                log.warning("getUpdates failed", extra={"reason": str(exc)})
                await asyncio.sleep(self.error_backoff_s)


__all__ = [
    "AiohttpRequest",
    "MalformedUpdate",
    "ParsedUpdate",
    "RateLimiter",
    "TelegramConflict",
    "TelegramPoller",
    "TelegramSender",
    "TelegramUpdates",
    "callback_data",
    "keyboard",
    "make_bot",
    "parse_callback",
    "parse_update",
    "register_commands",
    "secret_matches",
]
