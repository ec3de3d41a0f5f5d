"""The follow-up plan (Rencana Tindak Lanjut, RTL) of issue 17: pure rules, stdlib only.

An item is proposed for each of a unit's three weakest elements once a quarter closes. Then:

- an officer or the head writes the plan: the action, the person responsible, the due date
  (editing the plan again withdraws an approval: the head approves what is planned);
- the head approves the plan;
- an officer or the head reports progress: ``berjalan`` (under way), ``selesai`` (done, with
  evidence: a link or a note, at least one) or ``tidak_dilaksanakan`` (not carried out, with
  the reason). ``selesai`` and ``tidak_dilaksanakan`` are final.

Evidence is a link (to a photo, a document or a news item kept where the OPD keeps its files)
and/or a note: the console stores no uploaded files (nothing to scan, serve or execute).
Admins read every OPD's plan; only the OPD's own staff change it. Each function answers the
change to make or the errors by the form's field (field -> ``web.rtl.error.*`` key); the
handler audits every change in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from urllib.parse import urlsplit

from survey_flows.catalog import text

WEAKEST_PROPOSED = 3
ACTION_MAX = 1000
RESPONSIBLE_MAX = 120
NOTE_MAX = 1000
LINK_MAX = 500
# A plan is for the coming months, not the coming decade.
DUE_MAX_DAYS = 2 * 366


class RtlStatus(StrEnum):
    DIRENCANAKAN = "direncanakan"
    BERJALAN = "berjalan"
    SELESAI = "selesai"
    TIDAK_DILAKSANAKAN = "tidak_dilaksanakan"


FINAL = frozenset({RtlStatus.SELESAI, RtlStatus.TIDAK_DILAKSANAKAN})
STAFF_ROLES = frozenset({"head", "officer"})


@dataclass(frozen=True, slots=True)
class RtlState:
    """What the rules need of an item (``storage.rtl`` reads it)."""

    status: RtlStatus
    action: str | None = None
    responsible: str | None = None
    due_date: date | None = None
    approved: bool = False
    evidence_link: str | None = None
    evidence_note: str | None = None
    reason: str | None = None

    @property
    def planned(self) -> bool:
        return bool(self.action and self.responsible and self.due_date)


@dataclass(frozen=True, slots=True)
class RtlChange:
    """The item after a change, and the audit line's words (``plan``, ``approve``,
    ``status: direncanakan->berjalan``)."""

    after: RtlState
    what: str

    @property
    def approved_now(self) -> bool:
        return self.what == "approve"

    @property
    def done_now(self) -> bool:
        return self.after.status is RtlStatus.SELESAI and self.what.startswith("status")


Errors = dict[str, str]


def is_overdue(state: RtlState, today: date) -> bool:
    """Past its due date and neither done nor dropped."""
    return state.status not in FINAL and state.due_date is not None and today > state.due_date


def _text(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "").replace("\r\n", "\n").strip()


def plan(
    state: RtlState, role: str, form: Mapping[str, str], today: date
) -> tuple[RtlChange | None, Errors]:
    """The plan written by an officer or the head (while nothing has started)."""
    if role not in STAFF_ROLES:
        return None, {"op": "web.rtl.error.not_staff"}
    if state.status is not RtlStatus.DIRENCANAKAN:
        return None, {"op": "web.rtl.error.started"}
    errors: Errors = {}
    action, responsible = _text(form, "action"), _text(form, "responsible")
    if not action:
        errors["action"] = "web.rtl.error.action_empty"
    elif len(action) > ACTION_MAX:
        errors["action"] = "web.rtl.error.action_long"
    if not responsible:
        errors["responsible"] = "web.rtl.error.responsible_empty"
    elif len(responsible) > RESPONSIBLE_MAX:
        errors["responsible"] = "web.rtl.error.responsible_long"
    due = _date(_text(form, "due_date"))
    if due is None:
        errors["due_date"] = "web.rtl.error.due_date"
    elif due < today or (due - today).days > DUE_MAX_DAYS:
        errors["due_date"] = "web.rtl.error.due_range"
    if errors:
        return None, errors
    unchanged = (action, responsible, due) == (state.action, state.responsible, state.due_date)
    after = replace(state, action=action, responsible=responsible, due_date=due,
                    approved=state.approved and unchanged)  # fmt: skip
    return RtlChange(after, "plan"), {}


def approve(state: RtlState, role: str) -> tuple[RtlChange | None, Errors]:
    """The head approves a complete plan."""
    if role != "head":
        return None, {"op": "web.rtl.error.head_only"}
    if state.status is not RtlStatus.DIRENCANAKAN:
        return None, {"op": "web.rtl.error.started"}
    if not state.planned:
        return None, {"op": "web.rtl.error.not_planned"}
    if state.approved:
        return None, {"op": "web.rtl.error.already_approved"}
    return RtlChange(replace(state, approved=True), "approve"), {}


def progress(
    state: RtlState, role: str, form: Mapping[str, str]
) -> tuple[RtlChange | None, Errors]:
    """A new status with its evidence or reason, by an officer or the head."""
    if role not in STAFF_ROLES:
        return None, {"op": "web.rtl.error.not_staff"}
    try:
        wanted = RtlStatus(form.get("status", ""))
    except ValueError:
        return None, {"status": "web.rtl.error.status"}
    if state.status in FINAL:
        return None, {"op": "web.rtl.error.final"}
    if not state.approved:
        return None, {"op": "web.rtl.error.not_approved"}
    if wanted is RtlStatus.DIRENCANAKAN or wanted is state.status:
        return None, {"status": "web.rtl.error.status"}
    errors: Errors = {}
    after = replace(state, status=wanted)
    if wanted is RtlStatus.SELESAI:
        link, note = _text(form, "evidence_link"), _text(form, "evidence_note")
        if link and not _web_link(link):
            errors["evidence_link"] = "web.rtl.error.link"
        if len(note) > NOTE_MAX:
            errors["evidence_note"] = "web.rtl.error.note_long"
        if not link and not note:
            errors["evidence_link"] = "web.rtl.error.evidence"
        after = replace(after, evidence_link=link or None, evidence_note=note or None)
    elif wanted is RtlStatus.TIDAK_DILAKSANAKAN:
        reason = _text(form, "reason")
        if not reason:
            errors["reason"] = "web.rtl.error.reason"
        elif len(reason) > NOTE_MAX:
            errors["reason"] = "web.rtl.error.note_long"
        after = replace(after, reason=reason or None)
    if errors:
        return None, errors
    return RtlChange(after, f"status: {state.status.value}->{wanted.value}"), {}


def step(
    state: RtlState, role: str, form: Mapping[str, str], today: date
) -> tuple[RtlChange | None, Errors]:
    """The console form's ``op`` (plan, approve, progress) applied to ``state``."""
    op = form.get("op", "")
    if op == "plan":
        return plan(state, role, form, today)
    if op == "approve":
        return approve(state, role)
    if op == "progress":
        return progress(state, role, form)
    return None, {"op": "web.rtl.error.op"}


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _web_link(value: str) -> bool:
    """An http(s) link of a sensible length (shown as a link: no ``javascript:``)."""
    if len(value) > LINK_MAX or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One RTL item to propose: a unit's weak element and its NRR in the closed quarter."""

    unit_code: str
    element_code: str
    nrr: str | None


