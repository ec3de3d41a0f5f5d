"""The Telegram channel: update parsing, replies, webhook and polling.

State stays in our database (no ConversationHandler, no pickle persistence). Updates, as the
Bot API's JSON, become one :class:`Inbound`; outbox rows become ``sendMessage`` with an inline
keyboard or an ``editMessageText`` that shows the chosen answer and removes the keyboard. The
calls of every tap (and getUpdates) go through :class:`BotApi`, plain JSON; python-telegram-bot
22 does the rest (``getMe``, ``sendPhoto``, ``setMyCommands``, the webhook commands).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telegram import Bot as TelegramBot
from telegram import BotCommand, BotCommandScopeAllPrivateChats
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

from handlers import json_codec
from handlers.outbox import PermanentSendError, SendReceipt, TransientSendError
from handlers.ratelimit import RateLimiter
from handlers.telegram_api import AiohttpRequest, BotApi, InlineKeyboard
from storage.outbox import PendingMessage
from survey_flows.catalog import DEFAULT_LANGUAGE, LANGUAGES
from survey_flows.catalog import text as catalogue_text
from survey_flows.commands import inbound_fields
from survey_flows.commands import menu as command_menu
from survey_flows.types import Channel, Inbound, InboundKind, Outbound

log = logging.getLogger(__name__)

CALLBACK_VERSION = "v1"
MAX_CALLBACK_BYTES = 64
ALLOWED_UPDATES = ("message", "callback_query")


class TelegramConflict(Exception):
    """Another process is polling this bot token (or a webhook is set)."""


class MalformedUpdate(ValueError):
    """An update body that is not a Bot API update: a required field missing or mistyped."""


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


def parse_update(data: object, bot_id: int, received_at: datetime) -> ParsedUpdate:
    """Turn an update, as the Bot API's JSON, into an :class:`Inbound`, or say why it is ignored.

    Only private chats are served: group chats, channel posts, edited messages and messages
    from bots are ignored (no reply, nothing stored). Every field read is type-checked first:
    a wrong type or a missing required field raises :class:`MalformedUpdate`.
    """
    update = _object(data, "update")
    _int(update, "update_id", "update")
    # Not keyed by update_id: Telegram restarts it at random after a week without updates,
    # so an old id may come back. A callback query's id is unique, and so is a message id
    # within its chat; both with the bot's id (one database may serve another bot later).
    query = _optional_object(update, "callback_query", "update")
    if query is not None:
        query_id = _str(query, "id", "callback_query")
        _str(query, "chat_instance", "callback_query")
        is_bot = _user_is_bot(_object(query.get("from"), "callback_query.from"))
        token, choice_id = parse_callback(_optional_str(query, "data", "callback_query"))
        message = _optional_object(query, "message", "callback_query")
        if message is None:
            return ParsedUpdate(None, query_id, "callback outside a private chat")
        chat_id, chat_type = _message_chat(message, "callback_query.message")
        if chat_type != "private" or is_bot:
            return ParsedUpdate(None, query_id, "callback outside a private chat")
        if not _is_chat_id(chat_id):
            return ParsedUpdate(None, query_id, "not a chat id")
        return ParsedUpdate(
            Inbound(
                channel=Channel.TELEGRAM,
                contact=str(chat_id),
                event_id=f"{bot_id}:q:{query_id}",
                kind=InboundKind.CHOICE,
                received_at=received_at,
                choice_id=choice_id or "",
                # Callback data that is not ours (forged, or an old format) is stale by
                # construction: its token can never match.
                prompt_token=token if choice_id else "invalid",
                message_ref=str(message["message_id"]),
            ),
            query_id,
        )
    message = _optional_object(update, "message", "update")
    if message is None:
        return ParsedUpdate(None, reason="not a new message (edit, channel post, other)")
    chat_id, chat_type = _message_chat(message, "message")
    sender = _optional_object(message, "from", "message")  # absent for channel posts
    is_bot = sender is None or _user_is_bot(sender)
    quoted = _quoted_text(message)
    text = _optional_str(message, "text", "message")
    location = _location(message)
    photo = _largest_photo(message)
    if chat_type != "private":
        return ParsedUpdate(None, reason="not a private chat")
    if is_bot:
        return ParsedUpdate(None, reason="from a bot")
    if not _is_chat_id(chat_id):
        return ParsedUpdate(None, reason="not a chat id")
    common: dict[str, Any] = {
        "channel": Channel.TELEGRAM,
        "contact": str(chat_id),
        "event_id": f"{bot_id}:m:{chat_id}:{_int(message, 'message_id', 'message')}",
        "received_at": received_at,
    }
    if quoted:
        # An officer answers a complaint by replying to its notification, which names the ticket.
        common["quoted_text"] = quoted[:4096]
    if text is not None:
        return ParsedUpdate(Inbound(**inbound_fields(text), **common))
    if location is not None:
        return ParsedUpdate(Inbound(kind=InboundKind.LOCATION, location=location, **common))
    if photo is not None:
        return ParsedUpdate(Inbound(kind=InboundKind.MEDIA, media_ref=photo, **common))
    if SERVICE_MESSAGE_FIELDS.intersection(message):
        return ParsedUpdate(None, reason="service message")
    return ParsedUpdate(Inbound(kind=InboundKind.UNSUPPORTED, **common))


# The Bot API's service messages (Message fields): nobody wrote them, so nothing is answered
# (no "I can only read text" hint, no question asked again mid-survey). In a private chat:
# the auto-delete timer, write access allowed (a Mini App, a login), users or a chat shared.
SERVICE_MESSAGE_FIELDS = frozenset(
    {
        "message_auto_delete_timer_changed",
        "write_access_allowed",
        "users_shared",
        "user_shared",
        "chat_shared",
        "connected_website",
        "pinned_message",
        "new_chat_members",
        "left_chat_member",
        "new_chat_title",
        "new_chat_photo",
        "delete_chat_photo",
        "group_chat_created",
        "supergroup_chat_created",
        "channel_chat_created",
        "migrate_to_chat_id",
        "migrate_from_chat_id",
        "proximity_alert_triggered",
        "chat_background_set",
        "boost_added",
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
        "general_forum_topic_hidden",
        "general_forum_topic_unhidden",
        "video_chat_scheduled",
        "video_chat_started",
        "video_chat_ended",
        "video_chat_participants_invited",
        "gift",
        "unique_gift",
        "refunded_payment",
        "successful_payment",
        "giveaway_created",
        "giveaway_completed",
        "paid_message_price_changed",
    }
)


def _is_chat_id(value: int) -> bool:
    """Telegram's chat ids have at most 52 bits; a longer one is forged."""
    return abs(value) < 2**63


