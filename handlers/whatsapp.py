"""The WhatsApp channel on Meta's Cloud API (Graph API), with our own aiohttp client.

Webhook payloads are verified (``X-Hub-Signature-256`` over the raw body) and turned into
channel-neutral :class:`Inbound` events or delivery reports; outbox rows become text, reply
button or list messages; Graph error codes become our own exceptions, which the sender maps to
retry, template or failure. State stays in our database, like every channel.

The contact key is the business-scoped user id (BSUID, ``user_id`` / ``from_user_id``), which
Meta sends for every user since April 2026 and which stays stable when a user adopts a
username and hides their phone number; ``wa_id`` (the phone number) is the key only when a
payload has no BSUID. Every event carries both when the payload shows both, and storage keeps
one contact per person (docs/whatsapp.md). Messages go to the phone number (``to``) whenever
one is known, to the BSUID (``recipient``) only for a user whose phone Meta never showed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import aiohttp

from handlers.dispatcher import DispatchResult, Outcome, utc_now
from handlers.outbox import OutboxWorker, PermanentSendError, SendReceipt, TransientSendError
from handlers.ratelimit import RateLimiter
from storage import Storage
from storage.base import event_key
from storage.contacts import is_phone
from storage.models import DeliveryStatus
from storage.outbox import ClaimFor, ContactWindow, PendingMessage
from survey_flows.catalog import DEFAULT_LANGUAGE
from survey_flows.catalog import text as catalogue_text
from survey_flows.commands import inbound_fields
from survey_flows.types import Channel, Choice, Inbound, InboundKind, Outbound

log = logging.getLogger(__name__)

CHANNEL = Channel.WHATSAPP.value
SIGNATURE_HEADER = "X-Hub-Signature-256"
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)

# Meta's limits for the messages we send (TECH.md §2f). Lengths are counted in UTF-16 code
# units, which is never less than the characters a person sees.
TEXT_MAX = 4096
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
LIST_BUTTON_MAX = 20

REPLY_VERSION = "v1"  # a choice: v1|<prompt token>|<choice id>
PAGE_VERSION = "wp1"  # another page of a long list: wp1|<prompt token>|<page>
ELLIPSIS = "…"

# The few words the renderer adds itself; the engine's catalogue has the rest.
_UI: dict[str, dict[str, str]] = {
    "id": {
        "choose": "Pilih",
        "next": "Berikutnya",
        "prev": "Sebelumnya",
        "page": "Halaman {page} dari {pages}",
    },
    "en": {
        "choose": "Choose",
        "next": "Next",
        "prev": "Previous",
        "page": "Page {page} of {pages}",
    },
}


def _ui(language: str, key: str, **values: object) -> str:
    return _UI.get(language, _UI["id"])[key].format(**values)


# --- webhook verification --------------------------------------------------------------------


def sign(app_secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``: ``sha256=<hex>``."""
    key = app_secret.encode() if isinstance(app_secret, str) else app_secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(app_secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of the signature header over the raw body (never re-serialised)."""
    if not header:
        return False
    return hmac.compare_digest(sign(app_secret, body).encode(), header.strip().encode())


def challenge_answer(params: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta verifies the callback URL, else None (403)."""
    given = params.get("hub.verify_token", "")
    challenge = params.get("hub.challenge")
    if params.get("hub.mode") != "subscribe" or challenge is None:
        return None
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return challenge


# --- inbound: webhook payloads to events -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The citizen tapped "Berikutnya" (or "Sebelumnya") in a list longer than ten rows."""

    contact: str
    event_id: str
    page: int
    prompt_token: str | None
    context_id: str | None  # the wamid of the list that was tapped
    received_at: datetime
    phone: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A delivery report for a message we sent. Never answered."""

    message_id: str
    status: DeliveryStatus
    at: datetime
    error_code: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Something in a payload we deliberately do nothing with, and why."""

    reason: str


Event = Inbound | PageRequest | StatusReport | Ignored


def reply_id(token: str | None, choice_id: str) -> str:
    """The id of a reply button or list row: ``v1|<prompt token>|<choice id>``."""
    value = f"{REPLY_VERSION}|{token or ''}|{choice_id}"
    if len(value) > ROW_ID_MAX:
        raise ValueError(f"reply id too long for choice {choice_id!r}")
    return value


def page_id(token: str | None, page: int) -> str:
    return f"{PAGE_VERSION}|{token or ''}|{page}"


def parse_reply_id(raw: str) -> tuple[str, str | None, str]:
    """(kind, prompt token, value) of a reply id; kind is ``choice`` or ``page``.

    Ids that are not ours (forged, or an old format) come back as a choice with the token
    ``invalid``, which can never match the current prompt: the engine re-asks politely.
    """
    parts = raw.split("|", 2)
    if len(parts) == 3 and parts[0] == REPLY_VERSION and parts[2]:
        return "choice", parts[1] or None, parts[2]
    if len(parts) == 3 and parts[0] == PAGE_VERSION and parts[2].isdigit():
        return "page", parts[1] or None, parts[2]
    return "choice", "invalid", raw


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a message, with every identifier the payload shows."""

    contact: str  # the key: the BSUID when the payload has one, else the phone number
    phone: str | None  # the phone number (wa_id), when shown
    parent_id: str | None  # the parent BSUID, when Meta sends one


def _sender(message: Mapping[str, Any], contacts: Sequence[Mapping[str, Any]]) -> Sender:
    """The sender of ``message``: ``from_user_id`` and ``from`` on the message, completed by
    its entry in ``value.contacts`` (``user_id``, ``wa_id``, ``parent_user_id``)."""
    user_id = _text(message.get("from_user_id")).strip()
    wa_id = _text(message.get("from")).strip()
    parent = ""
    matching = [
        c
        for c in contacts
        if (wa_id and c.get("wa_id") == wa_id) or (user_id and c.get("user_id") == user_id)
    ]
    if not matching and not wa_id and not user_id and len(contacts) == 1:
        matching = list(contacts)
    if matching:
        entry = matching[0]
        user_id = user_id or _text(entry.get("user_id")).strip()
        wa_id = wa_id or _text(entry.get("wa_id")).strip()
        parent = parent or _text(entry.get("parent_user_id")).strip()
    phone = wa_id if is_phone(wa_id) and len(wa_id) <= 32 else None
    return Sender(user_id or wa_id, phone, parent if 0 < len(parent) <= 160 else None)


def _timestamp(value: Any, default: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default


def parse_message(
    message: Mapping[str, Any], contacts: Sequence[Mapping[str, Any]], received_at: datetime
) -> Inbound | PageRequest | Ignored:
    """One entry of ``value.messages`` as an event."""
    event_id = _text(message.get("id"))
    sender = _sender(message, contacts)
    contact = sender.contact
    kind = _text(message.get("type"))
    if not event_id:
        return Ignored("message without an id")
    if not contact or len(contact) > 160:
        return Ignored("message without a usable sender")
    if kind in {"reaction", "system", "request_welcome", "ephemeral"}:
        return Ignored(f"{kind} message")
    context = message.get("context")
    context_id = (_text(context.get("id")) or None) if isinstance(context, dict) else None
    common: dict[str, Any] = {
        "channel": Channel.WHATSAPP,
        "contact": contact,
        "event_id": event_id,
        "received_at": received_at,
        "message_ref": context_id,
        "phone": sender.phone,
        "parent_id": sender.parent_id,
    }
    found = message.get(kind)
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "text":  # "/tanggapi ..." or "TANGGAPI <ticket> ..." is a command here too
        return Inbound(**inbound_fields(_text(body.get("body"))), **common)
    if kind == "button":  # a quick-reply button of a template
        text = _text(body.get("text")) or _text(body.get("payload"))
        return Inbound(kind=InboundKind.TEXT, text=text, **common)
    if kind == "interactive":
        reply = body.get(_text(body.get("type")))
        if _text(body.get("type")) in {"button_reply", "list_reply"} and isinstance(reply, dict):
            what, token, value = parse_reply_id(_text(reply.get("id")))
            if what == "page":
                return PageRequest(
                    contact,
                    event_id,
                    int(value),
                    token,
                    context_id,
                    received_at,
                    sender.phone,
                    sender.parent_id,
                )
            return Inbound(kind=InboundKind.CHOICE, choice_id=value, prompt_token=token, **common)
    if kind in {"image", "document"} and _text(body.get("id")):
        return Inbound(kind=InboundKind.MEDIA, media_ref=_text(body.get("id")), **common)
    if kind == "location":
        try:
            location = (float(body["latitude"]), float(body["longitude"]))
        except (KeyError, TypeError, ValueError):
            return Inbound(kind=InboundKind.UNSUPPORTED, **common)
        return Inbound(kind=InboundKind.LOCATION, location=location, **common)
    return Inbound(kind=InboundKind.UNSUPPORTED, **common)


def parse_status(status: Mapping[str, Any], received_at: datetime) -> StatusReport | Ignored:
    """One entry of ``value.statuses``; ``failed`` keeps the first error's code and reason."""
    message_id = _text(status.get("id"))
    try:
        state = DeliveryStatus(_text(status.get("status")))
    except ValueError:
        return Ignored(f"status {status.get('status')!r}")
    if not message_id:
        return Ignored("status without a message id")
    at = _timestamp(status.get("timestamp"), received_at)
    errors = _dicts(status.get("errors"))
    if not errors:
        return StatusReport(message_id, state, at)
    first = errors[0]
    code = first.get("code") if isinstance(first.get("code"), int) else None
    error_data = first.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    parts = [str(code) if code is not None else "", _text(first.get("title"))]
    reason = ": ".join(p for p in parts if p)
    if details and isinstance(details, str):
        reason = f"{reason} ({details})" if reason else details
    return StatusReport(message_id, state, at, code, reason or None)


def parse_payload(
    data: Mapping[str, Any], phone_number_id: str, received_at: datetime
) -> list[Event]:
    """Every entry, change, message and status of a webhook payload, in order.

    Changes for another phone number of the same business account are ignored: this process
    answers for ``phone_number_id`` only.
    """
    if data.get("object") != "whatsapp_business_account":
        return [Ignored(f"object {data.get('object')!r}")]
    events: list[Event] = []
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                events.append(Ignored(f"field {change.get('field')!r}"))
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if str(number or "") != phone_number_id:
                events.append(Ignored("another phone number"))
                continue
            contacts = _dicts(value.get("contacts"))
            for message in _dicts(value.get("messages")):
                events.append(parse_message(message, contacts, received_at))
            for status in _dicts(value.get("statuses")):
                events.append(parse_status(status, received_at))
            for error in _dicts(value.get("errors")):
                events.append(Ignored(f"error {error.get('code')}: {error.get('title')}"))
    return events


# --- outbound: Outbound to Graph API messages ------------------------------------------------


def width(text: str) -> int:
    """Length as Meta counts it (UTF-16 code units; an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _cut_chars(text: str, room: int) -> str:
    kept: list[str] = []
    used = 0
    for char in text:
        used += width(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept)


def cut(label: str, limit: int) -> str:
    """``label`` on one line within ``limit``, cut at a word boundary with an ellipsis."""
    label = " ".join(label.split())
    if width(label) <= limit:
        return label
    room = limit - width(ELLIPSIS)
    kept = ""
    for word in label.split(" "):
        candidate = f"{kept} {word}" if kept else word
        if width(candidate) > room:
            break
        kept = candidate
    if not kept:  # a single word longer than the limit
        kept = _cut_chars(label, room)
    return kept.rstrip(" ,.;:-/(«") + ELLIPSIS


def clip(text: str, limit: int) -> str:
    """A message text within ``limit``, keeping its lines, cut at a space when it must be."""
    if width(text) <= limit:
        return text
    kept = _cut_chars(text, limit - width(ELLIPSIS))
    space = max(kept.rfind(" "), kept.rfind("\n"))
    if space > len(kept) // 2:
        kept = kept[:space]
    log.warning("text cut to fit WhatsApp", extra={"limit": limit, "length": width(text)})
    return kept.rstrip() + ELLIPSIS


def unique_titles(labels: Sequence[str], limit: int, taken: Sequence[str] = ()) -> list[str]:
    """Titles within ``limit``, cut at word boundaries, distinct from each other and ``taken``.

    WhatsApp refuses a message whose buttons (or rows) share a title; two labels that only
    differ after the cut get a counter: ``Sangat tidak… (2)``.
    """
    used = {title.casefold() for title in taken}
    titles: list[str] = []
    for index, label in enumerate(labels, start=1):
        title = cut(label, limit) or str(index)
        counter = 2
        while title.casefold() in used:
            suffix = f" ({counter})"
            title = (cut(label, limit - width(suffix)) or str(index)) + suffix
            counter += 1
        used.add(title.casefold())
        titles.append(title)
    return titles


def compose_body(message: Outbound) -> tuple[str, bool]:
    """The body: the text and the answers numbered with their full labels, when that fits.

    The numbers are the ones the engine understands when typed. Returns the body and whether
    the numbers are in it (if not, the row and button titles carry them).
    """
    text = message.text.strip()
    answers = message.answer_choices()
    if answers:
        numbered = "\n".join(f"{n}. {c.label}" for n, c in enumerate(answers, start=1))
        full = f"{text}\n\n{numbered}"
        if width(full) <= BODY_MAX:
            return full, True
    return clip(text, BODY_MAX), False


def _labels(message: Outbound, choices: Sequence[Choice], numbered_in_body: bool) -> list[str]:
    """Labels for buttons or rows; answers get their number when the body does not show it."""
    if numbered_in_body:
        return [c.label for c in choices]
    number = {c.id: n for n, c in enumerate(message.answer_choices(), start=1)}
    return [f"{number[c.id]}. {c.label}" if c.id in number else c.label for c in choices]


def _footer(message: Outbound) -> dict[str, str] | None:
    if not message.nav_choices():
        return None
    hint = catalogue_text(message.language, "nav.hint")
    return {"text": hint} if width(hint) <= FOOTER_MAX else None


def text_message(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": clip(text, TEXT_MAX), "preview_url": False}}


DIGEST_KINDS = ("digest", "digest_photo")
DIGEST_WAIT_ATTEMPTS = 7 * 24 * 4  # a week of 15-minute waits


def digest_template_message(template: Template, media_id: str, summary: str) -> dict[str, Any]:
    """The approved digest template: the chart as its image header, a summary as {{1}}."""
    return {
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.language},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"id": media_id}}]},
                {"type": "body", "parameters": [{"type": "text", "text": summary}]},
            ],
        },
    }


def template_message(name: str, language: str) -> dict[str, Any]:
    """The approved template that invites a citizen back once the 24-hour window closed."""
    return {"type": "template", "template": {"name": name, "language": {"code": language}}}


def render(message: Outbound, page: int = 0) -> dict[str, Any]:
    """The Graph API content of one outbound message (everything but the recipient).

    No choices: a text message. Up to three: reply buttons. Up to ten: a list. More: the
    answers in a list, navigation rows while room remains (they can also be typed); more
    than ten answers: pages of a list joined by "Berikutnya" / "Sebelumnya" rows.
    """
    choices = message.choices
    if not choices:
        return text_message(message.text)
    body, numbered = compose_body(message)
    interactive: dict[str, Any] = {"body": {"text": body}}
    footer = _footer(message)
    if footer is not None:
        interactive["footer"] = footer
    if len(choices) <= BUTTONS_MAX:
        titles = unique_titles(_labels(message, choices, numbered), BUTTON_TITLE_MAX)
        interactive["type"] = "button"
        interactive["action"] = {
            "buttons": [
                {"type": "reply", "reply": {"id": reply_id(message.prompt_token, c.id), "title": t}}
                for c, t in zip(choices, titles, strict=True)
            ]
        }
        return {"type": "interactive", "interactive": interactive}
    answers, nav = message.answer_choices(), message.nav_choices()
    if len(choices) > ROWS_MAX and len(answers) <= ROWS_MAX:
        choices = (*answers, *nav[: ROWS_MAX - len(answers)])
    pages = _pages(len(choices))
    page = min(max(page, 0), len(pages) - 1)
    language = message.language
    paging_titles = [_ui(language, "prev"), _ui(language, "next")] if len(pages) > 1 else []
    labels = _labels(message, choices, numbered)
    titles = unique_titles(labels, ROW_TITLE_MAX, taken=paging_titles)
    start, count, has_prev, has_next = pages[page]
    rows: list[dict[str, Any]] = []
    if has_prev:
        rows.append(_page_row(message, page - 1, len(pages), "prev"))
    for choice, label, title in zip(
        choices[start : start + count],
        labels[start : start + count],
        titles[start : start + count],
        strict=True,
    ):
        row = {"id": reply_id(message.prompt_token, choice.id), "title": title}
        if title != " ".join(label.split()):
            row["description"] = cut(label, ROW_DESCRIPTION_MAX)
        rows.append(row)
    if has_next:
        rows.append(_page_row(message, page + 1, len(pages), "next"))
    button = cut(message.choices_header or _ui(language, "choose"), LIST_BUTTON_MAX)
    if len(pages) > 1 and width(f"{button} ({page + 1}/{len(pages)})") <= LIST_BUTTON_MAX:
        button = f"{button} ({page + 1}/{len(pages)})"
    interactive["type"] = "list"
    interactive["action"] = {"button": button, "sections": [{"rows": rows}]}
    return {"type": "interactive", "interactive": interactive}


def _pages(total: int) -> list[tuple[int, int, bool, bool]]:
    """(first row, rows, has previous, has next) per page, at most ten rows on each."""
    if total <= ROWS_MAX:
        return [(0, total, False, False)]
    pages: list[tuple[int, int, bool, bool]] = []
    start = 0
    while start < total:
        has_prev = bool(pages)
        room = ROWS_MAX - int(has_prev)
        if total - start <= room:
            pages.append((start, total - start, has_prev, False))
            break
        pages.append((start, room - 1, has_prev, True))
        start += room - 1
    return pages


def _page_row(message: Outbound, page: int, pages: int, key: str) -> dict[str, Any]:
    return {
        "id": page_id(message.prompt_token, page),
        "title": _ui(message.language, key),
        "description": _ui(message.language, "page", page=page + 1, pages=pages),
    }


# --- the Graph API: errors and client --------------------------------------------------------


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
    message = _text(error.get("message")) or f"HTTP {http_status}"
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
        fbtrace_id=_text(error.get("fbtrace_id")) or None,
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
            data = json.loads(raw) if raw else {}
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
        messages = _dicts(data.get("messages"))
        if not messages or not _text(messages[0].get("id")):
            raise GraphServerError("the answer has no message id")
        return _text(messages[0]["id"])

    async def upload_media(self, data: bytes, mime_type: str, filename: str = "file") -> str:
        """Upload a file (e.g. a chart) for sending by id; returns the media id (30 days)."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, filename=filename, content_type=mime_type)
        answer = await self._request("POST", f"{self.phone_number_id}/media", data=form)
        return _text(answer.get("id"))

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


# --- the sender ------------------------------------------------------------------------------


class ContactWindows(Protocol):
    """What the sender needs to know about a contact's 24-hour window (``Storage`` has it)."""

    async def contact_window(self, contact_id: int) -> ContactWindow | None: ...

    async def mark_template_sent(self, contact_id: int, at: datetime) -> None: ...

    async def note_outbox(self, message_id: int, note: str) -> None: ...

    async def address_window(self, channel: str, address: str) -> ContactWindow | None: ...


@dataclass(frozen=True, slots=True)
class Template:
    """The approved template sent when the 24-hour window has closed."""

    name: str
    language: str = "id"


DEFAULT_MESSAGES_PER_S = 80.0
# Paced a little under the number's limit: Meta counts in its own one-second windows.
PACE_SHARE = 0.97


def whatsapp_limiter(messages_per_s: float) -> RateLimiter:
    """The pace for a number with this throughput (its tier: 20, 80 or 1,000 messages/s)."""
    return RateLimiter(
        overall_per_s=messages_per_s * PACE_SHARE, per_chat_interval_s=0.0, overall_burst=2
    )


class WhatsAppSender:
    """Sends outbox rows through the Graph API and maps its errors to ours.

    Outside a contact's 24-hour customer-service window (or when Meta answers 131047) the
    approved template goes out instead, once per closed window; without a template the
    message waits for the citizen to write again, then fails with the reason.
    """

    channel = CHANNEL

    def __init__(
        self,
        client: GraphClient,
        windows: ContactWindows | None = None,
        *,
        template: Template | None = None,
        digest_template: Template | None = None,
        clock: Callable[[], datetime] = utc_now,
        window_wait_s: float = 15 * 60,
        window_wait_attempts: int = 96,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.client = client
        self.windows = windows
        self.template = template
        self.digest_template = digest_template
        self.clock = clock
        self.window_wait_s = window_wait_s
        self.window_wait_attempts = window_wait_attempts
        # The number's throughput (80 messages/s by default, TECH.md 2h), evenly spread; the
        # pair rate (about 1 message per 6 s to one user) tolerates a reply's short burst.
        self.limiter = limiter or whatsapp_limiter(DEFAULT_MESSAGES_PER_S)

    async def send(self, message: PendingMessage) -> SendReceipt:
        if message.kind in DIGEST_KINDS and message.contact_id is None:
            return await self._send_digest(message)
        if message.kind == "answered":
            # Not queued for WhatsApp any more (Channel.edits_answered_prompts); rows queued
            # by an earlier version go as nothing.
            return SendReceipt()
        address = message.address
        if not address:
            raise PermanentSendError("no address (contact erased)")
        window = await self._window(message)
        if message.kind == "template":  # queued after a late 131047 report
            return await self._outside_window(message, "the platform reported 131047", window)
        if window is not None and not self._window_open(window):
            return await self._outside_window(message, "outside the 24-hour window", window)
        if message.kind == "digest_photo":  # the weekly digest's chart, to a citizen contact
            content: Mapping[str, Any] = await self._chart_image(message)
        else:
            page = int(message.payload.get("wa_page", 0))
            content = render(Outbound.from_json(message.payload), page)
        try:
            return SendReceipt(await self._send(address, content))
        except ReEngagementRequired as exc:
            return await self._outside_window(message, exc.reason, window)
        except GraphError as exc:
            raise self._translate(exc, message.attempts, message.address) from exc

    async def _send_digest(self, message: PendingMessage) -> SendReceipt:
        """A weekly digest to an OPD head.

        Inside the head's 24-hour window it goes out as it is. Outside it, the chart goes out
        as the approved digest template (image header, short summary) and the full text waits
        until the head writes (their reply makes it due at once), for up to a week.
        """
        window = (
            await self.windows.address_window("whatsapp", message.address)
            if self.windows is not None
            else None
        )
        if window is not None and self._window_open(window):
            content = (
                await self._chart_image(message)
                if message.kind == "digest_photo"
                else render(Outbound.from_json(message.payload))
            )
        elif message.kind == "digest_photo" and self.digest_template is not None:
            image = await self._chart_image(message)
            summary = str(message.payload.get("summary", ""))[:900] or "-"
            content = digest_template_message(self.digest_template, image["image"]["id"], summary)
        elif message.attempts >= DIGEST_WAIT_ATTEMPTS:
            raise PermanentSendError("the head did not write within a week (24-hour window)")
        else:
            raise TransientSendError(
                "waiting for the head to write (WhatsApp's 24-hour window)", self.window_wait_s
            )
        try:
            return SendReceipt(await self._send(message.address, content))
        except GraphError as exc:
            raise self._translate(exc, message.attempts, message.address) from exc

    async def _chart_image(self, message: PendingMessage) -> dict[str, Any]:
        try:
            media_id = await self.client.upload_media(
                base64.b64decode(str(message.payload["png_base64"])), "image/png", "skm-digest.png"
            )
        except GraphError as exc:
            raise self._translate(exc, message.attempts, message.address) from exc
        caption = str(message.payload.get("caption", ""))[:1024]
        return {"type": "image", "image": {"id": media_id, "caption": caption}}

    async def _send(self, address: str, content: Mapping[str, Any]) -> str:
        await self.limiter.acquire(address)
        return await self.client.send(address, content)

    def _translate(
        self, error: GraphError, attempts: int, address: str = ""
    ) -> TransientSendError | PermanentSendError:
        """Our error for a Graph error: retry (with the delay the limit needs) or give up.

        A send to a business-scoped user id that Meta refuses (e.g. 131062: BSUIDs are not
        supported for this message) fails at once: only the limits and an absent answer,
        which say nothing about the id, are retried."""
        exponent = max(attempts - 1, 0)
        if (
            address
            and not is_phone(address)
            and not isinstance(error, GraphRateLimited | GraphUnavailable | AccessTokenInvalid)
        ):
            log.warning(
                "WhatsApp refused a send to a business-scoped user id",
                extra={"code": error.code, "http_status": error.http_status},
            )
            return PermanentSendError(error.reason)
        if isinstance(error, ThroughputReached):
            # Messages per second: every send of this process waits a moment.
            delay = min(2.0**exponent, 60.0)
            self.limiter.pause(1.0)
            return TransientSendError(error.reason, delay)
        if isinstance(error, PairRateLimited):
            # About one message per six seconds to one user.
            return TransientSendError(error.reason, min(6.0 * 2.0**exponent, 600.0))
        if isinstance(error, GraphRateLimited | GraphServerError | GraphUnavailable):
            return TransientSendError(error.reason)
        if isinstance(error, AccessTokenInvalid):
            # Nothing the message did: it goes out once the token is renewed.
            log.error("WhatsApp access token rejected", extra={"reason": error.reason})
            return TransientSendError(error.reason, 300.0)
        return PermanentSendError(error.reason)

    async def _window(self, message: PendingMessage) -> ContactWindow | None:
        if self.windows is None or message.contact_id is None:
            return None  # a recipient, not a citizen: Meta's answer decides
        return await self.windows.contact_window(message.contact_id)

    def _window_open(self, window: ContactWindow) -> bool:
        last = window.last_inbound_at
        return last is not None and self.clock() - last < CUSTOMER_SERVICE_WINDOW

    async def _outside_window(
        self, message: PendingMessage, why: str, window: ContactWindow | None
    ) -> SendReceipt:
        """The template instead of the message, once per closed window; else wait or fail."""
        if message.kind == "template" and window is not None and self._window_open(window):
            return SendReceipt()  # the citizen wrote again meanwhile: no invitation needed
        if self.template is None:
            if message.attempts >= self.window_wait_attempts:
                raise PermanentSendError(f"{why}; no WHATSAPP_TEMPLATE_NAME configured")
            raise TransientSendError(
                f"{why}; waiting for the citizen to write (no template configured)",
                self.window_wait_s,
            )
        invited = window.template_sent_at if window is not None else None
        last_inbound = window.last_inbound_at if window is not None else None
        if invited is not None and (last_inbound is None or invited > last_inbound):
            raise PermanentSendError(f"{why}; superseded by the template already sent")
        content = template_message(self.template.name, self.template.language)
        try:
            wamid = await self._send(message.address, content)
        except GraphError as exc:
            raise self._translate(exc, message.attempts, message.address) from exc
        if self.windows is not None:
            if message.contact_id is not None:
                await self.windows.mark_template_sent(message.contact_id, self.clock())
            await self.windows.note_outbox(
                message.id, f"{why}: sent the approved template {self.template.name!r} instead"
            )
        log.info("template sent", extra={"outbox_id": message.id, "reason": why})
        return SendReceipt(wamid)


# --- webhook processing ----------------------------------------------------------------------

HandleInbound = Callable[[Inbound], Awaitable[Any]]


@dataclass
class ProcessReport:
    """What one webhook payload contained and what became of it."""

    messages: int = 0
    duplicates: int = 0
    pages: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)


class WhatsAppUpdates:
    """Turns verified webhook payloads into dispatched events and recorded delivery reports.

    Everything is committed before :meth:`process` returns (so the webhook answers 200 only
    for what is stored); replies go out in the background.
    """

    def __init__(
        self,
        storage: Storage,
        handle: HandleInbound,
        outbox: OutboxWorker,
        phone_number_id: str,
        *,
        template_configured: bool = False,
        clock: Callable[[], datetime] = utc_now,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.storage = storage
        self.handle = handle
        self.outbox = outbox
        self.phone_number_id = phone_number_id
        self.template_configured = template_configured
        self.clock = clock
        # The sender's limiter: Meta counts the messages received against the same limit.
        self.limiter = limiter
        self._tasks: set[asyncio.Task[None]] = set()

    async def process(self, data: Mapping[str, Any]) -> ProcessReport:
        report = ProcessReport()
        for event in parse_payload(data, self.phone_number_id, self.clock()):
            if self.limiter is not None and isinstance(event, Inbound | PageRequest):
                self.limiter.note_inbound()
            if isinstance(event, Inbound):
                result = await self.handle(event)
                report.messages += 1
                if isinstance(result, DispatchResult) and result.outcome is Outcome.DUPLICATE:
                    report.duplicates += 1
            elif isinstance(event, PageRequest):
                await self._page(event)
                report.pages += 1
            elif isinstance(event, StatusReport):
                await self._status(event)
                report.statuses += 1
            else:
                report.ignored.append(event.reason)
                log.debug("webhook item ignored", extra={"reason": event.reason})
        return report

    async def _page(self, request: PageRequest) -> None:
        """Send another page of a long list: the same prompt, so its rows stay valid."""
        now = self.clock()
        claimed: list[PendingMessage] = []
        found = False
        async with self.storage.transaction() as tx:
            if not await tx.record_inbound(CHANNEL, request.event_id, now):
                return
            contact = await tx.contact_for(CHANNEL, request.contact, DEFAULT_LANGUAGE, now)
            reply_to = contact.phone or request.phone or request.contact
            payload = (
                await tx.prompt_payload(CHANNEL, contact.id, request.prompt_token)
                if request.prompt_token
                else None
            )
            if payload is not None:
                found = True
                claimed = await tx.enqueue(
                    channel=CHANNEL,
                    messages=[("message", {**payload, "wa_page": request.page})],
                    dedupe_prefix=f"in:{CHANNEL}:{event_key(request.event_id)}",
                    now=now,
                    contact_id=contact.id,
                    claim=ClaimFor(address=reply_to, lease=self.outbox.lease),
                )
        if not found:
            # The list is unknown (or not this citizen's): the engine re-asks politely.
            await self.handle(
                Inbound(
                    channel=Channel.WHATSAPP,
                    contact=request.contact,
                    event_id=f"{request.event_id}#page",
                    kind=InboundKind.CHOICE,
                    received_at=request.received_at,
                    choice_id=f"page:{request.page}",
                    prompt_token=request.prompt_token or "invalid",
                    phone=request.phone,
                    parent_id=request.parent_id,
                )
            )
            return
        if claimed:
            self._background(self.outbox.send_claimed(CHANNEL, claimed))

    async def _status(self, report: StatusReport) -> None:
        """Record the report on its outbox row; a late 131047 queues the template."""
        queued = False
        async with self.storage.transaction() as tx:
            record = await tx.record_delivery(
                CHANNEL, report.message_id, report.status, report.at, report.error
            )
            if (
                record is not None
                and record.applied
                and report.status is DeliveryStatus.FAILED
                and report.error_code == 131047
                and record.contact_id is not None
                and self.template_configured
            ):
                queued = bool(
                    await tx.enqueue(
                        channel=CHANNEL,
                        messages=[("template", {"failed_message": report.message_id})],
                        dedupe_prefix=f"tpl:{CHANNEL}:{event_key(report.message_id)}",
                        now=self.clock(),
                        contact_id=record.contact_id,
                    )
                )
        if queued:
            self.outbox.wake()

    def _background(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:  # the sweeper retries whatever was not marked sent
                log.exception("whatsapp delivery after commit failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for pages being sent in the background."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


__all__ = [
    "AccessTokenInvalid",
    "ContactWindows",
    "ERROR_CLASSES",
    "GraphClient",
    "GraphError",
    "GraphRateLimited",
    "GraphServerError",
    "GraphUnavailable",
    "Ignored",
    "PageRequest",
    "PairRateLimited",
    "ProcessReport",
    "ReEngagementRequired",
    "SpamRateLimited",
    "StatusReport",
    "Template",
    "TemplateRejected",
    "ThroughputReached",
    "Undeliverable",
    "WhatsAppRejected",
    "WhatsAppSender",
    "WhatsAppUpdates",
    "challenge_answer",
    "check_credentials",
    "clip",
    "compose_body",
    "cut",
    "graph_error",
    "page_id",
    "parse_message",
    "parse_payload",
    "parse_reply_id",
    "parse_status",
    "recipient_fields",
    "render",
    "reply_id",
    "sign",
    "signature_valid",
    "template_message",
    "text_message",
    "unique_titles",
    "width",
]
