"""The WhatsApp sender: outbox rows through the Graph API, within Meta's limits and windows.

It paces the number's throughput, sends a message only inside the contact's 24-hour
customer-service window (else the approved template, once per closed window), sends the weekly
digest with its chart, and maps Graph errors to retry or failure.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from handlers.dispatcher import LIST_PAGE, utc_now
from handlers.outbox import PermanentSendError, SendReceipt, TransientSendError
from handlers.ratelimit import RateLimiter
from handlers.whatsapp.flow import flow_message
from handlers.whatsapp.graph import (
    AccessTokenInvalid,
    GraphClient,
    GraphError,
    GraphRateLimited,
    GraphServerError,
    GraphUnavailable,
    PairRateLimited,
    ReEngagementRequired,
    ThroughputReached,
)
from handlers.whatsapp.parse import CHANNEL
from handlers.whatsapp.render import render
from storage.contacts import is_phone
from storage.outbox import ContactWindow, PendingMessage
from survey_flows.types import FormOffer, Outbound

log = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)

DIGEST_KINDS = ("digest", "digest_photo")
DIGEST_WAIT_ATTEMPTS = 7 * 24 * 4  # a week of 15-minute waits

DEFAULT_MESSAGES_PER_S = 80.0
# Paced a little under the number's limit: Meta counts in its own one-second windows.
PACE_SHARE = 0.97


def whatsapp_limiter(messages_per_s: float) -> RateLimiter:
    """The pace for a number with this throughput (its tier: 20, 80 or 1,000 messages/s)."""
    return RateLimiter(
        overall_per_s=messages_per_s * PACE_SHARE, per_chat_interval_s=0.0, overall_burst=2
    )


@dataclass(frozen=True, slots=True)
class Template:
    """The approved template sent when the 24-hour window has closed."""

    name: str
    language: str = "id"


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


def followup_template_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """ "You said, we did" news as its approved template: the news as the body's {{1}} (a
    template parameter may hold no line breaks)."""
    news = " ".join(str(payload.get("text", "")).split())[:1000] or "-"
    return {
        "type": "template",
        "template": {
            "name": str(payload["template"]),
            "language": {"code": str(payload.get("language", "id"))},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": news}]}],
        },
    }


def template_message(name: str, language: str) -> dict[str, Any]:
    """The approved template that invites a citizen back once the 24-hour window closed."""
    return {"type": "template", "template": {"name": name, "language": {"code": language}}}


class ContactWindows(Protocol):
    """What the sender needs to know about a contact's 24-hour window (``Storage`` has it)."""

    async def contact_window(self, contact_id: int) -> ContactWindow | None: ...

    async def mark_template_sent(self, contact_id: int, at: datetime) -> None: ...

    async def note_outbox(self, message_id: int, note: str) -> None: ...

    async def address_window(self, channel: str, address: str) -> ContactWindow | None: ...


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
        flow_ids: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        # Language -> the published Flow of the questionnaire (WHATSAPP_FLOW_ID or the id the
        # publish command stored); a form offer in another language goes as the chat question.
        self.flow_ids: Mapping[str, str] = flow_ids or {}
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
        if message.kind == "followup_news":  # a business message: no window needed
            try:
                return SendReceipt(await self._send(address, followup_template_message(
                    message.payload)))  # fmt: skip
            except GraphError as exc:
                raise self._translate(exc, message.attempts, message.address) from exc
        window = await self._window(message)
        if message.kind == "template":  # queued after a late 131047 report
            return await self._outside_window(message, "the platform reported 131047", window)
        if window is not None and not self._window_open(window):
            return await self._outside_window(message, "outside the 24-hour window", window)
        if message.kind == "digest_photo":  # the weekly digest's chart, to a citizen contact
            content: Mapping[str, Any] = await self._chart_image(message)
        else:
            outbound = Outbound.from_json(message.payload)
            flow_id = self.flow_ids.get(outbound.language) if outbound.form else None
            if outbound.form is not None and flow_id:
                sent = await self._send_form(message, outbound.form, flow_id, window)
                if sent is not None:
                    return sent
            content = render(outbound, int(message.payload.get(LIST_PAGE, 0)))
        try:
            return SendReceipt(await self._send(address, content))
        except ReEngagementRequired as exc:
            return await self._outside_window(message, exc.reason, window)
        except GraphError as exc:
            raise self._translate(exc, message.attempts, message.address) from exc

    async def _send_form(
        self,
        message: PendingMessage,
        form: FormOffer,
        flow_id: str,
        window: ContactWindow | None,
    ) -> SendReceipt | None:
        """The questionnaire as a Flow message; None when Meta refuses it for this user (an
        unknown or unpublished Flow, a client or an address that cannot take one): the chat
        question in the same outbox row goes instead, so nothing is lost."""
        try:
            return SendReceipt(
                await self._send(message.address, flow_message(form, flow_id, form.body))
            )
        except ReEngagementRequired as exc:
            return await self._outside_window(message, exc.reason, window)
        except (GraphRateLimited, GraphServerError, GraphUnavailable, AccessTokenInvalid) as exc:
            raise self._translate(exc, message.attempts, message.address) from exc
        except GraphError as exc:
            log.warning(
                "WhatsApp refused the Flow message; the chat questionnaire goes instead",
                extra={"code": exc.code, "http_status": exc.http_status},
            )
            return None

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
