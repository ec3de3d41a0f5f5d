"""Complaints (pengaduan): ticket numbers, the lifecycle, and who may move a complaint where.

States follow SKM.md §2: DITERIMA (ticket issued) → DIVERIFIKASI → DITINDAKLANJUTI (the unit's
answer sent) → SELESAI, with side exits DITOLAK (with a reason) and DIARSIPKAN. Pure: the clock
and the random ticket bits are parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from survey_flows.workdays import WorkCalendar

# Crockford-like alphabet without look-alikes (0/O, 1/I/L), read out easily over the phone.
TICKET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TICKET_PREFIX = "ADU"
TICKET_BITS = 40  # 31^8 > 2^39: unguessable by enumeration, unique with a database constraint
_TICKET_TEXT = re.compile(r"ADU[\s-]*([A-Z0-9]{4})[\s-]*([A-Z0-9]{4})", re.IGNORECASE)


def format_ticket(random_bits: int) -> str:
    """``ADU-XXXX-XXXX`` from random bits (the caller draws them with ``secrets``)."""
    digits = []
    value = random_bits
    for _ in range(8):
        value, index = divmod(value, len(TICKET_ALPHABET))
        digits.append(TICKET_ALPHABET[index])
    code = "".join(digits)
    return f"{TICKET_PREFIX}-{code[:4]}-{code[4:]}"


def find_ticket(text: str) -> str | None:
    """A ticket number in free text, tolerant of case, spaces and missing dashes."""
    match = _TICKET_TEXT.search(text.upper().replace("O", "0"))
    if match is None:
        return None
    code = (match[1] + match[2]).replace("0", "O")
    if any(ch not in TICKET_ALPHABET for ch in code):
        return None
    return f"{TICKET_PREFIX}-{code[:4]}-{code[4:]}"


class ComplaintStatus(StrEnum):
    DITERIMA = "DITERIMA"
    DIVERIFIKASI = "DIVERIFIKASI"
    DITINDAKLANJUTI = "DITINDAKLANJUTI"
    SELESAI = "SELESAI"
    DITOLAK = "DITOLAK"
    DIARSIPKAN = "DIARSIPKAN"


OPEN_STATUSES = frozenset(
    {ComplaintStatus.DITERIMA, ComplaintStatus.DIVERIFIKASI, ComplaintStatus.DITINDAKLANJUTI}
)


class ComplaintKind(StrEnum):
    PENGADUAN = "pengaduan"
    ASPIRASI = "aspirasi"
    INFORMASI = "informasi"  # permintaan informasi


class Actor(StrEnum):
    OFFICER = "officer"
    HEAD = "head"
    CITIZEN = "citizen"
    SYSTEM = "system"


class Action(StrEnum):
    VERIFY = "verify"
    ANSWER = "answer"
    REJECT = "reject"
    FINISH = "finish"
    REOPEN = "reopen"
    ARCHIVE = "archive"


REJECTION_REASONS = ("bukan_kewenangan", "tidak_lengkap", "bukan_pengaduan")

_STAFF = frozenset({Actor.OFFICER, Actor.HEAD})
# (from, action) -> (to, who may do it)
TRANSITIONS: dict[tuple[ComplaintStatus, Action], tuple[ComplaintStatus, frozenset[Actor]]] = {
    (ComplaintStatus.DITERIMA, Action.VERIFY): (ComplaintStatus.DIVERIFIKASI, _STAFF),
    (ComplaintStatus.DITERIMA, Action.REJECT): (ComplaintStatus.DITOLAK, _STAFF),
    (ComplaintStatus.DIVERIFIKASI, Action.ANSWER): (ComplaintStatus.DITINDAKLANJUTI, _STAFF),
    (ComplaintStatus.DIVERIFIKASI, Action.REJECT): (ComplaintStatus.DITOLAK, _STAFF),
    (ComplaintStatus.DITINDAKLANJUTI, Action.ANSWER): (ComplaintStatus.DITINDAKLANJUTI, _STAFF),
    (ComplaintStatus.DITINDAKLANJUTI, Action.FINISH): (
        ComplaintStatus.SELESAI,
        _STAFF | {Actor.SYSTEM},
    ),
    (ComplaintStatus.DITINDAKLANJUTI, Action.REOPEN): (
        ComplaintStatus.DIVERIFIKASI,
        frozenset({Actor.CITIZEN}),
    ),
    (ComplaintStatus.SELESAI, Action.REOPEN): (
        ComplaintStatus.DIVERIFIKASI,
        frozenset({Actor.CITIZEN}),
    ),
    (ComplaintStatus.SELESAI, Action.ARCHIVE): (
        ComplaintStatus.DIARSIPKAN,
        frozenset({Actor.HEAD, Actor.SYSTEM}),
    ),
    (ComplaintStatus.DITOLAK, Action.ARCHIVE): (
        ComplaintStatus.DIARSIPKAN,
        frozenset({Actor.HEAD, Actor.SYSTEM}),
    ),
}


@dataclass(frozen=True, slots=True)
class ComplaintView:
    """A complaint as a citizen's conversation sees it (their own complaints only)."""

    ticket: str
    unit_name: str
    kind: ComplaintKind
    status: ComplaintStatus
    filed_at: datetime
    verify_by: datetime
    answer_by: datetime
    last_answer: str | None = None
    reopen_until: datetime | None = None
    rated: bool = False


