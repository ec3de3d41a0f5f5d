"""Issue 14, items 8, 9, 12, 13 and 18: replies people really type, hints per step kind, no
silent fallbacks, no choice of a lone unit, and a person to contact.

Pure flow tests, as ``tests/unit/test_voice_flow.py``: the engine driven step by step, its state
round-tripped through JSON.
"""

from __future__ import annotations

import pytest

from handlers.console import render
from survey_flows.catalog import MESSAGES
from survey_flows.commands import menu as command_menu
from survey_flows.directory import Directory, OpdInfo, UnitInfo
from survey_flows.engine import plain_digits, typed_number
from survey_flows.questionnaire import age_bracket
from survey_flows.types import FileComplaint, InboundKind, InputRejected, RecordConsent
from tests.support.complaint_chat import DESCRIPTION
from tests.support.complaint_chat import Chat as ComplaintChat
from tests.support.survey_chat import CONSENT_ON_RECORD, Chat, chat_at, texts
from tests.support.voice import complaint_at

ID, EN = MESSAGES["id"], MESSAGES["en"]
PLACE = "Depan Pasar Lama, Jl. Budi Utomo"


# --- item 8: an age in years ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "bracket"),
    [("30", "26-35"), ("17", "17-25"), ("25 tahun", "17-25"), ("３６", "36-45"),
     ("55 thn", "46-55"), ("56", "56+"), ("99", "56+")],
)  # fmt: skip
def test_an_age_in_years_is_recorded_as_its_bracket(typed: str, bracket: str) -> None:
    chat = chat_at("profile:age")
    chat.say(typed)
    assert chat.step == "profile:gender"
    assert chat.state["answers"]["age"] == bracket


def test_a_choice_number_at_the_age_step_is_still_a_choice() -> None:
    chat = chat_at("profile:age")
    chat.say("2")
    assert chat.state["answers"]["age"] == "26-35"


def test_under_17_is_told_politely_why_and_nothing_is_recorded() -> None:
    chat = chat_at("profile:age")
    before = chat.raw
    result = chat.say("15")
    assert texts(result)[0] == ID["age.under_17"]
    assert "17 tahun ke atas" in texts(result)[0] and "Bapak/Ibu" in texts(result)[0]
    assert result.effects == (InputRejected("age.under_17"),)
    assert chat.raw == before and chat.step == "profile:age"


def test_an_impossible_age_names_what_to_type() -> None:
    chat = chat_at("profile:age")
    result = chat.say("150")
    assert texts(result)[0] == ID["age.out_of_range"].format(n=6)
    assert "misalnya 30" in texts(result)[0] and "1–6" in texts(result)[0]
    assert chat.step == "profile:age"


def test_age_brackets_cover_every_adult_age_once() -> None:
    assert [age_bracket(years) for years in (16, 17, 25, 26, 45, 46, 55, 56, 120, 121)] == [
        None, "17-25", "17-25", "26-35", "36-45", "46-55", "46-55", "56+", "56+", None,
    ]  # fmt: skip


# --- item 8: yes and no as people type them ----------------------------------------------------


@pytest.mark.parametrize("word", ["ya", "iya", "y", "YES", "setuju"])
def test_yes_words_agree_to_the_privacy_notice(word: str) -> None:
    chat = chat_at("consent")
    result = chat.say(word)
    assert any(isinstance(e, RecordConsent) for e in result.effects)
    assert chat.step == "profile:age"


@pytest.mark.parametrize("word", ["tidak", "nggak", "gak", "enggak", "no"])
def test_no_words_decline_the_privacy_notice(word: str) -> None:
    chat = chat_at("consent")
    result = chat.say(word)
    assert texts(result)[0] == ID["consent.declined"]
    assert chat.step == "menu"


def test_the_leave_confirmation_takes_ya_and_gak() -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    chat.say("menu")
    chat.say("gak")
    assert chat.step == "q:U3" and chat.state["answers"] == answers
    chat.say("menu")
    result = chat.say("iya")
    assert texts(result)[0] == ID["cancelled"] and chat.step == "menu"


def test_the_cut_confirmation_takes_ya_and_tidak() -> None:
    chat = chat_at("suggestion")
    chat.say("a" * 1200)
    chat.say("tidak")  # no: type it again
    assert chat.step == "suggestion"
    chat.say("a" * 1200)
    chat.say("ya")  # yes: keep the shortened text
    assert chat.step == "summary" and chat.state["answers"]["suggestion"] == "a" * 1000


def test_ya_at_the_summary_sends_the_answers() -> None:
    chat = chat_at("summary")
    chat.say("ya")
    assert chat.submitted().scores