# The checks below read the Bot API's JSON as its types say. Absent and null are the same for
# an optional field; a required one (Message.chat, CallbackQuery.from, ...) must be there. The
# messages name the field, never its value (they are logged).


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{what} is not an object")
    return value


def _optional_object(parent: dict[str, Any], key: str, what: str) -> dict[str, Any] | None:
    value = parent.get(key)
    return None if value is None else _object(value, f"{what}.{key}")


def _int(parent: dict[str, Any], key: str, what: str) -> int:
    value = parent.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedUpdate(f"{what}.{key} is not an integer")
    return value


def _str(parent: dict[str, Any], key: str, what: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str):
        raise MalformedUpdate(f"{what}.{key} is not a string")
    return value


def _optional_str(parent: dict[str, Any], key: str, what: str) -> str | None:
    value = parent.get(key)
    return None if value is None else _str(parent, key, what)


def _user_is_bot(user: dict[str, Any]) -> bool:
    """A User's required fields checked; whether it is a bot."""
    _int(user, "id", "user")
    _str(user, "first_name", "user")
    is_bot = user.get("is_bot")
    if not isinstance(is_bot, bool):
        raise MalformedUpdate("user.is_bot is not a boolean")
    return is_bot


def _message_chat(message: dict[str, Any], what: str) -> tuple[int, str]:
    """A Message's required fields checked; its chat's id and type."""
    _int(message, "message_id", what)
    _int(message, "date", what)
    chat = _object(message.get("chat"), f"{what}.chat")
    return _int(chat, "id", "chat"), _str(chat, "type", "chat")


def _quoted_text(message: dict[str, Any]) -> str | None:
    replied = _optional_object(message, "reply_to_message", "message")
    if replied is None:
        return None
    _message_chat(replied, "message.reply_to_message")
    text = _optional_str(replied, "text", "message.reply_to_message")
    caption = _optional_str(replied, "caption", "message.reply_to_message")
    return text or caption or None


def _location(message: dict[str, Any]) -> tuple[float, float] | None:
    location = _optional_object(message, "location", "message")
    if location is None:
        return None
    latitude, longitude = _float(location, "latitude"), _float(location, "longitude")
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):  # NaN fails too
        raise MalformedUpdate("location is not on Earth")
    return latitude, longitude


def _float(location: dict[str, Any], key: str) -> float:
    value = location.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float
            pass
    raise MalformedUpdate(f"location.{key} is not a number")