@dataclass(frozen=True, slots=True)
class Limits:
    """Time limits in working days (SKM.md §2 defaults; all configuration)."""

    verify_days: int = 3
    answer_days: int = 5
    citizen_response_days: int = 10
    reopen_days: int = 10


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of asking for an action: the new status, or why not."""

    to: ComplaintStatus | None
    error: str | None = None  # catalogue key


def transition(
    status: ComplaintStatus,
    action: Action,
    actor: Actor,
    *,
    note: str | None = None,
    reopen_until: datetime | None = None,
    now: datetime | None = None,
) -> Transition:
    """Whether ``actor`` may take ``action`` on a complaint in ``status``, and where it goes."""
    rule = TRANSITIONS.get((status, action))
    if rule is None:
        return Transition(None, "complaint.error.state")
    target, allowed = rule
    if actor not in allowed:
        return Transition(None, "complaint.error.forbidden")
    if action is Action.REJECT and note not in REJECTION_REASONS:
        return Transition(None, "complaint.error.reason")
    if action is Action.ANSWER and not (note and note.strip()):
        return Transition(None, "complaint.error.answer_empty")
    if action is Action.REOPEN and (reopen_until is None or now is None or now > reopen_until):
        return Transition(None, "complaint.error.reopen_late")
    return Transition(target)


@dataclass(frozen=True, slots=True)
class Deadlines:
    verify_by: datetime
    answer_by: datetime


def deadlines(
    filed_at: datetime, calendar: WorkCalendar, limits: Limits, zone: tzinfo
) -> Deadlines:
    """Due times from the filing moment: verification, then the unit's answer after that."""
    verify_by = calendar.due_at(filed_at, limits.verify_days, zone)
    answer_by = calendar.due_at(filed_at, limits.verify_days + limits.answer_days, zone)
    return Deadlines(verify_by, answer_by)


def reopen_deadline(
    answered_at: datetime, calendar: WorkCalendar, limits: Limits, zone: tzinfo
) -> datetime:
    """Until when the citizen may reopen a complaint after the unit's answer."""
    return calendar.due_at(answered_at, limits.reopen_days, zone)


def due_tomorrow(due: datetime, now: datetime, zone: tzinfo) -> bool:
    """True when the last day of ``due`` (which ends at midnight) is tomorrow, locally."""
    last_day = (due - timedelta(microseconds=1)).astimezone(zone).date()
    return last_day == now.astimezone(zone).date() + timedelta(days=1)
