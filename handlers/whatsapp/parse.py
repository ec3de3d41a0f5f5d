"""Inbound WhatsApp: the webhook's signature and verification challenge, payloads to events.

A message becomes a channel-neutral :class:`Inbound` (a tap on "Berikutnya" in a long list
is one too, of kind ``PAGE``: the dispatcher serves it), a status becomes a
:class:`StatusReport`, anything else an :class:`Ignored` with the reason.

The contact key is the business-scoped user id (BSUID, ``user_id`` / ``from_user_id``), which
Meta sends for every user since April 2026 and which stays stable when a user adopts a
username and hides their phone number; ``wa_id`` (the phone number) is the key only when a
payload has no BSUID. Every event carries both when the payload shows both, and storage keeps
one contact per person (docs/whatsapp.md).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.whatsapp.flow_reply import read_flow_reply
from storage.contacts import is_phone
from storage.models import DeliveryStatus
from survey_flows.commands import inbound_fields
from survey_flows.types import Channel, Inbound, InboundKind

CHANNEL = Channel.WHATSAPP.value
SIGNATURE_HEADER = "X-Hub-Signature-256"

REPLY_VERSION = "v1"  # a choice: v1|<prompt token>|<choice id>
PAGE_VERSION = "wp1"  # another page of a long list: wp1|<prompt token>|<page>

# --- webhook verification --------------------------------------------------------------------


def sign(app_secret: str | bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``: ``sha256=<hex>``."""
    key = app_secret.encode() if isinstance(app_secret, str) else app_secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(app_secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of the signature header over the raw body (never re-serialised)."""
    if not header:
        return False
    try:  # a header byte outside ASCII (aiohttp keeps it as a surrogate) is simply wrong
        given = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(sign(app_secret, body).encode(), given)


def challenge_answer(params: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta verifies the callback URL, else None (403)."""
    given = params.get("hub.verify_token", "")
    challenge = params.get("hub.challenge")
    if params.get("hub.mode") != "subscribe" or challenge is None:
        return None
    try:
        matches = hmac.compare_digest(given.encode("utf-8"), verify_token.encode())
    except UnicodeEncodeError:  # a lone surrogate in the query: not our token
        return None
    if not matches:
        return None
    return challenge


# --- inbound: webhook payloads to events -----------------------------------------------------


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


Event = Inbound | StatusReport | Ignored


def parse_reply_id(raw: str) -> tuple[str, str | None, str]:
    """(kind, prompt token, value) of a reply id; kind is ``choice`` or ``page``.

    Ids that are not ours (forged, or an old format) come back as a choice with the token
    ``invalid``, which can never match the current prompt: the engine re-asks politely.
    """
    parts = raw.split("|", 2)
    if len(parts) == 3 and parts[0] == REPLY_VERSION and parts[2]:
        return "choice", parts[1] or None, parts[2]
    page = parts[2] if len(parts) == 3 else ""
    if parts[0] == PAGE_VERSION and page.isascii() and page.isdigit() and len(page) <= 4:
        return "page", parts[1] or None, page
    return "choice", "invalid", raw


def text_value(value: Any) -> str:
    """A JSON field that should be a string, or "" (payloads are never trusted)."""
    return value if isinstance(value, str) else ""


def dict_items(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON field that should be a list of objects; the rest is skipped."""
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
    user_id = text_value(message.get("from_user_id")).strip()
    wa_id = text_value(message.get("from")).strip()
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
        user_id = user_id or text_value(entry.get("user_id")).strip()
        wa_id = wa_id or text_value(entry.get("wa_id")).strip()
        parent = parent or text_value(entry.get("parent_user_id")).strip()
    phone = wa_id if is_phone(wa_id) and len(wa_id) <= 32 else None
    return Sender(user_id or wa_id, phone, parent if 0 < len(parent) <= 160 else None)


def _timestamp(value: Any, default: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default


# Messages that are not a citizen writing to us: reactions, system notices, the welcome
# request, and, on a number shared with the WhatsApp Business app ("coexistence"), a message
# deleted ("revoke") or edited ("edit") by its sender. Neither asks anything of the bot: the
# edit of an answer already taken cannot change it, and a hint would interrupt a survey.
IGNORED_MESSAGE_TYPES = frozenset(
    {"reaction", "system", "request_welcome", "ephemeral", "revoke", "edit"}
)


def coordinates(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    """A (latitude, longitude) on Earth, or None: numbers only, finite and in range."""
    try:
        point = (float(latitude), float(longitude))
    except (TypeError, ValueError, OverflowError):
        return None
    if not all(math.isfinite(v) for v in point):
        return None
    if not (-90.0 <= point[0] <= 90.0 and -180.0 <= point[1] <= 180.0):
        return None
    return point


def parse_message(
    message: Mapping[str, Any], contacts: Sequence[Mapping[str, Any]], received_at: datetime
) -> Inbound | Ignored:
    """One entry of ``value.messages`` as an event."""
    event_id = text_value(message.get("id"))
    sender = _sender(message, contacts)
    contact = sender.contact
    kind = text_value(message.get("type"))
    if not event_id:
        return Ignored("message without an id")
    if not contact or len(contact) > 160:
        return Ignored("message without a usable sender")
    if kind in IGNORED_MESSAGE_TYPES:
        return Ignored(f"{kind} message")
    context = message.get("context")
    context_id = (text_value(context.get("id")) or None) if isinstance(context, dict) else None
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
        return Inbound(**inbound_fields(text_value(body.get("body"))), **common)
    if kind == "button":  # a quick-reply button of a template
        text = text_value(body.get("text")) or text_value(body.get("payload"))
        return Inbound(kind=InboundKind.TEXT, text=text, **common)
    if kind == "interactive":
        reply_kind = text_value(body.get("type"))
        reply = body.get(reply_kind)
        if reply_kind in {"button_reply", "list_reply"} and isinstance(reply, dict):
            what, token, value = parse_reply_id(text_value(reply.get("id")))
            if what == "page":  # the dispatcher sends the same list again, at that page
                return Inbound(kind=InboundKind.PAGE, page=int(value), prompt_token=token, **common)
            return Inbound(kind=InboundKind.CHOICE, choice_id=value, prompt_token=token, **common)
        if reply_kind == "nfm_reply" and isinstance(reply, dict):  # a completed WhatsApp Flow
            flow = read_flow_reply(reply)
            return Inbound(
                kind=InboundKind.FORM, form=flow.fields, prompt_token=flow.token, **common
            )
    if kind in {"image", "document"} and text_value(body.get("id")):
        return Inbound(kind=InboundKind.MEDIA, media_ref=text_value(body.get("id")), **common)
    if kind == "location":
        location = coordinates(body.get("latitude"), body.get("longitude"))
        if location is None:
            return Inbound(kind=InboundKind.UNSUPPORTED, **common)
        return Inbound(kind=InboundKind.LOCATION, location=location, **common)
    return Inbound(kind=InboundKind.UNSUPPORTED, **common)


def parse_status(status: Mapping[str, Any], received_at: datetime) -> StatusReport | Ignored:
    """One entry of ``value.statuses``; ``failed`` keeps the first error's code and reason."""
    message_id = text_value(status.get("id"))
    try:
        state = DeliveryStatus(text_value(status.get("status")))
    except ValueError:
        return Ignored(f"status {status.get('status')!r}")
    if not message_id:
        return Ignored("status without a message id")
    at = _timestamp(status.get("timestamp"), received_at)
    errors = dict_items(status.get("errors"))
    if not errors:
        return StatusReport(message_id, state, at)
    first = errors[0]
    code = first.get("code") if isinstance(first.get("code"), int) else None
    error_data = first.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    parts = [str(code) if code is not None else "", text_value(first.get("title"))]
    reason = ": ".join(p for p in parts if p)
    if details and isinstance(details, str):
        reason = f"{reason} ({details})" if reason else details
    return StatusReport(message_id, state, at, code, reason or None)


def _isolated(parse: Callable[..., Event], *args: Any) -> Event:
    """One item parsed; an item that cannot be (a shape never seen) is ignored alone, so the
    rest of the delivery is kept."""
    try:
        return parse(*args)
    except Exception as exc:
        return Ignored(f"unreadable item ({type(exc).__name__})")


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
    for entry in dict_items(data.get("entry")):
        for change in dict_items(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                events.append(Ignored(f"field {change.get('field')!r}"))
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if str(number or "") != phone_number_id:
                events.append(Ignored("another phone number"))
                continue
            contacts = dict_items(value.get("contacts"))
            for message in dict_items(value.get("messages")):
                events.append(_isolated(parse_message, message, contacts, received_at))
            for status in dict_items(value.get("statuses")):
                events.append(_isolated(parse_status, status, received_at))
            for error in dict_items(value.get("errors")):
                events.append(Ignored(f"error {error.get('code')}: {error.get('title')}"))
    return events
