"""The dispatcher: one inbound event through dedupe → lock → step → persist → send.

Everything a step produces (conversation state, survey response, consent, outgoing messages)
is written in one transaction; only after the commit are the messages handed to the sender.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from handlers.outbox import OutboxWorker
from handlers.ratelimit import ContactLimits, Limited
from storage import Storage, Tx
from storage.base import keyed_event_id
from storage.complaints import (
    CalendarCache,
    apply_desk_effects,
    complaints_of_contact,
    load_desk_context,
)
from storage.conversations import SavedConversation
from storage.directory import directory_in
from storage.outbox import ClaimFor, PendingMessage
from storage.privacy import erase_followups
from storage.rtl import opt_in
from survey_flows import skm
from survey_flows.catalog import DEFAULT_LANGUAGE
from survey_flows.catalog import text as catalog_text
from survey_flows.complaint_flow import TICKET_TOKEN
from survey_flows.complaints import TICKET_BITS, format_ticket
from survey_flows.desk import NotifyRecipient, citizen_step, filed_notices, officer_step
from survey_flows.directory import Directory
from survey_flows.engine import FlowSettings, StepContext
from survey_flows.officer import officer_request, quoted_ticket_wanted
from survey_flows.types import (
    Channel,
    CitizenComplaintAction,
    EraseContact,
    FileComplaint,
    FollowUpOptIn,
    FollowUpOptOut,
    Inbound,
    InboundKind,
    InputRejected,
    LimitReached,
    Outbound,
    RecordConsent,
    RememberProfile,
    SetLanguage,
    StepResult,
    SubmitResponse,
)

log = logging.getLogger(__name__)

StaffCommand = Callable[[Inbound], Awaitable[list[tuple[str, dict[str, Any]]]]]

# The page of a long list to show, in a queued prompt's payload (WhatsApp's renderer reads it).
LIST_PAGE = "wa_page"


class Outcome(StrEnum):
    """How an inbound event ended."""

    PROCESSED = "processed"
    REJECTED = "rejected"  # the input did not fit; a re-prompt went out
    DUPLICATE = "duplicate"  # seen before: a platform redelivery
    LIMITED = "limited"  # over a per-contact limit (handlers/ratelimit.py): dropped


@dataclass(frozen=True, slots=True)
class DispatchResult:
    outcome: Outcome
    outbox_ids: tuple[int, ...] = ()
    response_id: int | None = None
    step_ms: float = 0.0
    limit: str | None = None  # the per-contact limit answered, if any (counted in /metrics)


@dataclass(frozen=True, slots=True)
class _Stepped:
    outcome: Outcome
    claimed: list[PendingMessage] = field(default_factory=list)
    response_id: int | None = None
    direct: list[PendingMessage] = field(default_factory=list)
    wake: set[str] = field(default_factory=set)  # channels with other queued notifications
    limit: str | None = None


def _may_need_complaints(inbound: Inbound) -> bool:
    """A tap on a survey prompt's button never looks at complaints: skip the query then.

    Typed text may be "STATUS <ticket>", a ticket's buttons carry the token "t", and the
    menu's "Cek status pengaduan" button lists them.
    """
    choice = inbound.choice_id or ""
    return not (
        inbound.kind is InboundKind.CHOICE
        and inbound.prompt_token not in (None, TICKET_TOKEN)
        and choice not in ("status", "complaint")  # complaint: the daily cap
        and not choice.startswith("complaint:")  # the offer after a low score: the cap too
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def respondent_key(secret: bytes, channel: str, address: str) -> str:
    """A stable pseudonym for a contact: HMAC-SHA256 with the deployment's secret."""
    return hmac.new(secret, f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()[:32]


class DirectoryCache:
    """The directory changes rarely; re-read it at most every ``ttl``."""

    def __init__(self, ttl: timedelta = timedelta(seconds=30)) -> None:
        self.ttl = ttl
        self._value: Directory | None = None
        self._loaded_at = 0.0

    async def get(self, tx: Tx) -> Directory:
        if self._value is None or time.monotonic() - self._loaded_at > self.ttl.total_seconds():
            self._value = await directory_in(tx)
            self._loaded_at = time.monotonic()
        return self._value


class Dispatcher:
    """Runs inbound events through the engine, one transaction each."""

    def __init__(
        self,
        storage: Storage,
        flow_settings: FlowSettings,
        pseudonym_secret: bytes,
        outbox: OutboxWorker,
        clock: Callable[[], datetime] = utc_now,
        directory_cache: DirectoryCache | None = None,
    ) -> None:
        self.storage = storage
        self.flow_settings = flow_settings
        self.secret = pseudonym_secret
        self.outbox = outbox
        self.clock = clock
        self.directory = directory_cache or DirectoryCache()
        self.calendar = CalendarCache()
        # Commands for registered staff, answered outside the conversation (the composition
        # root adds them: handlers may not import the report code).
        self.staff_commands: dict[str, StaffCommand] = {}
        # Told the outcome of every event (the composition root counts them for /metrics).
        self.observer: Callable[[Inbound, DispatchResult], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Per-contact limits checked before the database (the composition root sets them;
        # None: no limit, as in most tests).
        self.limits: ContactLimits | None = None
        # Channel -> languages whose questionnaire form (a WhatsApp Flow) is published; the
        # composition root fills it. Empty: the chat asks every question.
        self.form_languages: dict[str, frozenset[str]] = {}

    async def handle(self, inbound: Inbound, *, background: bool = False) -> DispatchResult:
        """Process one inbound event exactly once, then send its replies.

        With ``background``, the replies are sent by a task after this returns: a webhook can
        answer 200 as soon as the event is committed. :meth:`drain` waits for those tasks.
        """
        started = time.perf_counter()
        if self.limits is not None and (over := self.limits.check(inbound)) is not None:
            return await self._limited(inbound, over)
        prepared: list[tuple[str, dict[str, Any]]] | None = None
        if inbound.kind is InboundKind.COMMAND and inbound.command in self.staff_commands:
            # Staff commands (e.g. /ringkasan) read a lot: done before the short transaction.
            prepared = await self.staff_commands[inbound.command](inbound)
        async with self.storage.transaction() as tx:
            result = await self._step_in(tx, inbound, prepared)
        step_ms = (time.perf_counter() - started) * 1000
        if log.isEnabledFor(logging.INFO):  # no record built for a line that is dropped
            log.info(
                "inbound",
                extra={
                    "channel": inbound.channel.value,
                    "event_id": inbound.event_id,
                    "kind": inbound.kind.value,
                    "outcome": result.outcome.value,
                    "step_ms": round(step_ms, 2),
                },
            )
        if result.claimed or result.direct or result.wake:
            delivery = self._deliver(inbound.channel.value, result)
            if background:
                task = asyncio.create_task(delivery)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                await delivery
        dispatched = DispatchResult(
            result.outcome,
            tuple(m.id for m in result.claimed),
            result.response_id,
            step_ms,
            limit=result.limit,
        )
        if self.observer is not None:
            self.observer(inbound, dispatched)
        return dispatched

    async def _limited(self, inbound: Inbound, over: Limited) -> DispatchResult:
        """Drop an event over a per-contact limit before it reaches the database; the first
        of an episode is answered (sent from memory: nothing is stored for it)."""
        if over.notify:
            channel = inbound.channel.value
            text = catalog_text(DEFAULT_LANGUAGE, f"limit.{over.limit}")
            reply = PendingMessage(0, channel, inbound.phone or inbound.contact, "message",
                                   Outbound(text).to_json(), 1, None)  # fmt: skip
            await self._deliver(channel, _Stepped(Outcome.LIMITED, direct=[reply]))
        log.info(
            "inbound limited",
            extra={"channel": inbound.channel.value, "limit": over.limit, "told": over.notify},
        )
        result = DispatchResult(Outcome.LIMITED, limit=over.limit)
        if self.observer is not None:
            self.observer(inbound, result)
        return result

    async def _deliver(self, channel: str, result: _Stepped) -> None:
        try:
            if result.claimed:
                await self.outbox.send_claimed(channel, result.claimed)
            if result.direct:
                await self.outbox.send_unrecorded(channel, result.direct)
            for other in sorted(result.wake):  # notifications to officers or other citizens
                await self.outbox.deliver(other)
        except Exception:  # the sweeper retries whatever was not marked sent
            log.exception("delivery after commit failed", extra={"channel": channel})

    async def drain(self) -> None:
        """Wait until replies being sent in the background have gone out (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _step_in(
        self, tx: Tx, inbound: Inbound, prepared: list[tuple[str, dict[str, Any]]] | None = None
    ) -> _Stepped:
        now = self.clock()
        channel = inbound.channel.value
        key = respondent_key(self.secret, channel, inbound.contact)
        window = self.flow_settings.repeat_window_days
        today = now.astimezone(self.flow_settings.timezone).date()
        # Stored and used in outbox keys only as a keyed hash (a wamid encodes a phone number).
        event = keyed_event_id(self.secret, channel, inbound.event_id)
        dedupe_prefix = f"in:{channel}:{event}"
        begun = await tx.begin_event(
            channel,
            event,
            inbound.contact,
            now,
            language=DEFAULT_LANGUAGE,
            respondent_key=key,
            answered_since=today - timedelta(days=window - 1) if window > 0 else None,
            phone=inbound.phone,
            parent=inbound.parent_id,
            pseudonym=functools.partial(respondent_key, self.secret, channel),
        )
        if begun is None:
            return _Stepped(Outcome.DUPLICATE)
        contact, recent = begun
        # The pseudonym follows the person when their address changes (WhatsApp's BSUID).
        key = contact.respondent_key or key
        reply_to = contact.reply_address  # the phone number whenever one is known
        # On WhatsApp a head's reply opens their 24-hour window: a waiting digest goes out now.
        if inbound.channel is Channel.WHATSAPP and await tx.wake_waiting_staff_messages(
            channel, inbound.contact, now, phone=inbound.phone
        ):
            self.outbox.wake()
        if prepared is not None:
            claimed = await tx.enqueue(
                channel=channel,
                messages=prepared,
                dedupe_prefix=dedupe_prefix,
                now=now,
                contact_id=contact.id,
                claim=ClaimFor(address=reply_to, lease=self.outbox.lease),
            )
            return _Stepped(Outcome.PROCESSED, claimed)
        if inbound.kind is InboundKind.PAGE:
            paged = await self._list_page(tx, dedupe_prefix, inbound, contact.id, reply_to)
            if paged is not None:
                return paged
            # The list is unknown (or another contact's): the engine re-asks politely.
            inbound = replace(
                inbound,
                kind=InboundKind.CHOICE,
                choice_id=f"page:{inbound.page}",
                prompt_token=inbound.prompt_token or "invalid",
            )
        request = officer_request(inbound)
        quoted_ref = quoted_ticket_wanted(inbound)
        if request is not None or quoted_ref is not None:
            # The complaint desk: load its context once, a pure step, apply its effects.
            desk = await load_desk_context(
                tx,
                now=now,
                settings=self.flow_settings,
                calendar=await self.calendar.get(tx),
                channel=channel,
                language=contact.language,
                contact_id=contact.id,
                address=inbound.contact,
                phone=inbound.phone,
                ticket=request.ticket if request else None,
                quoted_ref=quoted_ref if request is None else None,
            )
            if request is None:
                request = officer_request(inbound, desk.quoted_ticket)
            acted = officer_step(desk, request)
            if acted is not None:  # None: not staff, quoting a message; a normal message then
                woken = await apply_desk_effects(tx, acted.effects, now)
                replies = [("message", m.to_json()) for m in acted.replies]
                return await self._reply(tx, dedupe_prefix, inbound, contact.id, reply_to,
                                         replies, woken)  # fmt: skip
        state = await tx.lock_conversation(contact.id, now)
        context = StepContext(
            now=now,
            directory=await self.directory.get(tx),
            language=contact.language,
            consent_at=contact.consent_at,
            recent_units=recent,
            saved_profile=contact.saved_profile,
            settings=self.flow_settings,
            fresh_ticket=format_ticket(secrets.randbits(TICKET_BITS)),
            calendar=await self.calendar.get(tx),
            complaints=(
                await complaints_of_contact(tx, contact.id) if _may_need_complaints(inbound) else ()
            ),
            form_languages=(
                self.form_languages.get(channel, frozenset())
                if inbound.channel.offers_forms
                else frozenset()
            ),
            nonce=secrets.token_urlsafe(9),
        )
        result = skm.step(state, inbound, context)
        wake: set[str] = set()
        response_id = await self._apply_effects(tx, result, contact.id, channel, key, now, wake)
        erase = next((e for e in result.effects if isinstance(e, EraseContact)), None)
        if erase is not None:
            # Nothing may keep the identity: the goodbye is sent from memory, not the outbox.
            await tx.forget_contact(
                contact.id, key, now=now, keep_open_complaints=erase.keep_open_complaints
            )
            direct = [
                PendingMessage(0, channel, reply_to, "message", m.to_json(), 1, None)
                for m in result.outbound
            ]
            return _Stepped(Outcome.PROCESSED, direct=direct)
        save = (
            SavedConversation(contact.id, result.state, result.expires_at)
            if result.state != state
            else None
        )
        messages = [("message", message.to_json()) for message in result.outbound]
        if result.answered is not None and inbound.channel.edits_answered_prompts:
            answered = result.answered
            messages.insert(
                0,
                (
                    "answered",
                    {
                        "prompt_token": answered.prompt_token,
                        "question": answered.question,
                        "answer": answered.answer_label,
                        "message_ref": inbound.message_ref,
                    },
                ),
            )
        claimed = await tx.enqueue(
            channel=channel,
            messages=messages,
            dedupe_prefix=dedupe_prefix,
            now=now,
            contact_id=contact.id,
            claim=ClaimFor(address=reply_to, lease=self.outbox.lease),
            save=save,
        )
        rejected = any(isinstance(e, InputRejected) for e in result.effects)
        outcome = Outcome.REJECTED if rejected else Outcome.PROCESSED
        limit = next((e.limit for e in result.effects if isinstance(e, LimitReached)), None)
        return _Stepped(outcome, claimed, response_id, wake=wake, limit=limit)

    async def _reply(
        self,
        tx: Tx,
        dedupe_prefix: str,
        inbound: Inbound,
        contact_id: int,
        address: str,
        replies: list[tuple[str, dict[str, Any]]],
        wake: set[str],
    ) -> _Stepped:
        """Queue replies to the sender of ``inbound`` outside the conversation flow."""
        channel = inbound.channel.value
        claimed = await tx.enqueue(
            channel=channel,
            messages=replies,
            dedupe_prefix=dedupe_prefix,
            now=self.clock(),
            contact_id=contact_id,
            claim=ClaimFor(address=address, lease=self.outbox.lease),
        )
        return _Stepped(Outcome.PROCESSED, claimed, wake=wake)

    async def _list_page(
        self, tx: Tx, dedupe_prefix: str, inbound: Inbound, contact_id: int, address: str
    ) -> _Stepped | None:
        """The same prompt again at another page, so its rows stay valid (a long list on
        WhatsApp); None when the contact has no recent prompt with that token."""
        if not inbound.prompt_token:
            return None
        payload = await tx.prompt_payload(inbound.channel.value, contact_id, inbound.prompt_token)
        if payload is None:
            return None
        page = [("message", {**payload, LIST_PAGE: inbound.page})]
        return await self._reply(tx, dedupe_prefix, inbound, contact_id, address, page, set())

    async def _apply_effects(
        self,
        tx: Tx,
        result: StepResult,
        contact_id: int,
        channel: str,
        key: str,
        now: datetime,
        wake: set[str],
    ) -> int | None:
        response_id = None
        for effect in result.effects:
            if isinstance(effect, FileComplaint | CitizenComplaintAction):
                wake |= await self._desk_effect(tx, effect, contact_id, channel, now)
            elif isinstance(effect, RecordConsent):
                await tx.record_consent(contact_id, effect.at, effect.notice_version)
            elif isinstance(effect, SetLanguage):
                await tx.set_language(contact_id, effect.language)
            elif isinstance(effect, RememberProfile):
                await tx.remember_profile(contact_id, effect.profile)
            elif isinstance(effect, FollowUpOptIn):
                await opt_in(tx, contact_id, effect.unit_code, effect.period, now)
            elif isinstance(effect, FollowUpOptOut):
                await erase_followups(tx, contact_id)
            elif isinstance(effect, SubmitResponse):
                response_id = await tx.insert_response(effect, channel=channel, respondent_key=key)
        return response_id

    async def _desk_effect(
        self,
        tx: Tx,
        effect: FileComplaint | CitizenComplaintAction,
        contact_id: int,
        channel: str,
        now: datetime,
    ) -> set[str]:
        """A citizen's complaint effect, through the desk: load, pure step, apply."""
        filing = isinstance(effect, FileComplaint)
        desk = await load_desk_context(
            tx,
            now=now,
            settings=self.flow_settings,
            calendar=await self.calendar.get(tx),
            channel=channel,
            contact_id=contact_id,
            ticket=None if filing else effect.ticket,
            unit_code=effect.unit_code if isinstance(effect, FileComplaint) else None,
        )
        if isinstance(effect, FileComplaint):
            acted = filed_notices(desk, effect)
            if not any(isinstance(e, NotifyRecipient) for e in acted.effects):
                log.warning("complaint has no recipient", extra={"unit": effect.unit_code})
        else:
            acted = citizen_step(desk, effect)
        return await apply_desk_effects(tx, acted.effects, now)