def test_yes_and_no_words_answer_the_complaint_s_yes_no_questions() -> None:
    chat = complaint_at("c:anon")
    chat.say("y")
    chat.say("nggak")
    assert chat.state is not None and chat.state["step"] == "c:summary"
    assert (chat.state["answers"]["anon"], chat.state["answers"]["secret"]) == (True, False)


def test_yes_words_are_text_where_text_is_asked() -> None:
    chat = chat_at("suggestion")
    chat.say("tidak")
    assert chat.state["answers"]["suggestion"] == "tidak"


# --- item 8: "tidak ada" for photos, a typed place for the location ----------------------------


@pytest.mark.parametrize("typed", ["tidak ada", "Tidak ada.", "gak ada", "tidak"])
def test_tidak_ada_at_the_photo_step_goes_on(typed: str) -> None:
    chat = complaint_at("c:photo")
    chat.say(typed)
    assert chat.state is not None and chat.state["step"] == "c:location"


def test_tidak_ada_at_the_location_step_skips_it() -> None:
    chat = complaint_at("c:location")
    chat.say("tidak ada")
    assert chat.state is not None and chat.state["step"] == "c:anon"
    assert "place" not in chat.state["answers"]


def test_a_typed_place_is_kept_shown_and_filed_with_the_description() -> None:
    chat = complaint_at("c:location")
    chat.say(PLACE)
    assert chat.state is not None and chat.state["step"] == "c:anon"
    assert chat.state["answers"]["place"] == PLACE
    chat.say("tidak")
    result = chat.say("tidak")
    assert f"{ID['complaint.summary.location']}: {PLACE}" in result.outbound[-1].text
    [filed] = [e for e in chat.say("kirim").effects if isinstance(e, FileComplaint)]
    assert filed.description == f"{DESCRIPTION}\n\nLokasi: {PLACE}"
    assert filed.location is None


def test_leaving_words_still_act_at_the_location_step() -> None:
    chat = complaint_at("c:location")
    chat.say("menu")
    assert chat.state is not None and chat.state["step"] == "leave:menu"


def test_an_over_long_place_is_refused_with_its_limit() -> None:
    chat = complaint_at("c:location")
    result = chat.say("x" * 201)
    assert result.outbound[0].text == ID["complaint.location.too_long"].format(max=200)
    assert chat.state is not None and chat.state["step"] == "c:location"


# --- item 8: keycap and full-width digits; errors name the range -------------------------------


@pytest.mark.parametrize(("typed", "score"), [("2️⃣", 2), ("３", 3), ("4\ufe0f\u20e3", 4)])
def test_keycap_and_full_width_digits_choose(typed: str, score: int) -> None:
    chat = chat_at("q:U1")
    chat.say(typed)
    assert chat.state["answers"]["U1"] == score


def test_digit_forms_read_as_plain_digits() -> None:
    assert plain_digits("1️⃣") == "1" and plain_digits("１０") == "10"
    assert plain_digits("🔟") == "10"
    assert typed_number("３０ tahun") == 30 and typed_number("tiga puluh") is None


def test_an_unavailable_number_names_the_valid_range() -> None:
    chat = chat_at("q:U1")
    result = chat.say("7")
    assert texts(result)[0] == ID["error.choose.range"].format(n=4)
    assert "ketik angka 1–4" in texts(result)[0]
    assert result.effects == (InputRejected("error.choose"),)


# --- item 9: hints per step kind; the complaint's own empty error ------------------------------


def test_free_text_steps_do_not_say_type_the_number() -> None:
    suggestion = chat_at("suggestion").prompt
    description = complaint_at("c:desc")
    assert suggestion.hint == "nav.hint.text"
    assert "Ketik nomor pilihan" not in render(suggestion)
    assert ID["nav.hint.text"] in render(suggestion)
    desc_prompt = description.say("ulang").outbound[-1]
    assert desc_prompt.hint == "nav.hint.text" and "Ketik nomor" not in render(desc_prompt)


def test_each_step_kind_has_its_hint() -> None:
    assert chat_at("q:U1").prompt.hint is None  # "Ketik nomor pilihan"
    assert chat_at("profile:age").prompt.hint == "nav.hint.age"
    photo = complaint_at("c:photo").say("ulang").outbound[-1]
    location = complaint_at("c:location").say("ulang").outbound[-1]
    assert (photo.hint, location.hint) == ("nav.hint.photo", "nav.hint.location")
    for key in ("nav.hint.text", "nav.hint.photo", "nav.hint.location", "nav.hint.age"):
        assert len(ID[key]) <= 60 and len(EN[key]) <= 60  # a WhatsApp footer's limit