def proposals(
    weakest: Mapping[str, list[tuple[str, str | None]]], n: int = WEAKEST_PROPOSED
) -> list[Proposal]:
    """Per unit (code -> its elements weakest first, with their NRR), the ``n`` weakest."""
    return [
        Proposal(unit, code, nrr)
        for unit, elements in weakest.items()
        for code, nrr in elements[:n]
    ]


def available(state: RtlState, role: str) -> tuple[str, ...]:
    """The forms the console shows this person for the item (``op`` values)."""
    if role not in STAFF_ROLES:
        return ()
    ops: list[str] = []
    if state.status is RtlStatus.DIRENCANAKAN:
        ops.append("plan")
        if role == "head" and state.planned and not state.approved:
            ops.append("approve")
    if state.approved and state.status not in FINAL:
        ops.append("progress")
    return tuple(ops)


NEWS_ACTION_MAX = 300


def followup_news(language: str, unit_name: str, element_code: str, action: str) -> str:
    """The one short message an opted-in citizen gets when an item of their unit is done."""
    shown = action if len(action) <= NEWS_ACTION_MAX else action[: NEWS_ACTION_MAX - 1] + "…"
    try:
        element = text(language, f"element.{element_code}")
    except KeyError:  # an element of the unit's own beyond the nine
        element = element_code
    return text(language, "followup.done", unit=unit_name, element=element, action=shown)
