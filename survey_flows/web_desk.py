"""The web complaint desk's pure rules (issue 16): filters, order, deadlines, and a web form
turned into the same :class:`OfficerRequest` the chat makes.

The officer's action itself is :func:`survey_flows.desk.officer_step`, exactly as in the chat:
the web adds no rule of its own about who may verify, reject, answer or finish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from survey_flows.complaints import (
    OPEN_STATUSES,
    REJECTION_REASONS,
    Action,
    ComplaintStatus,
    find_ticket,
)
from survey_flows.officer import OfficerRequest

# The filter's status choices: "terbuka" (every open status, the default), "semua", or one.
OPEN = "terbuka"
ALL = "semua"
STATUS_CHOICES: tuple[str, ...] = (OPEN, ALL, *(s.value for s in ComplaintStatus))
# The web form's actions (the chat's buttons: ``ox:<action>:<ticket>``).
FORM_ACTIONS: dict[str, Action] = {
    "verify": Action.VERIFY,
    "reject": Action.REJECT,
    "answer": Action.ANSWER,
    "finish": Action.FINISH,
}


@dataclass(frozen=True, slots=True)
class DeskFilter:
    """What the list shows: a status choice, one unit (its code) or all, overdue only."""

    status: str = OPEN
    unit: str | None = None
    overdue: bool = False

    @property
    def statuses(self) -> tuple[ComplaintStatus, ...] | None:
        """The statuses to read; None for every status."""
        if self.status == ALL:
            return None
        if self.status == OPEN:
            return tuple(s for s in ComplaintStatus if s in OPEN_STATUSES)
        return (ComplaintStatus(self.status),)


def parse_filter(
    query: Mapping[str, str], units: frozenset[str]
) -> tuple[DeskFilter, dict[str, str]]:
    """The list's filter from a query string; unknown values fall back to the default and
    are named in the errors (field -> catalogue key) so the page can say so by the field."""
    errors: dict[str, str] = {}
    status = query.get("status", OPEN) or OPEN
    if status not in STATUS_CHOICES:
        errors["status"] = "web.desk.error.status"
        status = OPEN
    unit: str | None = query.get("unit", "") or None
    if unit is not None and unit not in units:
        errors["unit"] = "web.desk.error.unit"
        unit = None
    overdue = query.get("overdue", "") in {"1", "on", "ya", "true"}
    return DeskFilter(status, unit, overdue), errors


def current_due(
    status: ComplaintStatus, verify_by: datetime, answer_by: datetime
) -> datetime | None:
    """The limit the complaint's current stage runs against (None once answered or closed)."""
    if status is ComplaintStatus.DITERIMA:
        return verify_by
    if status is ComplaintStatus.DIVERIFIKASI:
        return answer_by
    return None


def is_overdue(
    status: ComplaintStatus, verify_by: datetime, answer_by: datetime, now: datetime
) -> bool:
    due = current_due(status, verify_by, answer_by)
    return due is not None and now >= due


def age_days(filed_at: datetime, now: datetime, zone: tzinfo) -> int:
    """Calendar days since the complaint was filed (0 on the day itself), local time."""
    return max(0, (now.astimezone(zone).date() - filed_at.astimezone(zone).date()).days)


def map_link(latitude: float, longitude: float) -> str:
    """An OpenStreetMap link centred on the place (opens outside the console)."""
    lat, lon = f"{latitude:.5f}", f"{longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def form_request(
    ticket: str, form: Mapping[str, str]
) -> tuple[OfficerRequest | None, dict[str, str]]:
    """The officer request a desk form makes, or the errors to show by its fields
    (field -> catalogue key). Length limits and who may act are the desk's own checks."""
    found = find_ticket(ticket)
    action = FORM_ACTIONS.get(form.get("action", ""))
    if found is None or action is None:
        return None, {"action": "web.desk.error.action"}
    if action is Action.REJECT:
        reason = form.get("reason", "")
        if reason not in REJECTION_REASONS:
            return None, {"reason": "web.desk.error.reason"}
        return OfficerRequest(found, action, note=reason), {}
    if action is Action.ANSWER:
        answer = form.get("answer", "").replace("\r\n", "\n").strip()
        if not answer:
            return None, {"answer": "web.desk.error.answer_empty"}
        return OfficerRequest(found, action, note=answer), {}
    return OfficerRequest(found, action), {}


_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
)


def photo_type(data: bytes) -> str | None:
    """The image type of a photo's bytes by their signature (JPEG, PNG, WebP, GIF), or None:
    the console serves nothing it cannot name as an image."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _IMAGE_SIGNATURES if data.startswith(magic)), None)
