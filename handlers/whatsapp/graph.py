"""The Graph API: our aiohttp client, its error answers as exceptions, the start-up check.

Graph error codes become our own exceptions (:data:`ERROR_CLASSES`), which the sender maps to
retry, template or failure. Messages go to the phone number (``to``) whenever one is known, to
the business-scoped user id (``recipient``) only for a user whose phone Meta never showed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from handlers import json_codec
from handlers.whatsapp.parse import dict_items, text_value
from storage.contacts import is_phone

log = logging.getLogger(__name__)


class GraphError(Exception):
    """An error answer of the Graph API (``{"error": {"code", "message", ...}}``)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        details: str | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.details = details
        self.fbtrace_id = fbtrace_id

    @property
    def reason(self) -> str:
        """A log- and database-safe one-liner: code, message and details."""
        head = f"graph {self.code}: {self.message}" if self.code is not None else self.message
        return f"{head} ({self.details})" if self.details else head


class GraphUnavailable(GraphError):
    """No answer: connection refused or dropped, timeout."""


class GraphServerError(GraphError):
    """A 5xx answer or Meta's "temporarily unavailable" codes: retry later."""


class GraphRateLimited(GraphError):
    """A rate limit of the account or the app: retry later."""


class ThroughputReached(GraphRateLimited):
    """130429: the phone number's messages per second are used up."""


class PairRateLimited(GraphRateLimited):
    """131056: too many messages to the same user in a short time."""


class SpamRateLimited(GraphRateLimited):
    """131048: messages held back because earlier ones were reported as spam."""


class ReEngagementRequired(GraphError):
    """131047: more than 24 hours since the user last wrote; only a template may go out."""


class Undeliverable(GraphError):
    """131026: the message cannot be delivered to this user."""


class AccessTokenInvalid(GraphError):
    """190: the access token expired or was revoked."""


class TemplateRejected(GraphError):
    """132000-132016: the template is missing, not approved, or its parameters do not fit."""


ERROR_CLASSES: dict[int, type[GraphError]] = {
    1: GraphServerError,
    2: GraphServerError,
    4: GraphRateLimited,
    190: AccessTokenInvalid,
    80007: GraphRateLimited,
    130429: ThroughputReached,
    131000: GraphServerError,
    131016: GraphServerError,
    131026: Undeliverable,
    131047: ReEngagementRequired,
    131048: SpamRateLimited,
    131056: PairRateLimited,
    133004: GraphServerError,
    **{code: TemplateRejected for code in range(132000, 132017)},
}


