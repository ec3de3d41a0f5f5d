"""What officers and heads do in chat, and the messages complaints send. Pure.

Officers act on a complaint by tapping the buttons of its notification (``ox:<action>:<ticket>``),
by replying to the notification (Telegram quotes its text, which names the ticket; WhatsApp only
its id, which storage maps to the ticket), or by commands (one mapping, ``_COMMANDS``):
``TANGGAPI <ticket> <answer>``, ``VERIFIKASI <ticket>``, ``SELESAI <ticket>``, ``TOLAK <ticket>``
(with or without a slash, on every channel: see ``survey_flows.commands``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from survey_flows.catalog import text
from survey_flows.commands import Command, text_after_words
from survey_flows.complaint_flow import TICKET_TOKEN
from survey_flows.complaints import REJECTION_REASONS, Action, ComplaintStatus, find_ticket
from survey_flows.dates import deadline_words
from survey_flows.types import Choice, Inbound, InboundKind, Outbound

OFFICER_TOKEN = "o"
_COMMANDS: dict[str, Action] = {
    Command.TANGGAPI: Action.ANSWER,
    Command.VERIFIKASI: Action.VERIFY,
    Command.SELESAI: Action.FINISH,
    Command.TOLAK: Action.REJECT,
}


@dataclass(frozen=True, slots=True)
class OfficerRequest:
    """An officer's intent; ``action`` None with ``ticket`` means "explain how"."""

    ticket: str | None
    action: Action | None
    note: str | None = None
    ask: str | None = None  # "answer" (how to answer) or "reason" (choose a rejection reason)
    quoted: bool = False  # a reply quoting a notification: a normal message unless from staff


def officer_request(inbound: Inbound, quoted_ticket: str | None = None) -> OfficerRequest | None:
    """The officer action in ``inbound``, or None when it is not one (a normal chat message).

    ``quoted_ticket`` is the ticket of the notification a reply quotes when the channel names
    only the quoted message (WhatsApp: storage finds it through the outbox row that carried it).
    """
    if inbound.kind is InboundKind.CHOICE and inbound.prompt_token == OFFICER_TOKEN:
        head, _, rest = (inbound.choice_id or "").partition(":")
        action_name, _, ticket_part = rest.partition(":")
        ticket = find_ticket(ticket_part.split(":")[0]) if head == "ox" else None
        if action_name == "answer":
            return OfficerRequest(ticket, None, ask="answer")
        if action_name == "reject":
            return OfficerRequest(ticket, None, ask="reason")
        if action_name == "rejectwhy":
            return OfficerRequest(ticket, Action.REJECT, note=ticket_part.split(":")[-1])
        action = {"verify": Action.VERIFY, "finish": Action.FINISH}.get(action_name)
        return OfficerRequest(ticket, action)
    if inbound.kind is InboundKind.COMMAND and inbound.command in _COMMANDS:
        args = list(inbound.command_args)
        ticket = find_ticket(args[0]) if args else None
        typed = inbound.command_text if inbound.command_text is not None else " ".join(args)
        note = text_after_words(typed, 1) or None  # the answer as typed, lines kept
        action = _COMMANDS[inbound.command]
        if action is Action.REJECT:
            reason: str | None = note if note in REJECTION_REASONS else None
            return OfficerRequest(
                ticket,
                Action.REJECT if reason else None,
                note=reason,
                ask=None if reason else "reason",
            )
        return OfficerRequest(ticket, action, note=note)
    if inbound.kind is InboundKind.TEXT and inbound.text:
        ticket = find_ticket(inbound.quoted_text) if inbound.quoted_text else quoted_ticket
        if ticket is not None:
            return OfficerRequest(ticket, Action.ANSWER, note=inbound.text.strip(), quoted=True)
    return None


def quoted_ticket_wanted(inbound: Inbound) -> str | None:
    """The platform id of the message a text replies to, when only storage can tell its ticket."""
    if inbound.kind is InboundKind.TEXT and inbound.message_ref and not inbound.quoted_text:
        return inbound.message_ref
    return None


def officer_buttons(
    ticket: str, status: ComplaintStatus, language: str, *, may_answer: bool = True
) -> tuple[Choice, ...]:
    """The actions that make sense for the complaint's current status (and for the reader: a
    head whose OPD has officers does not answer citizens)."""

    def button(action: str) -> Choice:
        return Choice(f"ox:{action}:{ticket}", text(language, f"officer.{action}"))

    answer = (button("answer"),) if may_answer else ()
    if status is ComplaintStatus.DITERIMA:
        return (button("verify"), button("reject"))
    if status is ComplaintStatus.DIVERIFIKASI:
        return (*answer, button("reject"))
    if status is ComplaintStatus.DITINDAKLANJUTI:
        return (*answer, button("finish"))
    return ()


def new_complaint_message(
    *,
    ticket: str,
    unit: str,
    kind: str,
    description: str,
    anonymous: bool,
    channel: str,
    photos: int,
    location: tuple[float, float] | None,
    verify_by: datetime,
    zone: tzinfo,
    language: str,
) -> Outbound:
    """The officers' notification of a new complaint. Never the citizen's identity."""
    reporter = (
        text(language, "officer.reporter.anonymous")
        if anonymous
        else text(language, "officer.reporter.known", channel=channel.capitalize())
    )
    body = text(
        language,
        "officer.new",
        ticket=ticket,
        unit=unit,
        kind=text(language, f"complaint.kind.{kind}"),
        reporter=reporter,
        verify_by=deadline_words(verify_by, zone, language),
        description=description,
    )
    extra = []
    if photos:
        extra.append(text(language, "officer.photos", count=photos))
    if location:
        extra.append(
            text(language, "officer.location", lat=f"{location[0]:.5f}", lon=f"{location[1]:.5f}")
        )
    if extra:
        body = body + "\n" + "\n".join(extra)
    buttons = officer_buttons(ticket, ComplaintStatus.DITERIMA, language)
    return Outbound(body, buttons, OFFICER_TOKEN, language=language)


def reason_prompt(ticket: str, language: str) -> Outbound:
    choices = tuple(
        Choice(f"ox:rejectwhy:{ticket}:{reason}", text(language, f"complaint.reason.{reason}"))
        for reason in REJECTION_REASONS
    )
    return Outbound(
        text(language, "officer.reject.why", ticket=ticket),
        choices,
        OFFICER_TOKEN,
        language=language,
    )


def citizen_notice(
    *,
    ticket: str,
    unit: str,
    status: ComplaintStatus,
    note: str | None,
    language: str,
    reopen_until: datetime | None,
    zone: tzinfo,
) -> list[Outbound]:
    """What the citizen is told when their complaint changes; the finish asks for a rating."""
    shown_note = note or ""
    if status is ComplaintStatus.DITOLAK and note:
        shown_note = text(language, f"complaint.reason.{note}")
    messages = [
        Outbound(
            text(
                language,
                f"complaint.notify.{status.value}",
                ticket=ticket,
                unit=unit,
                note=shown_note,
            ),
            language=language,
        )
    ]
    if status is ComplaintStatus.SELESAI:
        until = deadline_words(reopen_until, zone, language) if reopen_until else "-"
        messages.append(
            Outbound(
                text(language, "complaint.rate.prompt", ticket=ticket, until=until),
                (
                    Choice(f"rate:{ticket}:good", text(language, "complaint.rate.good")),
                    Choice(f"rate:{ticket}:poor", text(language, "complaint.rate.poor")),
                    Choice(f"reopen:{ticket}", text(language, "complaint.rate.reopen")),
                ),
                TICKET_TOKEN,
                language=language,
            )
        )
    return messages
