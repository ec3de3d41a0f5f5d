"""The Bot API on aiohttp: PTB's transport, and a plain JSON client for the hot path.

Each survey tap costs ``answerCallbackQuery``, ``editMessageText`` and ``sendMessage``; through
python-telegram-bot they cost its request building and a ``Message.de_json`` of every answer
(about a quarter of the bot's CPU under load, see docs/performance.md). :class:`BotApi` sends
them as pre-serialised JSON on the same aiohttp session and reads only what we use, with
PTB's exception classes, so the callers' error handling stays the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from telegram import Bot as TelegramBot
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
from telegram.warnings import PTBDeprecationWarning

from handlers import json_codec

# PTB's getUpdates transport in make_bot read for this much longer than the long poll itself.
LONG_POLL_SLACK_S: Final = 30.0
_JSON_HEADERS: Final = {"Content-Type": "application/json"}

InlineKeyboard = dict[str, list[list[dict[str, str]]]]


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's transport on aiohttp instead of httpx.

    The same requests (form-encoded parameters, multipart for files) and the same errors
    (:class:`TimedOut`, :class:`NetworkError`; PTB maps the status codes), for far less CPU:
    under load httpx's connection pool spent more time checking its pooled sockets than
    sending (see docs/performance.md). :meth:`post_json` lends the same session and pool to
    :class:`BotApi`.
    """

    def __init__(
        self, *, pool_size: int = 64, read_timeout_s: float = 10.0, connect_timeout_s: float = 5.0
    ) -> None:
        self._pool_size = pool_size
        self._read_timeout_s = read_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
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
        session = self._open_session()
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
            async with session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    async def post_json(
        self, url: str, body: bytes, *, read_timeout_s: float | None = None
    ) -> tuple[int, bytes]:
        """POST a JSON body; the status and the raw answer, or PTB's transport errors."""
        session = self._open_session()
        timeout = self._timeout
        if read_timeout_s is not None:
            timeout = aiohttp.ClientTimeout(
                sock_connect=self._connect_timeout_s, sock_read=read_timeout_s
            )
        try:
            async with session.post(
                url, data=body, headers=_JSON_HEADERS, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        return self._session


class BotApi:
    """A few Bot API methods as plain JSON on the bot's own :class:`AiohttpRequest` session.

    Results are the API's JSON (``dict``, ``list`` or ``bool``); failures raise what PTB's
    ``BaseRequest`` raises for the same answer (see :func:`api_error`). The session belongs to
    the PTB bot: :meth:`TelegramBot.initialize` opens it and ``shutdown`` closes it.
    """

    def __init__(self, transport: AiohttpRequest, base_url: str) -> None:
        self._transport = transport
        self._base_url = base_url  # already ends with the token: ``.../bot<token>``
        self._urls: dict[str, str] = {}

    @classmethod
    def of(cls, bot: TelegramBot) -> BotApi:
        """The client for a bot from :func:`handlers.telegram.make_bot` (same URL and session)."""
        transport = bot.request
        if not isinstance(transport, AiohttpRequest):
            raise TypeError("BotApi needs a bot made by make_bot (an AiohttpRequest transport)")
        # PTB's own method URLs are f"{bot.base_url}/{method}": using them keeps a custom
        # TELEGRAM_API_BASE_URL (``{token}`` placeholders included) meaning the same thing.
        return cls(transport, bot.base_url)

    @property
    def read_timeout_s(self) -> float:
        return self._transport.read_timeout or 0.0

    def method_url(self, method: str) -> str:
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = f"{self._base_url}/{method}"
        return url

    async def call(
        self,
        method: str,
        params: Mapping[str, object] | None = None,
        *,
        read_timeout_s: float | None = None,
    ) -> Any:
        """Call ``method``; its ``result``, or the :class:`TelegramError` PTB would raise."""
        body = json_codec.dumps(params or {})
        try:
            status, payload = await self._transport.post_json(
                self.method_url(method), body, read_timeout_s=read_timeout_s
            )
        except TelegramError:
            raise
        except Exception as exc:  # as PTB's request wrapper: any transport failure is network
            raise NetworkError(f"Unknown error in HTTP implementation: {exc!r}") from exc
        if HTTPStatus.OK <= status <= 299:
            data = _json(payload)
            if not isinstance(data, dict) or "result" not in data:
                raise TelegramError("Invalid server response")
            return data["result"]
        raise api_error(status, payload)

    async def send_message(
        self, chat_id: int | str, text: str, reply_markup: InlineKeyboard | None = None
    ) -> int:
        """``sendMessage``; the new message's id (nothing else of the answer is read)."""
        params: dict[str, object] = {"chat_id": chat_id, "text": text}
        if reply_markup is not None:
            params["reply_markup"] = reply_markup
        return _message_id(await self.call("sendMessage", params))

    async def edit_message_text(self, chat_id: int | str, message_id: int, text: str) -> None:
        """``editMessageText`` without a keyboard: the message's keyboard goes away."""
        await self.call(
            "editMessageText", {"chat_id": chat_id, "message_id": message_id, "text": text}
        )

    async def answer_callback_query(self, callback_query_id: str) -> None:
        await self.call("answerCallbackQuery", {"callback_query_id": callback_query_id})

    async def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: Sequence[str]
    ) -> list[object]:
        """One long poll; the raw updates (each is checked by the update parser)."""
        params: dict[str, object] = {"timeout": timeout, "allowed_updates": list(allowed_updates)}
        if offset is not None:
            params["offset"] = offset
        result = await self.call(
            "getUpdates",
            params,
            read_timeout_s=self.read_timeout_s + LONG_POLL_SLACK_S + timeout,
        )
        if not isinstance(result, list):
            raise TelegramError("Invalid server response")
        return result


def api_error(status: int, payload: bytes) -> TelegramError:
    """The exception PTB 22's ``BaseRequest._request_wrapper`` raises for a non-2xx answer."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    parsing: TelegramError | None = None
    try:
        data = _json(payload)
        if not isinstance(data, dict):
            raise TelegramError("Invalid server response")
    except TelegramError as exc:
        message += f". Parsing the server response {payload!r} failed"
        parsing = exc
    else:
        message = str(data.get("description") or message)
        parameters = data.get("parameters")
        if parameters and isinstance(parameters, dict):
            migrate_to_chat_id = parameters.get("migrate_to_chat_id")
            if migrate_to_chat_id:
                return ChatMigrated(migrate_to_chat_id)
            retry_after = parameters.get("retry_after")
            if retry_after and isinstance(retry_after, int):
                with warnings.catch_warnings():  # PTB 22 warns that the type becomes timedelta
                    warnings.simplefilter("ignore", PTBDeprecationWarning)
                    return RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"
    exception: TelegramError
    if status == HTTPStatus.FORBIDDEN:
        exception = Forbidden(message)
    elif status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        exception = InvalidToken(message)
    elif status == HTTPStatus.BAD_REQUEST:
        exception = BadRequest(message)
    elif status == HTTPStatus.CONFLICT:
        exception = Conflict(message)
    else:  # 5xx and anything unexpected
        exception = NetworkError(message)
    if parsing is not None:
        exception.__cause__ = parsing
    return exception


def _json(payload: bytes) -> object:
    try:
        return json_codec.loads(payload.decode("utf-8", "replace"))
    except ValueError as exc:
        raise TelegramError("Invalid server response") from exc


def _message_id(result: object) -> int:
    message_id = result.get("message_id") if isinstance(result, dict) else None
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise TelegramError("Invalid server response")
    return message_id


__all__ = ["AiohttpRequest", "BotApi", "InlineKeyboard", "api_error"]
