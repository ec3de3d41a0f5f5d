"""Personal data typed into free text is masked before it is stored or leaves the complaint desk.

A suggestion is part of a pseudonymous answer: a phone number, NIK or e-mail address in it would
identify the respondent, so it is masked at write time (chat, WhatsApp Flow and paper alike) and
again on the way out for answers stored before that rule. A complaint's description stays whole
on the desk (the unit needs it to act) but the recap that leaves the desk masks it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from reports.build import ReportRequest, build_report
from reports.complaints_recap import detail_rows
from reports.paper_import import parse_paper_csv
from reports.period import parse_period
from storage import Storage
from storage.complaints import ComplaintRow
from storage.models import SurveyResponse
from survey_flows.complaints import ComplaintStatus
from survey_flows.personal_data import MASK, mask_optional
from tests.support.directory import load_small_directory
from tests.support.paper_import import DIRECTORY, HEADER, TODAY
from tests.support.paper_reports import ORGANISATION, add_chat_response
from tests.support.survey_chat import all_scores, answer_everything, chat_at, texts

TYPED = "Petugas ramah. Hubungi saya 0812-3456-7890 atau budi@contoh.id, NIK 9109012345678901."
MASKED = f"Petugas ramah. Hubungi saya {MASK} atau {MASK}, NIK {MASK}."


def test_mask_optional_keeps_absent_text_absent() -> None:
    assert mask_optional(None) is None
    assert mask_optional("") == ""
    assert mask_optional(TYPED) == MASKED


def test_the_chat_survey_stores_the_suggestion_masked_and_the_summary_shows_it() -> None:
    chat = chat_at("q:U1")
    answer_everything(chat, all_scores(3), suggestion=TYPED)
    summary = "\n".join(texts(chat.last))
    assert "0812-3456-7890" not in summary and MASKED[:40] in summary
    assert "0812" not in chat.raw  # nor is it kept in the conversation
    chat.tap("submit")
    assert chat.submitted().suggestion == MASKED


def test_paper_suggestions_are_masked_on_import() -> None:
    text = "\n".join(
        [HEADER, f'dukcapil-mpp,2026-01-05,,,,,,4,4,4,4,4,4,4,4,4,"{TYPED}"'],
    )
    checked = parse_paper_csv(text, DIRECTORY, TODAY)
    assert checked.errors == ()
    assert checked.responses[0].suggestion == MASKED


async def test_reports_mask_suggestions_stored_before_the_rule(storage: Storage) -> None:
    await load_small_directory(storage)
    await add_chat_response(storage, "dukcapil-mpp", all_scores(4), day=date(2026, 2, 2))
    # An answer written verbatim by an older version.
    async with storage.sessions() as session, session.begin():
        await session.execute(update(SurveyResponse).values(suggestion=TYPED))
    report = await build_report(
        storage, ReportRequest(parse_period("2026-Q1")), organisation=ORGANISATION
    )
    (unit,) = [u for u in report.units if u.code == "dukcapil-mpp"]
    assert [s.text for s in unit.suggestions] == [MASKED]


def test_the_complaint_recap_masks_descriptions_and_omits_confidential_ones() -> None:
    filed = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)

    def row(ticket: str, confidential: bool) -> ComplaintRow:
        return ComplaintRow(
            ticket=ticket,
            opd_code="disdukcapil",
            unit_code="dukcapil-mpp",
            kind="pengaduan",
            status=ComplaintStatus.DITERIMA,
            anonymous=False,
            confidential=confidential,
            channel="whatsapp",
            description=TYPED,
            created_at=filed,
            verify_by=filed,
            verified_at=None,
            answer_by=filed,
            answered_at=None,
            rating=None,
        )

    open_row, secret_row = detail_rows(
        [row("ADU-1", False), row("ADU-2", True)], ZoneInfo("Asia/Jayapura")
    )
    assert open_row["description"] == MASKED
    assert secret_row["description"] == ""
