"""Issue 14, items 6, 7, 11, 14, 15, 16 and 17, and "ok" under the privacy notice: one
numbering in the summary and the edit menu, stable pager keys, typed unit names, returning
citizens and other units' QR codes, wording, the profile lists, the length, the menu after the
thank-you, a complaint after a low score, a remembered profile, and resuming after expiry.

Pure flow tests, as ``tests/unit/test_voice_flow.py``, with the renderings of each channel where a
text or a key reaches the citizen differently (console, Telegram, WhatsApp).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from handlers.console import render as console_render
from handlers.telegram import keyboard
from handlers.whatsapp.render import render as whatsapp_render
from survey_flows import skm
from survey_flows.catalog import MESSAGES
from survey_flows.complaints import ComplaintStatus
from survey_flows.directory import Directory, OpdInfo, UnitInfo, match_names
from survey_flows.questionnaire import PROFILE_CHOICES, PROFILE_ITEMS, stored_profile
from survey_flows.skm import idle_reminder, review_items
from survey_flows.types import (
    InboundKind,
    InputRejected,
    LimitReached,
    Outbound,
    RecordConsent,
    RememberProfile,
    SubmitResponse,
)
from tests.support.complaint_chat import Chat as ComplaintChat
from tests.support.complaint_chat import view
from tests.support.survey_chat import (
    CONSENT_ON_RECORD,
    DIRECTORY,
    KANTOR,
    MPP,
    MPP_NAME,
    NOW,
    SETTINGS,
    Chat,
    Tap,
    all_scores,
    answer_everything,
    chat_at,
    texts,
)
from tests.support.voice import complaint_at

ID, EN = MESSAGES["id"], MESSAGES["en"]


def numbered_lines(text: str) -> dict[int, str]:
    return {int(n): label for n, label in re.findall(r"^(\d+)\. ([^:]+):", text, re.M)}


# --- item 6: one numbering ---------------------------------------------------------------------


def test_the_summary_and_the_edit_menu_number_every_answer_alike() -> None:
    chat = chat_at("summary")
    summary = numbered_lines(chat.prompt.text)
    chat.tap("edit")
    menu = {n: c.label for n, c in enumerate(chat.prompt.answer_choices(), start=1)}
    assert summary == menu
    # The elements keep the numbers their questions had: 4 is Biaya/Tarif everywhere.
    assert summary[4] == ID["element.U4"] and summary[8] == ID["element.U9"]
    chat.say("4")
    assert chat.step == "q:U4" and ID["question.progress"].format(n=4, total=9) in chat.prompt.text


def test_review_items_put_the_nine_elements_first() -> None:
    unit = DIRECTORY.unit(MPP)
    assert unit is not None
    items = review_items(unit)
    assert items[:9] == tuple(
        f"q:{c}" for c in ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U9", "U8")
    )
    assert items[9:] == (*(f"profile:{i}" for i, _ in PROFILE_ITEMS), "service", "suggestion")


# --- item 7: paging, back, typed names ------------------------------------------------------


def test_pages_are_even_and_paging_is_never_a_number_on_any_channel() -> None:
    chat = chat_at("opd")
    chat.tap("o:dinkes")  # seven units, pages of at most three: 3, 2, 2
    sizes = []
    # The hint names only the page words that do something on that page.
    hints = ["nav.hint.pages.first", "nav.hint.pages", "nav.hint.pages.last"]
    for hint in hints:
        prompt = chat.prompt
        sizes.append(len(prompt.answer_choices()))
        assert all(not c.id.startswith("page:") for c in prompt.answer_choices())
        assert prompt.hint == hint
        # Console: only the units are numbered; the hint names the paging words.
        shown = console_render(prompt)
        assert ID[hint] in shown and ID["nav.next_page"] not in shown.split("(")[0]
        assert ("SEBELUMNYA" in shown) == (hint != "nav.hint.pages.first")
        assert ("BERIKUTNYA" in shown) == (hint != "nav.hint.pages.last")
        # Telegram: paging buttons sit on the navigation row, after the units.
        rows = keyboard(prompt)
        assert rows is not None
        assert all(
            not b["text"].startswith(("«", "Beri"))
            for row in rows["inline_keyboard"][:-1]
            for b in row
        )
        # WhatsApp: the body numbers the units only.
        body = whatsapp_render(prompt)["interactive"]["body"]["text"]
        assert len(re.findall(r"^\d+\. ", body, re.M)) == sizes[-1]
        if len(sizes) < 3:
            chat.say("lanjut")
    assert sizes == [3, 2, 2]


def test_back_returns_to_the_page_the_unit_was_chosen_from() -> None:
    chat = chat_at("opd")
    chat.tap("o:dinkes")
    chat.tap("page:+1")
    chat.tap("page:+1")
    chat.tap("Puskesmas Jila")
    assert chat.state["unit"] == "pkm-jila"
    chat.say("kembali")
    assert chat.step == "unit" and chat.state["page"] == 2
    assert "Puskesmas Jila" in [c.label for c in chat.prompt.answer_choices()]


@pytest.mark.parametrize("typed", ["Puskesmas Wania", "puskesmas wania", "wania", "Puskesmas Wnia"])
def test_a_unit_name_can_be_typed_from_any_page(typed: str) -> None:
    chat = chat_at("opd")
    chat.tap("o:dinkes")  # Wania is on page two
    chat.say(typed)
    assert chat.state["unit"] == "pkm-wania" and chat.step == "profile:age"


def test_an_opd_name_can_be_typed() -> None:
    chat = chat_at("opd")
    chat.say("dinas kesehatan")
    assert chat.step == "unit" and chat.state["opd"] == "dinkes"


def test_an_ambiguous_name_lists_the_matches_and_back_returns_to_the_whole_list() -> None:
    chat = chat_at("opd")
    chat.tap("o:dinkes")
    chat.say("timika")  # Puskesmas Timika and Puskesmas Timika Jaya
    prompt = chat.prompt
    assert prompt.text == ID["listing.matches"].format(query="timika")
    assert [c.label for c in prompt.answer_choices()] == [
        "Puskesmas Timika",
        "Puskesmas Timika Jaya",
    ]
    chat.say("2")
    assert chat.state["unit"] == "pkm-timika-jaya"
    chat.say("kembali")
    assert chat.step == "unit" and chat.state.get("query") is None


def test_a_name_matching_nothing_is_told_and_changes_nothing() -> None:
    chat = chat_at("unit")
    before = chat.raw
    result = chat.say("kantor pajak")
    assert texts(result)[0] == ID["error.no_match"].format(query="kantor pajak")
    assert result.effects == (InputRejected("error.no_match"),)
    assert chat.raw == before


def test_match_names_is_tolerant_but_exact_names_win() -> None:
    names = [("Puskesmas Timika",), ("Puskesmas Timika Jaya",), ("Kantor Disdukcapil",)]
    assert match_names("PUSKESMAS TIMIKA", names) == [0]
    assert match_names("timika", names) == [0, 1]
    assert match_names("dukcapl", names) == []  # a word is matched whole or by its start
    assert match_names("disdukcapl", names) == [2]
    assert match_names("ab", names) == []


# --- item 11: a returning citizen's QR code, another unit's QR code -----------------------------


def test_a_returning_citizen_scanning_a_qr_code_is_greeted_with_the_unit() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    result = chat.command("start", f"u_{MPP}")
    greeting = ID["survey.welcome_back"].format(unit=MPP_NAME, questions=9, minutes=2)
    assert texts(result)[0] == greeting
    assert chat.step == "profile:age"


def test_another_unit_s_qr_mid_survey_asks_and_no_keeps_every_answer() -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    result = chat.command("start", f"u_{KANTOR}")
    assert texts(result)[0] == ID["switch.skm"].format(unit=MPP_NAME, new="Kantor Disdukcapil")
    assert [c.id for c in chat.prompt.answer_choices()] == ["go", "stay"]
    chat.say("tidak")
    assert chat.step == "q:U3" and chat.state["answers"] == answers


def test_another_unit_s_qr_mid_survey_switches_when_asked() -> None:
    chat = chat_at("q:U3")
    chat.say(f"SKM {KANTOR}")
    result = chat.say("ya")
    assert texts(result)[0] == ID["cancelled"]
    assert chat.state["unit"] == KANTOR and chat.step == "profile:age"


def test_an_unknown_qr_code_mid_survey_loses_nothing() -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    result = chat.command("start", "u_tidak-ada")
    assert texts(result)[0] == ID["unit.unknown"].format(code="tidak-ada")
    assert chat.step == "q:U3" and chat.state["answers"] == answers


# --- item 14: wording --------------------------------------------------------------------------


def test_a_unit_named_layanan_is_not_doubled_in_the_notice() -> None:
    directory = Directory.build(
        (OpdInfo("dinkes", "Dinas Kesehatan", "Dinkes"),),
        (UnitInfo("rsud-ralan", "Layanan Rawat Jalan RSUD", "dinkes", ("Poli umum",)),),
    )
    chat = Chat(directory=directory)
    chat.command("start", "u_rsud-ralan")
    assert "Layanan Rawat Jalan" in chat.prompt.text
    assert "layanan Layanan" not in chat.prompt.text.replace("\n", " ")


def test_an_aspiration_is_confirmed_as_a_report_of_its_kind() -> None:
    chat = ComplaintChat()
    chat.send(InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    assert chat.state is not None and chat.state["step"] == "c:kind"
    chat.say("2")  # aspirasi
    for answer in ("Mohon ruang tunggu diberi kipas angin agar tidak panas.", "lanjut",
                   "lewati", "tidak", "tidak"):  # fmt: skip
        result = chat.say(answer)
    summary = result.outbound[-1].text
    assert summary.startswith(ID["complaint.summary.title"].format(unit="Loket Disdukcapil MPP"))
    assert "Jenis: Aspirasi" in summary and "pengaduan" not in summary.split("\n")[0].lower()
    assert "Foto: tidak ada" in summary and "Lokasi: tidak dikirim" in summary


def test_english_labels_read_naturally() -> None:
    assert EN["summary.profile.gender"] == "Gender"
    for key in ("answer.U1.2", "answer.U3.2", "answer.U6.2", "answer.U7.2"):
        assert not EN[key].startswith("Less"), key
    assert EN["complaint.kind.aspirasi"] != "Aspiration"


def test_limits_reach_the_citizen_in_indonesian_number_format() -> None:
    assert "1.000 karakter" in chat_at("suggestion").prompt.text
    complaint = complaint_at("c:desc")
    result = complaint.say("x" * 2100)
    assert "2.100" in result.outbound[0].text and "2.000" in result.outbound[0].text


# --- item 15: profile lists -------------------------------------------------------------------


def test_new_profile_options_are_offered_and_the_regulation_s_keep_their_numbers() -> None:
    chat = chat_at("profile:education")
    labels = [c.label for c in chat.prompt.answer_choices()]
    assert labels[0] == "SD" and "Tidak/belum sekolah" in labels
    chat.tap("SD")
    labels = [c.label for c in chat.prompt.answer_choices()]
    assert labels[5] == "Pelajar/Mahasiswa"
    assert {"Petani", "Nelayan", "Ibu rumah tangga", "Tidak bekerja"} <= set(labels)


def test_a_new_option_is_stored_as_the_regulation_s_category_with_its_detail() -> None:
    assert stored_profile({"education": "BELUM", "occupation": "NELAYAN", "age": "26-35"}) == {
        "age": "26-35",
        "education": "SD",
        "education_detail": "BELUM",
        "occupation": "LAINNYA",
        "occupation_detail": "NELAYAN",
    }
    assert stored_profile({"occupation": "PNS"}) == {"occupation": "PNS"}
    regulation = dict(PROFILE_ITEMS)
    for item, options in PROFILE_CHOICES:
        for code in options:
            assert stored_profile({item: code})[item] in regulation[item], code


def test_a_survey_with_a_new_occupation_submits_the_report_code() -> None:
    chat = chat_at("profile:occupation")
    chat.tap("Nelayan")
    answer_everything(chat, all_scores(3), suggestion=None)
    chat.tap("submit")
    profile = chat.submitted().profile
    assert profile["occupation"] == "LAINNYA" and profile["occupation_detail"] == "NELAYAN"


# --- item 16: length, numbered profile, menu after thanks, low score, remembered profile ----


def test_the_notice_says_the_length_and_profile_steps_are_numbered() -> None:
    chat = chat_at("consent")
    assert "9 pertanyaan, ± 2 menit" in chat.prompt.text
    chat.tap("yes")
    assert chat.prompt.text.startswith(ID["survey.profile_progress"].format(n=1, total=4))
    chat.tap("skip")
    assert chat.prompt.text.startswith(ID["survey.profile_progress"].format(n=2, total=4))


def satisfied_at_summary() -> Chat:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{MPP}")
    answer_everything(chat, all_scores(3), suggestion=None)
    return chat


def test_the_thank_you_carries_the_menu() -> None:
    chat = satisfied_at_summary()
    result = chat.tap("submit")
    [message] = result.outbound
    assert message.text.startswith("Terima kasih!") and message.text.endswith(ID["again.prompt"])
    assert [c.id for c in message.answer_choices()][0] == "survey"
    assert chat.step == "menu"


def test_a_lowest_score_offers_a_complaint_about_that_unit() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{MPP}")
    answer_everything(chat, {**all_scores(3), "U3": 1}, suggestion=None)
    result = chat.tap("submit")
    assert ID["thanks.low"].format(unit=MPP_NAME) in result.outbound[-1].text
    assert chat.prompt.answer_choices()[0].id == f"complaint:{MPP}"
    chat.say("1")
    assert chat.step == "c:kind" and chat.state["unit"] == MPP and chat.state["flow"] == "complaint"


def test_no_complaint_offer_without_a_lowest_score() -> None:
    chat = satisfied_at_summary()
    chat.tap("submit")
    assert not any(c.id.startswith("complaint:") for c in chat.prompt.choices)


def test_remembering_the_profile_is_a_choice_at_the_summary_and_skips_it_next_time() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{KANTOR}")
    chat.tap("26-35")
    chat.tap("P")
    chat.tap("skip")
    chat.tap("NELAYAN")
    answer_everything(chat, all_scores(4), suggestion=None)
    assert ID["summary.remember_note"] in chat.prompt.text
    assert [c.id for c in chat.prompt.answer_choices()] == ["submit", "submit_remember", "edit"]
    result = chat.tap("submit_remember")
    assert (
        RememberProfile({"age": "26-35", "gender": "P", "occupation": "NELAYAN"}) in result.effects
    )
    # Next time (another unit, the day's limit): no profile questions, the answers reused.
    chat.command("start", f"u_{MPP}")
    assert ID["survey.profile_remembered"] in texts(chat.last)[0]
    assert chat.step == "service"
    answer_everything(chat, all_scores(4), suggestion=None)
    assert "submit_remember" not in [c.id for c in chat.prompt.choices]
    chat.tap("submit")
    responses = chat.effects(SubmitResponse)
    assert responses[-1].profile["occupation_detail"] == "NELAYAN"


def test_a_remembered_profile_can_be_changed_at_the_summary() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD, saved_profile={"age": "26-35", "gender": "L"})
    chat.command("start", f"u_{KANTOR}")
    answer_everything(chat, all_scores(4), suggestion=None)
    chat.tap("edit")
    chat.tap("e:profile:gender")
    chat.tap("P")
    result = chat.tap("submit")
    assert RememberProfile({"age": "26-35", "gender": "P"}) in result.effects


def test_a_remembered_profile_alone_does_not_make_leaving_ask() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD, saved_profile={"age": "26-35"})
    chat.command("start", f"u_{KANTOR}")
    result = chat.say("menu")
    assert texts(result)[0] == ID["cancelled"] and chat.step == "menu"


def test_without_consent_a_saved_profile_is_not_used() -> None:
    chat = Chat(saved_profile={"age": "26-35"})
    chat.command("start", f"u_{KANTOR}")
    chat.tap("yes")
    assert chat.step == "profile:age"
    assert any(isinstance(e, RecordConsent) for e in chat.last.effects)


# --- item 17: after the idle expiry ------------------------------------------------------------


def test_after_expiry_the_menu_offers_to_resume_the_same_unit_where_it_was() -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    chat.now = datetime.fromisoformat(chat.state["last_activity"]) + timedelta(minutes=31)
    result = chat.say("hai")
    assert texts(result)[:2] == [ID["expired"], ID["expired.resume"].format(unit=MPP_NAME)]
    assert chat.prompt.answer_choices()[0].label == ID["menu.resume"]
    chat.say("1")
    assert chat.step == "q:U3" and chat.state["answers"] == answers


def test_after_expiry_the_menu_s_other_choices_still_work() -> None:
    chat = chat_at("q:U3")
    chat.now = datetime.fromisoformat(chat.state["last_activity"]) + timedelta(minutes=31)
    chat.say("hai")
    chat.tap("survey")
    assert chat.step == "opd" and chat.state["answers"] == {}


def test_an_expired_survey_without_answers_offers_no_resume() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{KANTOR}")
    chat.now += timedelta(minutes=31)
    chat.say("hai")
    assert "resume" not in [c.id for c in chat.prompt.choices]


# --- "ok" where it is not a yes -----------------------------------------------------------------


@pytest.mark.parametrize("word", ["ok", "Oke", "baik"])
def test_ok_under_the_privacy_notice_is_not_consent(word: str) -> None:
    chat = chat_at("consent")
    before = chat.raw
    result = chat.say(word)
    assert texts(result)[0] == ID["consent.explicit"]
    assert not chat.effects(RecordConsent) and chat.raw == before


def test_ok_at_the_summary_sends_since_it_asks_kirim_jawaban_ini() -> None:
    chat = chat_at("summary")
    chat.say("ok")
    assert chat.submitted().scores


def test_ok_at_a_question_is_not_an_answer() -> None:
    chat = chat_at("q:U2")
    result = chat.say("ok")
    assert result.effects == (InputRejected("error.choose"),) and chat.step == "q:U2"


# --- renderings: what each channel shows ---------------------------------------------------------


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_longest_summary_fits_one_whatsapp_body_with_its_numbers(language: str) -> None:
    directory = Directory.build(
        (OpdInfo("dinas", "Dinas Contoh", "Contoh"),),
        (UnitInfo("unit-panjang", "U" * 120, "dinas", ("S" * 60, "T" * 60)),),
    )
    chat = Chat(consent_at=CONSENT_ON_RECORD, language=language, directory=directory)
    chat.command("start", "u_unit-panjang")
    for choice in ("46-55", "P", "BELUM", "TIDAK_BEKERJA", "s:0"):
        chat.tap(choice)
    answer_everything(chat, all_scores(2), suggestion="x" * 1000)
    message = whatsapp_render(chat.prompt)
    body = message["interactive"]["body"]["text"]
    assert body.startswith(chat.prompt.text)  # nothing cut
    assert re.search(r"^1\. .+\n2\. .+\n3\. .+$", body, re.M)  # Kirim, Kirim & ingat, Ubah


def test_a_short_summary_carries_the_note_on_remembering() -> None:
    chat = chat_at("summary")
    assert ID["summary.remember_note"] in chat.prompt.text
    assert ID["summary.remember_note"] in console_render(chat.prompt)


@pytest.mark.parametrize("language", ["id", "en"])
def test_new_buttons_fit_whatsapp_titles(language: str) -> None:
    chat = chat_at("q:U3")
    chat.language = language
    chat.command("start", f"u_{KANTOR}")
    message = whatsapp_render(chat.prompt)
    assert message["interactive"]["type"] == "button"
    titles = [b["reply"]["title"] for b in message["interactive"]["action"]["buttons"]]
    assert titles == [MESSAGES[language]["switch.go"], MESSAGES[language]["switch.stay"]]
    rows = keyboard(chat.prompt)
    assert rows is not None and len(rows["inline_keyboard"]) == 2  # Telegram: one per row


# --- item 17: the reminder's text (sent by bot.jobs.idle_reminders) ---------------------------


def test_the_reminder_names_the_unit_and_the_minutes_left() -> None:
    chat = chat_at("q:U3")
    last = datetime.fromisoformat(chat.state["last_activity"])
    message = idle_reminder(chat.state, DIRECTORY, "id", last + timedelta(minutes=21), SETTINGS)
    assert message is not None and message.choices == ()
    assert message.text == ID["reminder.skm"].format(unit=MPP_NAME, minutes="9")
    assert (
        idle_reminder(chat.state, DIRECTORY, "id", last + timedelta(minutes=30), SETTINGS) is None
    )


def test_the_reminder_of_a_complaint_says_report_and_nothing_at_the_menu() -> None:
    complaint = complaint_at("c:photo")
    assert complaint.state is not None
    last = datetime.fromisoformat(complaint.state["last_activity"])
    directory = Directory.build(
        (OpdInfo("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil"),),
        (UnitInfo("dukcapil-mpp", "Loket Disdukcapil MPP", "disdukcapil", ("KTP-el",)),),
    )
    message = idle_reminder(
        complaint.state, directory, "en", last + timedelta(minutes=29), SETTINGS
    )
    assert message is not None
    assert message.text == EN["reminder.complaint"].format(
        unit="Loket Disdukcapil MPP", minutes="1"
    )
    menu = chat_at("menu")
    assert idle_reminder(menu.state, DIRECTORY, "id", NOW, SETTINGS) is None


@pytest.mark.parametrize("typed", ["Terima kasih!", "makasih", "ok", "sama-sama"])
def test_thanks_after_the_thank_you_simply_gets_the_menu(typed: str) -> None:
    chat = satisfied_at_summary()
    chat.tap("submit")
    result = chat.say(typed)
    assert ID["error.not_understood"] not in texts(result)
    assert chat.step == "menu" and texts(result)[-1] == ID["menu.welcome"].format(
        organisation=SETTINGS.organisation
    )


def new_prompts(language: str) -> dict[str, Outbound]:
    """The prompts this issue added or changed, as the engine sends them."""
    prompts: dict[str, Outbound] = {}
    low = Chat(consent_at=CONSENT_ON_RECORD, language=language)
    low.command("start", f"u_{MPP}")
    answer_everything(low, {**all_scores(3), "U3": 1}, suggestion=None)
    prompts["summary"] = low.prompt
    low.tap("submit")
    prompts["menu-after-low-score"] = low.prompt
    expired = chat_at("q:U3")
    expired.language = language
    expired.now = datetime.fromisoformat(expired.state["last_activity"]) + timedelta(minutes=31)
    expired.say("hai")
    prompts["menu-after-expiry"] = expired.prompt
    occupation = chat_at("profile:education")
    occupation.language = language
    occupation.tap("SD")
    prompts["occupation"] = occupation.prompt
    edit = chat_at("summary")
    edit.language = language
    edit.tap("edit")
    prompts["edit"] = edit.prompt
    return prompts


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("name", ["summary", "menu-after-low-score", "menu-after-expiry",
                                  "occupation", "edit"])  # fmt: skip
def test_new_prompts_render_whole_on_every_channel(name: str, language: str) -> None:
    prompt = new_prompts(language)[name]
    answers = prompt.answer_choices()
    console = console_render(prompt)
    for number, choice in enumerate(answers, start=1):
        assert f"{number}. {choice.label}" in console
    rows = keyboard(prompt)
    assert rows is not None
    telegram = [b["text"] for row in rows["inline_keyboard"] for b in row]
    assert [c.label for c in answers] == telegram[: len(answers)]
    message = whatsapp_render(prompt)
    body = message["interactive"]["body"]["text"]
    assert body.startswith(prompt.text)
    for number, choice in enumerate(answers, start=1):
        assert f"{number}. {choice.label}" in body  # what can be typed, on every page
    # The labels this issue added fit a button (20) or a row title (24) uncut.
    interactive = message["interactive"]
    if interactive["type"] == "button":
        shown = {b["reply"]["id"]: b["reply"]["title"] for b in interactive["action"]["buttons"]}
    else:
        rows = [r for sec in interactive["action"]["sections"] for r in sec["rows"]]
        shown = {r["id"]: r["title"] for r in rows}
    new = {"submit_remember", "resume", "PETANI", "NELAYAN", "IRT", "TIDAK_BEKERJA"}
    for row_id, title in shown.items():
        choice_id = row_id.split("|")[-1]
        if choice_id in new or choice_id.startswith("complaint:"):
            assert "…" not in title, title


def test_another_unit_s_complaint_link_mid_complaint_asks_too() -> None:
    directory = Directory.build(
        (OpdInfo("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil"),),
        (
            UnitInfo("dukcapil-mpp", "Loket Disdukcapil MPP", "disdukcapil", ("KTP-el",)),
            UnitInfo("dukcapil-kantor", "Kantor Disdukcapil", "disdukcapil", ("KTP-el",)),
        ),
    )
    chat = Chat(directory=directory)
    chat.command("start", "c_dukcapil-mpp")
    chat.say("1")  # pengaduan
    result = chat.command("start", "c_dukcapil-kantor")
    assert texts(result)[0] == ID["switch.complaint"].format(
        unit="Loket Disdukcapil MPP", new="Kantor Disdukcapil"
    )
    chat.tap("go")
    assert chat.state["flow"] == "complaint" and chat.state["unit"] == "dukcapil-kantor"


def test_a_complaint_link_s_text_mid_survey_asks_before_leaving_it() -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    result = chat.say(f"PENGADUAN {KANTOR}")
    assert texts(result)[0] == ID["switch.skm"].format(unit=MPP_NAME, new="Kantor Disdukcapil")
    chat.tap("stay")
    assert chat.step == "q:U3" and chat.state["answers"] == answers
    chat.say(f"PENGADUAN {KANTOR}")
    chat.tap("go")
    assert chat.state["flow"] == "complaint" and chat.state["unit"] == KANTOR


def test_the_complaint_offered_after_a_low_score_keeps_the_daily_cap() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{MPP}")
    answer_everything(chat, {**all_scores(3), "U3": 1}, suggestion=None)
    chat.tap("submit")
    tap = chat.inbound(Tap(f"complaint:{MPP}"))
    context = replace(
        chat.context(),
        settings=replace(SETTINGS, complaints_per_day=1),
        complaints=(view(ComplaintStatus.DITERIMA),),  # filed today
    )
    result = skm.step(chat.state, tap, context)
    assert result.effects == (LimitReached("complaints_per_day"),)
    assert result.state is not None and result.state["step"] == "menu"


def test_a_complaint_link_s_text_keeps_the_daily_cap_too() -> None:
    chat = chat_at("menu")
    typed = replace(chat.inbound(Tap("survey")), kind=InboundKind.TEXT, text=f"PENGADUAN {MPP}")
    context = replace(
        chat.context(),
        settings=replace(SETTINGS, complaints_per_day=1),
        complaints=(view(ComplaintStatus.DITERIMA),),
    )
    result = skm.step(chat.state, typed, context)
    assert result.effects == (LimitReached("complaints_per_day"),)
    assert result.state is not None and result.state["step"] == "menu"