def test_an_empty_complaint_description_gets_its_own_error() -> None:
    chat = complaint_at("c:desc")
    result = chat.say(" \u200b ")
    assert result.outbound[0].text == ID["complaint.desc.empty"]
    assert "Lewati" not in ID["complaint.desc.empty"]
    assert result.effects == (InputRejected("complaint.desc.empty"),)


# --- item 13: not understood, said before the menu ---------------------------------------------


def test_an_unknown_menu_choice_is_said_not_understood() -> None:
    chat = chat_at("menu")
    result = chat.say("saya mau tanya jadwal")
    assert texts(result)[0] == ID["error.not_understood"]
    assert chat.step == "menu" and result.outbound[-1].choices


def test_a_greeting_simply_gets_the_menu() -> None:
    chat = chat_at("menu")
    result = chat.say("Halo!")
    assert len(result.outbound) == 1 and chat.step == "menu"


def test_a_first_unknown_message_is_said_not_understood_too() -> None:
    chat = Chat()
    result = chat.say("berapa biaya KTP")
    assert texts(result)[0] == ID["error.not_understood"] and chat.step == "menu"


@pytest.mark.parametrize("typed", ["ADU-12", "status ADU 7K3M", "adu-7k3m-q9x"])
def test_a_malformed_ticket_at_the_menu_is_said_unreadable(typed: str) -> None:
    chat = chat_at("menu")
    result = chat.say(typed)
    assert texts(result)[0] == ID["complaint.status.malformed"]
    assert chat.step == "menu"


def test_status_with_a_malformed_ticket_says_so_before_the_list() -> None:
    chat = ComplaintChat()
    result = chat.send(InboundKind.COMMAND, command="status", command_args=("ADU-12",))
    assert result.outbound[0].text == ID["complaint.status.malformed"]
    assert result.outbound[1].text == ID["complaint.status.none"]
    assert InputRejected("malformed_ticket") in result.effects


# --- item 12: a one-unit OPD skips the unit choice ---------------------------------------------

ONE_UNIT = Directory.build(
    (OpdInfo("bapenda", "Badan Pendapatan Daerah", "Bapenda", contact="0901 321 654"),
     OpdInfo("dinkes", "Dinas Kesehatan", "Dinkes")),
    (UnitInfo("bapenda-loket", "Loket Pajak Bapenda", "bapenda", ("PBB",)),
     UnitInfo("pkm-a", "Puskesmas A", "dinkes", ("Rawat jalan",)),
     UnitInfo("pkm-b", "Puskesmas B", "dinkes", ("Rawat jalan",))),
)  # fmt: skip


def test_a_one_unit_opd_starts_its_unit_and_back_returns_to_the_opds() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD, directory=ONE_UNIT)
    chat.command("start")
    chat.tap("survey")
    chat.tap("o:bapenda")
    assert chat.step == "profile:age" and chat.state["unit"] == "bapenda-loket"
    chat.say("kembali")
    assert chat.step == "opd"
    chat.tap("o:dinkes")
    assert chat.step == "unit"  # two units: the choice stays


def test_a_one_unit_opd_starts_the_complaint_at_its_unit() -> None:
    chat = ComplaintChat()
    chat.send(InboundKind.COMMAND, command="start")
    chat.say("2")  # Sampaikan pengaduan
    chat.say("1")  # Disdukcapil, whose only unit is the MPP counter
    assert chat.state is not None and chat.state["step"] == "c:kind"
    assert chat.state["unit"] == "dukcapil-mpp"


# --- item 18: help names PENGADUAN, STATUS and a person to contact -----------------------------


def test_help_and_the_command_menu_name_pengaduan_and_status() -> None:
    assert "PENGADUAN" in ID["help.text"] and "STATUS" in ID["help.text"]
    assert "COMPLAINT" in EN["help.text"] and "STATUS" in EN["help.text"]
    words = [word for word, _ in command_menu("id")]
    assert "pengaduan" in words and "status" in words


def test_help_in_a_unit_gives_its_opd_s_contact() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD, directory=ONE_UNIT)
    chat.command("start", "u_bapenda-loket")
    result = chat.say("bantuan")
    contact = ID["help.contact"].format(opd="Bapenda", contact="0901 321 654")
    assert texts(result)[0] == f"{ID['help.text']}\n{contact}"
    assert chat.step == "profile:age"


def test_help_without_a_known_contact_points_to_the_counter() -> None:
    chat = chat_at("menu")
    result = chat.say("bantuan")
    assert texts(result)[0] == f"{ID['help.text']}\n{ID['help.counter']}"
