"""The web desk's pure rules: filters, order, the form turned into the chat's request, and
the actions offered being the chat's buttons for the same person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from survey_flows.complaints import Action, ComplaintStatus
from survey_flows.desk import HEAD, OFFICER, DeskComplaint, DeskContext, Staff, desk_actions
from survey_flows.engine import FlowSettings
from survey_flows.web_desk import (
    DeskFilter,
    age_days,
    form_request,
    map_link,
    parse_filter,
    photo_type,
)
from survey_flows.workdays import WorkCalendar

NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)
TICKET = "ADU-ABCD-EFGH"
UNITS = frozenset({"dukcapil-mpp"})


def test_the_filter_defaults_to_open_complaints_and_names_bad_values() -> None:
    assert parse_filter({}, UNITS) == (DeskFilter(), {})
    chosen, errors = parse_filter({"status": "DITOLAK", "unit": "dukcapil-mpp",
                                   "overdue": "1"}, UNITS)  # fmt: skip
    assert chosen == DeskFilter("DITOLAK", "dukcapil-mpp", True) and errors == {}
    assert chosen.statuses == (ComplaintStatus.DITOLAK,)
    chosen, errors = parse_filter({"status": "HILANG", "unit": "rsud-igd"}, UNITS)
    assert chosen == DeskFilter() and set(errors) == {"status", "unit"}
    assert DeskFilter("semua").statuses is None
    assert ComplaintStatus.SELESAI not in (DeskFilter().statuses or ())


def test_ages_count_local_days_and_the_map_link_centres_on_the_place() -> None:
    assert age_days(NOW - timedelta(hours=1), NOW, UTC) == 0
    assert age_days(NOW - timedelta(days=3), NOW, UTC) == 3
    assert map_link(-4.546123, 136.888349) == (
        "https://www.openstreetmap.org/?mlat=-4.54612&mlon=136.88835#map=17/-4.54612/136.88835"
    )


def test_the_form_becomes_the_chats_request_or_errors_by_the_field() -> None:
    request, errors = form_request(TICKET.lower(), {"action": "verify"})
    assert request is not None and (request.ticket, request.action) == (TICKET, Action.VERIFY)
    request, errors = form_request(TICKET, {"action": "answer", "answer": " a\r\nb "})
    assert request is not None and request.note == "a\nb"
    assert form_request(TICKET, {"action": "answer", "answer": "  "}) == (
        None, {"answer": "web.desk.error.answer_empty"})  # fmt: skip
    assert form_request(TICKET, {"action": "reject", "reason": "bosan"})[1] == {
        "reason": "web.desk.error.reason"
    }
    request, _ = form_request(TICKET, {"action": "reject", "reason": "tidak_lengkap"})
    assert request is not None and request.note == "tidak_lengkap"
    assert form_request(TICKET, {"action": "delete"})[1] == {"action": "web.desk.error.action"}
    assert form_request("not-a-ticket", {"action": "verify"})[0] is None


def _desk(
    status: ComplaintStatus, sender: tuple[Staff, ...], staff: tuple[Staff, ...]
) -> DeskContext:
    complaint = DeskComplaint(TICKET, "Loket", 1, 5, "telegram", "pengaduan", "x", False, "id",
                              status, NOW, NOW)  # fmt: skip
    return DeskContext(now=NOW, settings=FlowSettings(), calendar=WorkCalendar.of(frozenset()),
                       sender=sender, complaint=complaint, staff=staff)  # fmt: skip


def test_the_actions_offered_are_the_chats_buttons_for_that_person() -> None:
    officer = Staff(1, 1, OFFICER, "telegram")
    head = Staff(2, 1, HEAD, "telegram")
    other = Staff(3, 2, OFFICER, "telegram")
    both = (officer, head)
    assert desk_actions(_desk(ComplaintStatus.DITERIMA, (officer,), both)) == ("verify", "reject")
    assert desk_actions(_desk(ComplaintStatus.DIVERIFIKASI, (officer,), both)) == (
        "answer", "reject")  # fmt: skip
    # A head whose OPD has an officer does not answer; without officers they do.
    assert desk_actions(_desk(ComplaintStatus.DIVERIFIKASI, (head,), both)) == ("reject",)
    assert desk_actions(_desk(ComplaintStatus.DIVERIFIKASI, (head,), (head,))) == (
        "answer", "reject")  # fmt: skip
    assert desk_actions(_desk(ComplaintStatus.DIVERIFIKASI, (other,), both)) == ()
    assert desk_actions(_desk(ComplaintStatus.SELESAI, (officer,), both)) == ()
    assert desk_actions(_desk(ComplaintStatus.DITERIMA, (), both)) == ()


def test_only_images_named_by_their_bytes_are_served() -> None:
    assert photo_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert photo_type(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert photo_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert photo_type(b"<html><script>") is None
    assert photo_type(b"") is None
