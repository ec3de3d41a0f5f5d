"""The citizen's complaint flow and the officer's inputs, pure (no database)."""

from __future__ import annotations

from datetime import timedelta

from survey_flows.complaint_flow import TICKET_TOKEN
from survey_flows.complaints import Action, ComplaintStatus
from survey_flows.officer import OFFICER_TOKEN, officer_request
from survey_flows.types import (
    CitizenComplaintAction,
    FileComplaint,
    InboundKind,
    InputRejected,
)
from tests.support.complaint_chat import DESCRIPTION, NOW, TICKET, Chat, inbound, view


def test_filing_collects_every_answer_and_issues_the_drawn_ticket() -> None:
    chat = Chat()
    chat.send(InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    chat.say("3")  # permintaan informasi
    chat.say(DESCRIPTION)
    chat.send(InboundKind.MEDIA, media_ref="photo-1")
    chat.send(InboundKind.MEDIA, media_ref="photo-2")
    chat.say("lanjut")
    chat.send(InboundKind.LOCATION, location=(-4.5468, 136.8837))
    chat.say("ya")  # anonymous
    chat.say("tidak")  # not confidential
    result = chat.say("kirim")
    [filed] = [e for e in result.effects if isinstance(e, FileComplaint)]
    assert filed.ticket == TICKET and filed.kind == "informasi"
    assert filed.description == DESCRIPTION
    assert filed.photos == ("photo-1", "photo-2")
    assert filed.location == (-4.5468, 136.8837)
    assert (filed.anonymous, filed.confidential) == (True, False)
    assert filed.verify_by < filed.answer_by
    assert TICKET in result.outbound[0].text


def test_a_too_short_description_is_asked_again_and_nothing_changes() -> None:
    chat = Chat()
    chat.send(InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    chat.say("1")
    before = chat.state
    result = chat.say("jelek")
    assert chat.state == before
    assert any(isinstance(e, InputRejected) for e in result.effects)


def test_a_citizen_sees_only_their_own_tickets() -> None:
    mine = Chat((view(ComplaintStatus.DIVERIFIKASI),))
    shown = mine.say(f"status {TICKET.lower()}")
    assert "Status: Diverifikasi" in shown.outbound[0].text
    stranger = Chat()
    refused = stranger.say(f"STATUS {TICKET}")
    assert "tidak ditemukan" in refused.outbound[0].text
    assert TICKET in refused.outbound[0].text and "Loket" not in refused.outbound[0].text


def test_rating_once_and_reopening_only_in_time() -> None:
    finished = view(ComplaintStatus.SELESAI, reopen_until=NOW + timedelta(days=3))
    chat = Chat((finished,))
    rated = chat.send(InboundKind.CHOICE, choice_id=f"rate:{TICKET}:good",
                      prompt_token=TICKET_TOKEN)  # fmt: skip
    assert rated.effects == (CitizenComplaintAction(TICKET, "rate_good", NOW),)
    late = Chat((view(ComplaintStatus.SELESAI, reopen_until=NOW - timedelta(seconds=1)),))
    refused = late.send(InboundKind.CHOICE, choice_id=f"reopen:{TICKET}",
                        prompt_token=TICKET_TOKEN)  # fmt: skip
    assert isinstance(refused.effects[0], InputRejected)
    other = Chat()  # a button for somebody else's ticket
    forged = other.send(InboundKind.CHOICE, choice_id=f"reopen:{TICKET}",
                        prompt_token=TICKET_TOKEN)  # fmt: skip
    assert isinstance(forged.effects[0], InputRejected)


def test_officer_inputs_are_recognised_and_others_are_not() -> None:
    tap = officer_request(inbound(InboundKind.CHOICE, choice_id=f"ox:verify:{TICKET}",
                                  prompt_token=OFFICER_TOKEN))  # fmt: skip
    assert tap is not None and (tap.ticket, tap.action) == (TICKET, Action.VERIFY)
    why = officer_request(inbound(InboundKind.CHOICE, prompt_token=OFFICER_TOKEN,
                                  choice_id=f"ox:rejectwhy:{TICKET}:tidak_lengkap"))  # fmt: skip
    assert why is not None and (why.action, why.note) == (Action.REJECT, "tidak_lengkap")
    args = (TICKET.lower(), "Sudah", "diperbaiki")
    answer = officer_request(inbound(InboundKind.COMMAND, command="tanggapi", command_args=args))
    assert answer is not None and answer.note == "Sudah diperbaiki"
    reply = officer_request(inbound(InboundKind.TEXT, text="Kami cek besok.",
                                    quoted_text=f"Pengaduan baru {TICKET} untuk ..."))  # fmt: skip
    assert reply is not None and (reply.ticket, reply.action) == (TICKET, Action.ANSWER)
    assert officer_request(inbound(InboundKind.TEXT, text="halo")) is None
    assert officer_request(inbound(InboundKind.CHOICE, choice_id="4", prompt_token="3")) is None


def test_which_inputs_load_the_citizens_complaints() -> None:
    from handlers.dispatcher import _may_need_complaints

    assert not _may_need_complaints(inbound(InboundKind.CHOICE, choice_id="4", prompt_token="9"))
    assert _may_need_complaints(inbound(InboundKind.CHOICE, choice_id="status", prompt_token="2"))
    rate = inbound(InboundKind.CHOICE, choice_id=f"rate:{TICKET}:good", prompt_token=TICKET_TOKEN)
    assert _may_need_complaints(rate)
    assert _may_need_complaints(inbound(InboundKind.TEXT, text=f"status {TICKET}"))