def _largest_photo(message: dict[str, Any]) -> str | None:
    """The file id of the largest size: the Bot API lists a photo's sizes smallest first."""
    sizes = message.get("photo")
    if sizes is None:
        return None
    if not isinstance(sizes, list):
        raise MalformedUpdate("message.photo is not a list")
    file_ids = [_str(_object(size, "photo size"), "file_id", "photo size") for size in sizes]
    return file_ids[-1] if file_ids else None


# --- outbound: Outbound to Bot API calls ---------------------------------------------------


def keyboard(message: Outbound) -> InlineKeyboard | None:
    """One answer per row (long labels stay readable on a phone), navigation on the last.

    The Bot API's ``InlineKeyboardMarkup`` as plain JSON.
    """
    if not message.choices:
        return None
    token = message.prompt_token
    rows = [
        [{"text": c.label, "callback_data": callback_data(token, c.id)}]
        for c in message.answer_choices()
    ]
    nav = [
        {"text": c.label, "callback_data": callback_data(token, c.id)}
        for c in message.nav_choices()
    ]
    if nav:
        rows.append(nav)
    return {"inline_keyboard": rows}


def answered_text(payload: dict[str, Any]) -> str:
    """The question as it reads once answered: the text plus the chosen answer."""
    answer = catalogue_text("id", "answered", answer=payload.get("answer", ""))
    return f"{payload.get('question', '')}\n\n{answer}"


BlockedCallback = Callable[[str], Awaitable[None]]


