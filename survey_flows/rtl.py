"""The follow-up plan (Rencana Tindak Lanjut, RTL) of issue 17: pure rules, stdlib only.

An item is proposed for each of a unit's three weakest elements once a quarter closes. Then:

- an officer or the head writes the plan: the action, the person responsible, the due date
  (editing the plan again withdraws an approval: the head approves what is planned);
- the head approves the plan;
- an officer or the head reports progress: ``berjalan`` (under way), ``selesai`` (done, with
  evidence: a link, a note or an uploaded file, at least one) or ``tidak_dilaksanakan`` (not
  carried out, with the reason). ``selesai`` and ``tidak_dilaksanakan`` are final.

Evidence files (photos and PDFs) are accepted by their leading bytes, never by their name or
the browser's content type (:func:`evidence_type`, :func:`attach`): a file is stored only as
one of four types the console can name, and served as that type (handlers/web/rtl.py).
Admins read every OPD's plan; only the OPD's own staff change it. Each function answers the
change to make or the errors by the form's field (field -> ``web.rtl.error.*`` key); the
handler audits every change in the same transaction.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from urllib.parse import urlsplit

from survey_flows.catalog import text
from survey_flows.web_desk import photo_type

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
    state: RtlState, role: str, form: Mapping[str, str], files: int = 0
) -> tuple[RtlChange | None, Errors]:
    """A new status with its evidence or reason, by an officer or the head. ``files``: how
    many evidence files the item holds with this change's (one is evidence enough)."""
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
        if not link and not note and not files:
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
    state: RtlState, role: str, form: Mapping[str, str], today: date, files: int = 0
) -> tuple[RtlChange | None, Errors]:
    """The console form's ``op`` (plan, approve, progress) applied to ``state``; ``files``:
    the evidence files the item holds with the form's (see :func:`progress`)."""
    op = form.get("op", "")
    if op == "plan":
        return plan(state, role, form, today)
    if op == "approve":
        return approve(state, role)
    if op == "progress":
        return progress(state, role, form, files)
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
        ops += ["progress", "evidence"]  # evidence: add or remove files
    return tuple(ops)


# --- evidence files ------------------------------------------------------------------------------

EVIDENCE_MAX_BYTES = 5 * 1024 * 1024  # RTL_EVIDENCE_MAX_BYTES's default
EVIDENCE_MAX_FILES = 5  # per item; RTL_EVIDENCE_MAX_FILES's default
EVIDENCE_NAME_MAX = 80


@dataclass(frozen=True, slots=True)
class EvidenceType:
    content_type: str
    extension: str

    @property
    def image(self) -> bool:
        return self.content_type.startswith("image/")


PDF = EvidenceType("application/pdf", ".pdf")
EVIDENCE_TYPES = {
    t.content_type: t
    for t in (EvidenceType("image/jpeg", ".jpg"), EvidenceType("image/png", ".png"),
              EvidenceType("image/webp", ".webp"), PDF)
}  # fmt: skip


def evidence_type(data: bytes) -> EvidenceType | None:
    """The file's type by its leading bytes (its signature): JPEG, PNG, WebP or PDF; None
    for anything else (SVG, HTML, GIF, office documents, an empty file), whatever its name."""
    if data.startswith(b"%PDF-"):
        return PDF
    return EVIDENCE_TYPES.get(photo_type(data) or "")  # photo_type's GIF is not one of them


@dataclass(frozen=True, slots=True)
class EvidenceLimits:
    max_bytes: int = EVIDENCE_MAX_BYTES
    max_files: int = EVIDENCE_MAX_FILES

    def words(self) -> dict[str, object]:
        """The limits as the error texts name them (``{max_mb}``, ``{max_files}``)."""
        return {"max_mb": f"{self.max_bytes / 1024 / 1024:g}", "max_files": self.max_files}


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as the browser sent it: the name it gave (never trusted) and its bytes (read up
    to one byte past the limit, so that a larger file is told apart)."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Evidence:
    """An accepted evidence file, as stored: a safe name, the type its bytes are."""

    name: str
    type: EvidenceType
    data: bytes
    sha256: str


def safe_name(name: str, kind: EvidenceType) -> str:
    """The file's name as stored and offered for download: its last path part, ASCII
    letters, digits, ``-`` and ``_``, at most 80 characters, with the extension of the type
    its bytes are (``../../etc/x.svg.png`` of a JPEG: ``x-svg.jpg``)."""
    last = re.split(r"[\\/]", name)[-1]
    stem = last.rsplit(".", 1)[0] if "." in last else last
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", plain).strip("-_")[:EVIDENCE_NAME_MAX].strip("-_")
    return (cleaned or "bukti") + kind.extension


def _evidence_refused(state: RtlState, role: str) -> str | None:
    """Why files may not be added to or removed from the item now (a catalogue key)."""
    if role not in STAFF_ROLES:
        return "web.rtl.error.not_staff"
    if state.status in FINAL:
        return "web.rtl.error.evidence_closed"
    if not state.approved:
        return "web.rtl.error.not_approved"
    return None


def attach(
    state: RtlState,
    role: str,
    uploads: Sequence[Upload],
    stored: Sequence[str],
    limits: EvidenceLimits,
    *,
    required: bool = False,
) -> tuple[list[Evidence], Errors]:
    """The files of a form, checked for the item (``stored``: the sha256 of the files it
    holds): by the item's staff once the plan is approved and until the item is closed;
    each file a JPEG, PNG, WebP or PDF by its bytes, not empty, within the size, not
    already attached; the item's files within their number. ``required``: the form is for
    files only, so none is an error. All or nothing: one bad file refuses the form."""
    if not uploads and not required:
        return [], {}
    refused = _evidence_refused(state, role)
    if refused is not None:
        return [], {"op": refused}
    if not uploads:
        return [], {"evidence_file": "web.rtl.error.file_none"}
    accepted: list[Evidence] = []
    seen = set(stored)
    for upload in uploads:
        kind = evidence_type(upload.data)
        digest = hashlib.sha256(upload.data).hexdigest()
        if not upload.data:
            error = "web.rtl.error.file_empty"
        elif len(upload.data) > limits.max_bytes:
            error = "web.rtl.error.file_large"
        elif kind is None:
            error = "web.rtl.error.file_type"
        elif digest in seen:
            error = "web.rtl.error.file_twice"
        else:
            seen.add(digest)
            accepted.append(Evidence(safe_name(upload.name, kind), kind, upload.data, digest))
            continue
        return [], {"evidence_file": error}
    if len(stored) + len(accepted) > limits.max_files:
        return [], {"evidence_file": "web.rtl.error.file_many"}
    return accepted, {}


def detach(state: RtlState, role: str) -> Errors:
    """Whether a file may be removed (a wrong upload): as :func:`attach`, until closed."""
    refused = _evidence_refused(state, role)
    return {"op": refused} if refused is not None else {}


NEWS_ACTION_MAX = 300


def followup_news(language: str, unit_name: str, element_code: str, action: str) -> str:
    """The one short message an opted-in citizen gets when an item of their unit is done."""
    shown = action if len(action) <= NEWS_ACTION_MAX else action[: NEWS_ACTION_MAX - 1] + "…"
    try:
        element = text(language, f"element.{element_code}")
    except KeyError:  # an element of the unit's own beyond the nine
        element = element_code
    return text(language, "followup.done", unit=unit_name, element=element, action=shown)