def graph_error(http_status: int, body: Any) -> GraphError:
    """The exception for an error answer, chosen by Graph error code, else by HTTP status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    message = text_value(error.get("message")) or f"HTTP {http_status}"
    cls = ERROR_CLASSES.get(code) if code is not None else None
    if cls is None:
        if http_status >= 500:
            cls = GraphServerError
        elif http_status == 429:
            cls = GraphRateLimited
        else:
            cls = GraphError
    return cls(
        message,
        code=code,
        http_status=http_status,
        details=details if isinstance(details, str) else None,
        fbtrace_id=text_value(error.get("fbtrace_id")) or None,
    )


def recipient_fields(address: str) -> dict[str, str]:
    """``to`` for a phone number (wa_id), ``recipient`` for a business-scoped user id.

    Storage gives the phone number whenever Meta has shown one (Meta recommends sending to
    it); a BSUID only for a user whose phone was never shown (docs/whatsapp.md)."""
    return {"to": address} if is_phone(address) else {"recipient": address}


class GraphClient:
    """The few Graph API calls the bot makes, over one shared aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        access_token: str,
        phone_number_id: str,
        base_url: str = "https://graph.facebook.com",
        version: str = "v25.0",
        timeout_s: float = 15.0,
    ) -> None:
        self.session = session
        self.phone_number_id = phone_number_id
        self.base = f"{base_url.rstrip('/')}/{version}"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.session.request(
                method,
                f"{self.base}/{path}",
                headers=self._headers,
                timeout=self._timeout,
                **kwargs,
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphUnavailable(f"no answer: {type(exc).__name__} {exc}".strip()) from exc
        try:
            data = json_codec.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if status >= 400 or (isinstance(data, dict) and "error" in data):
            raise graph_error(status, data)
        if not isinstance(data, dict):
            raise GraphServerError(f"unexpected answer (HTTP {status})", http_status=status)
        return data

    async def send(self, address: str, content: Mapping[str, Any]) -> str:
        """Send one message; returns its wamid."""
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **recipient_fields(address),
            **content,
        }
        data = await self._request("POST", f"{self.phone_number_id}/messages", json=body)
        messages = dict_items(data.get("messages"))
        if not messages or not text_value(messages[0].get("id")):
            raise GraphServerError("the answer has no message id")
        return text_value(messages[0]["id"])

    async def upload_media(self, data: bytes, mime_type: str, filename: str = "file") -> str:
        """Upload a file (e.g. a chart) for sending by id; returns the media id (30 days)."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, filename=filename, content_type=mime_type)
        answer = await self._request("POST", f"{self.phone_number_id}/media", data=form)
        return text_value(answer.get("id"))

    # --- WhatsApp Flows (on the business account, not the phone number) -----------------------

    async def download_media(self, media_id: str, max_bytes: int) -> bytes | None:
        """A file a user sent (a complaint photo) by its media id: Graph names its URL, which
        is fetched with the same token. None when it is bigger than ``max_bytes``."""
        info = await self._request("GET", media_id)
        url = text_value(info.get("url"))
        size = info.get("file_size")
        if not url:
            raise GraphServerError("the media has no URL")
        if isinstance(size, int) and size > max_bytes:
            return None
        try:
            async with self.session.get(url, headers=self._headers, timeout=self._timeout) as got:
                if got.status >= 400:
                    raise graph_error(got.status, {})
                data = await got.content.read(max_bytes + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphUnavailable(f"no answer: {type(exc).__name__}") from exc
        return data if len(data) <= max_bytes else None

    async def create_flow(self, business_account_id: str, name: str, categories: list[str]) -> str:
        """``POST /{WABA_ID}/flows``: a new Flow in DRAFT; returns its id."""
        answer = await self._request(
            "POST",
            f"{business_account_id}/flows",
            json={"name": name, "categories": categories},
        )
        flow_id = text_value(answer.get("id"))
        if not flow_id:
            raise GraphServerError("the answer has no Flow id")
        return flow_id

    async def upload_flow_json(self, flow_id: str, flow_json: bytes) -> list[dict[str, Any]]:
        """``POST /{flow_id}/assets``: the Flow JSON as a file; returns Meta's validation
        errors (empty when the JSON is accepted)."""
        form = aiohttp.FormData()
        form.add_field("name", "flow.json")
        form.add_field("asset_type", "FLOW_JSON")
        form.add_field("file", flow_json, filename="flow.json", content_type="application/json")
        answer = await self._request("POST", f"{flow_id}/assets", data=form)
        return dict_items(answer.get("validation_errors"))

    async def publish_flow(self, flow_id: str) -> None:
        """``POST /{flow_id}/publish``: a published Flow can be sent, no longer edited."""
        await self._request("POST", f"{flow_id}/publish")

    async def flow_info(self, flow_id: str) -> dict[str, Any]:
        """``GET /{flow_id}``: its name, status (DRAFT, PUBLISHED, DEPRECATED, BLOCKED,
        THROTTLED) and validation errors."""
        return await self._request(
            "GET", flow_id, params={"fields": "id,name,status,validation_errors"}
        )

    async def phone_number(self) -> dict[str, Any]:
        """The phone number's name and display number: checks the token and the id at start."""
        return await self._request(
            "GET",
            self.phone_number_id,
            params={"fields": "display_phone_number,verified_name"},
        )


class WhatsAppRejected(Exception):
    """Meta refused the configured credentials at start-up; the message names the setting."""


async def check_credentials(client: GraphClient) -> dict[str, Any] | None:
    """Ask for the phone number once at start-up, so a wrong token or id stops the service.

    An unreachable or overloaded Graph API is only logged: webhooks are still stored and the
    outbox delivers the replies once it answers.
    """
    try:
        return await client.phone_number()
    except AccessTokenInvalid as exc:
        raise WhatsAppRejected(f"WHATSAPP_ACCESS_TOKEN: rejected by Meta ({exc.reason})") from exc
    except (GraphUnavailable, GraphServerError, GraphRateLimited) as exc:
        log.warning("WhatsApp credentials not checked", extra={"reason": exc.reason})
        return None
    except GraphError as exc:
        raise WhatsAppRejected(
            f"WHATSAPP_PHONE_NUMBER_ID: rejected by Meta ({exc.reason})"
        ) from exc


MAX_PHOTO_BYTES = 10 * 1024 * 1024


def media_fetcher(client: GraphClient) -> Callable[[str], Awaitable[bytes | None]]:
    """A complaint photo's bytes by its media id, for the web console's complaint desk; None
    when Meta no longer has it (media ids of received messages expire) or it is too big."""

    async def fetch(media_id: str) -> bytes | None:
        try:
            return await client.download_media(media_id, MAX_PHOTO_BYTES)
        except GraphError as exc:
            log.info("complaint photo not fetched", extra={"error": type(exc).__name__})
            return None

    return fetch