class TelegramSender:
    """Sends outbox rows through the Bot API and maps its errors to ours.

    Text messages and edits go through :class:`BotApi`; digest charts through PTB. Both raise
    PTB's exceptions, so one translation serves them.
    """

    channel = Channel.TELEGRAM.value

    def __init__(
        self,
        bot: TelegramBot,
        limiter: RateLimiter | None = None,
        on_blocked: BlockedCallback | None = None,
    ) -> None:
        self.bot = bot
        self.api = BotApi.of(bot)
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
        except (BadRequest, ChatMigrated, InvalidToken) as exc:
            # Before NetworkError: PTB's BadRequest is one of its subclasses.
            raise PermanentSendError(f"rejected: {exc.message}") from exc
        except (TimedOut, NetworkError) as exc:
            # PTB reports 5xx answers and connection failures as NetworkError.
            raise TransientSendError(f"network: {exc.message}") from exc
        except TelegramError as exc:
            raise TransientSendError(f"telegram: {exc.message}") from exc

    async def _call(self, message: PendingMessage, chat_id: str) -> SendReceipt:
        if message.kind == "answered":
            ref = message.payload.get("message_ref")
            if not ref:
                return SendReceipt()
            try:
                await self.api.edit_message_text(
                    _chat_ref(chat_id), int(ref), answered_text(message.payload)
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
        message_id = await self.api.send_message(
            _chat_ref(chat_id), outbound.text, keyboard(outbound)
        )
        return SendReceipt(str(message_id))


def _chat_ref(address: str) -> int | str:
    """A chat id as the number it is (what PTB's form encoding amounted to); else as given."""
    digits = address[1:] if address.startswith("-") else address
    return int(address) if digits.isascii() and digits.isdigit() else address


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


def make_bot(token: str, base_url: str, *, read_timeout_s: float = 10.0) -> TelegramBot:
    """A PTB Bot on our configured base URL (a local Bot API server, or the tests' fake)."""
    base = base_url.rstrip("/")
    file_base = base.removesuffix("/bot") + "/file/bot"
    # Polling goes through BotApi, not PTB: PTB's own getUpdates transport is never used, so
    # both of its slots share the one transport instead of opening a second pool.
    transport = AiohttpRequest(pool_size=64, read_timeout_s=read_timeout_s)
    return TelegramBot(
        token,
        base_url=base,
        base_file_url=file_base,
        request=transport,
        get_updates_request=transport,
    )


def menu_commands(language: str) -> list[BotCommand]:
    """Telegram's command menu in ``language``: the citizens' commands of the vocabulary."""
    return [
        BotCommand(word, catalogue_text(language, description))
        for word, description in command_menu(language)
    ]


async def register_commands(bot: TelegramBot) -> None:
    """Show the citizens' commands (/start, /survei, /pengaduan, ...) in Telegram's menu."""
    for language in LANGUAGES:
        await bot.set_my_commands(
            menu_commands(language),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=None if language == DEFAULT_LANGUAGE else language,
        )


# --- the two ways updates arrive -----------------------------------------------------------

HandleInbound = Callable[[Inbound], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Processed:
    """One webhook update done: whether it reached the dispatcher, and the webhook's answer."""

    dispatched: bool
    # The body of the webhook's 200: a Bot API call Telegram makes for us (answerCallbackQuery).
    reply: bytes


# What the webhook answers when it has no call for Telegram to make.
WEBHOOK_OK = b'{"ok":true}'


def answer_callback_reply(query_id: str) -> bytes:
    """The webhook answer that answers a callback query: Telegram runs a method named in the
    response to a webhook ("Making requests when getting updates", Bot API), so the tap costs
    no call of ours."""
    return json_codec.dumps({"method": "answerCallbackQuery", "callback_query_id": query_id})


class TelegramUpdates:
    """Turns raw updates (from polling or the webhook) into dispatched inbound events."""

    def __init__(self, bot: TelegramBot, handle: HandleInbound) -> None:
        self.bot = bot
        self.api = BotApi.of(bot)
        self.handle = handle
        self._answering: set[asyncio.Task[None]] = set()

    async def process_json(self, data: object) -> bool:
        """Dispatch one polled update (the Bot API's JSON); True when it reached the dispatcher.

        Raises :class:`MalformedUpdate`, before anything is done, when it is not an update.
        """
        parsed = parse_update(data, self.bot.id, datetime.now(UTC))
        if parsed.callback_query_id is not None:
            # Answered at once, alongside the processing, so the spinner stops; not waited
            # for: a slow Bot API must not hold up the next poll (:meth:`drain`).
            task = asyncio.create_task(self._answer_callback(parsed.callback_query_id))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
        return await self._dispatch(parsed)

    async def process_webhook(self, data: object) -> Processed:
        """Dispatch one update delivered to the webhook; the webhook's answer with it.

        A callback query is answered in the webhook's answer, after the commit (as the
        redelivery of a failed update answers it then); the call costs us nothing, and a
        hanging Bot API cannot hold it up. Raises :class:`MalformedUpdate` like
        :meth:`process_json`.
        """
        parsed = parse_update(data, self.bot.id, datetime.now(UTC))
        dispatched = await self._dispatch(parsed)
        if parsed.callback_query_id is None:
            return Processed(dispatched, WEBHOOK_OK)
        return Processed(dispatched, answer_callback_reply(parsed.callback_query_id))

    async def _dispatch(self, parsed: ParsedUpdate) -> bool:
        if parsed.inbound is None:
            log.debug("update ignored", extra={"reason": parsed.reason})
            return False
        await self.handle(parsed.inbound)
        return True

    async def drain(self) -> None:
        """Wait for the callback answers still on their way."""
        while self._answering:
            await asyncio.gather(*list(self._answering), return_exceptions=True)

    async def _answer_callback(self, query_id: str) -> None:
        # Always answered, so the client's spinner stops; failure here is harmless.
        try:
            await self.api.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed", extra={"reason": exc.message})


def secret_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the webhook secret header."""
    if given is None:
        return False
    try:  # a header byte outside ASCII (aiohttp keeps it as a surrogate) is simply wrong
        given_bytes = given.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode(), given_bytes)


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
        self.api = BotApi.of(bot)
        self.updates = updates
        self.timeout_s = timeout_s
        self.error_backoff_s = error_backoff_s
        self.offset: int | None = None

    async def poll_once(self) -> int:
        """One getUpdates call; each update is dispatched before the offset moves past it."""
        try:
            batch = await self.api.get_updates(self.offset, self.timeout_s, ALLOWED_UPDATES)
        except Conflict as exc:
            raise TelegramConflict(
                "another process is receiving this bot's updates (a second poller or a "
                f"webhook): {exc.message}. Run one poller per token, or use webhook mode."
            ) from exc
        for update in batch:
            try:
                await self.updates.process_json(update)
            except MalformedUpdate as exc:
                # Telegram sent something we cannot read: skip it rather than stop polling.
                log.warning("update not understood", extra={"reason": str(exc)})
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                self.offset = update_id + 1
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
    "BotApi",
    "MalformedUpdate",
    "ParsedUpdate",
    "Processed",
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


MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram's own limit for photos


def photo_fetcher(bot: TelegramBot) -> Callable[[str], Awaitable[bytes | None]]:
    """A complaint photo's bytes by its stored file id (getFile, then the file's URL), for
    the web console's complaint desk; None when Telegram no longer has it or it is too big."""

    async def fetch(file_id: str) -> bytes | None:
        try:
            found = await bot.get_file(file_id)
            if found.file_size is not None and found.file_size > MAX_PHOTO_BYTES:
                return None
            data = bytes(await found.download_as_bytearray())
        except TelegramError as exc:
            log.info("complaint photo not fetched", extra={"error": type(exc).__name__})
            return None
        return data if len(data) <= MAX_PHOTO_BYTES else None

    return fetch
