"""Pure tests of the SKM flow (``survey_flows.skm.step``): golden transcripts and behaviour.

Every step goes through a small fake dispatcher (:class:`Chat`) that keeps the conversation
state only as a JSON string: the state is dumped with ``json.dumps`` after every step and read
back with ``json.loads`` before the next, so nothing can survive in memory between steps.

Golden transcripts live in ``tests/golden/<name>.txt``; run with ``UPDATE_GOLDEN=1`` to rewrite
them, then read the diff before committing it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from survey_flows import skm
from survey_flows.catalog import MESSAGES
from survey_flows.commands import KEYWORDS
from survey_flows.directory import Directory, OpdInfo, UnitInfo
from survey_flows.types import (
    FollowUpOptIn,
    FollowUpOptOut,
    InboundKind,
    InputRejected,
    RecordConsent,
    SetLanguage,
    SubmitResponse,
)
from tests.support.golden_files import match_golden
from tests.support.survey_chat import (
    ASKED_ORDER,
    CONSENT_ON_RECORD,
    DIRECTORY,
    ELEMENTS,
    KANTOR,
    MPP,
    MPP_NAME,
    MPP_SERVICES,
    NOW,
    SETTINGS,
    SUGGESTION,
    TICK,
    Action,
    Chat,
    Command,
    Say,
    Send,
    Tap,
    all_scores,
    answer_everything,
    chat_at,
    labels,
    texts,
)

GOLDEN_DIR = Path(__file__).parents[1] / "golden"


ID = MESSAGES["id"]
EN = MESSAGES["en"]

PROFILE_ITEMS = ("age", "gender", "education", "occupation")


# --- the fake dispatcher ---------------------------------------------------------------------


# --- rendering a transcript -------------------------------------------------------------------


def check_golden(name: str, chat: Chat) -> None:
    header = (
        f"# SKM flow transcript {name!r}: state JSON round-tripped between every step\n"
        f"# start {NOW.isoformat()}, {TICK.seconds} s per input, page_size "
        f"{chat.settings.page_size}\n"
    )
    transcript = header + "\n".join(chat.transcript) + "\n"
    match_golden(GOLDEN_DIR / f"{name}.txt", transcript)


# --- getting a conversation to a step ---------------------------------------------------------

CHOICE_STEPS = (
    "menu",
    "opd",
    "unit",
    "consent",
    "profile:age",
    "profile:gender",
    "profile:education",
    "profile:occupation",
    "service",
    *(f"q:{code}" for code in ASKED_ORDER),
    "summary",
    "edit",
)
SURVEY_STEPS = tuple(s for s in CHOICE_STEPS if s not in {"menu", "opd", "unit"})


# --- 1. golden transcripts --------------------------------------------------------------------


def test_golden_menu_to_submit_in_indonesian() -> None:
    chat = Chat()
    chat.run(
        [
            Say("Selamat pagi"),
            Tap("Isi survei kepuasan"),
            Tap("Disdukcapil"),
            Tap(MPP_NAME),
            Tap("Setuju"),
            Tap("26–35 tahun"),
            Say("perempuan"),
            Say("3"),
            Tap("Wirausaha"),
            Tap("Kartu Keluarga"),
            Tap("Sangat sesuai"),  # U1 = 4
            Say("mudah"),  # U2 = 3
            Say("2"),  # U3 = 2
            Tap("Gratis"),  # U4 = 4
            Tap("Sesuai"),  # U5 = 3
            Tap("Kompeten"),  # U6 = 3
            Tap("Sangat sopan dan ramah"),  # U7 = 4
            Tap("Baik"),  # U9 = 3, asked 8th
            Tap("Berfungsi kurang maksimal"),  # U8 = 3, asked 9th
            Say("Ruang tunggu panas.\nMohon tambah kipas angin 🙏"),
            Tap("Kirim"),
        ]
    )
    response = chat.submitted()
    assert response.unit_code == MPP
    assert response.service_type == "Kartu Keluarga"
    assert response.scores == {
        "U1": 4,
        "U2": 3,
        "U3": 2,
        "U4": 4,
        "U5": 3,
        "U6": 3,
        "U7": 4,
        "U8": 3,
        "U9": 3,
    }
    assert response.profile == {
        "age": "26-35",
        "gender": "P",
        "education": "SMA",
        "occupation": "WIRAUSAHA",
    }
    assert response.suggestion == "Ruang tunggu panas.\nMohon tambah kipas angin 🙏"
    assert response.language == "id"
    assert chat.effects(RecordConsent) == [RecordConsent(NOW + 4 * TICK, "2026-1")]
    assert response.started_at == NOW + 3 * TICK  # when the unit was chosen
    assert response.submitted_at == NOW + 20 * TICK
    assert response.local_date == date(2026, 11, 25)
    # The thanks, then the menu again, in one message (issue 14, item 16).
    thanks = ID["thanks"].format(unit=MPP_NAME)
    assert chat.last.outbound[-1].text == f"{thanks}\n\n{ID['again.prompt']}"
    assert chat.last.outbound[-1].choices[0].id == "survey"
    assert chat.step == "menu" and chat.last.expires_at is None
    check_golden("skm_menu_full_survey_id", chat)


def test_golden_deep_link_in_english() -> None:
    chat = Chat()
    chat.run(
        [
            Command("start"),
            Tap("Bahasa / Language"),
            Tap("English"),
            Command("start", ("u_pkm-timika-jaya",)),
            Tap("I agree"),
            Tap("skip"),
            Tap("Male"),
            Say("skip"),  # the English label of "Lewati" typed
            Tap("Student"),
            Tap("Very appropriate"),
            Say("very easy"),
            Tap("Fast"),
            Tap("Free"),
            Say("4"),
            Tap("Competent"),
            Tap("Polite and friendly"),
            Tap("Good"),
            Tap("Well managed"),
            Tap("Skip"),
            Tap("Send"),
        ]
    )
    assert chat.effects(SetLanguage) == [SetLanguage("en")]
    response = chat.submitted()
    assert response.unit_code == "pkm-timika-jaya"
    assert response.service_type == "Rawat jalan"  # the unit's only service: not asked
    assert response.scores == {
        "U1": 4,
        "U2": 4,
        "U3": 3,
        "U4": 4,
        "U5": 4,
        "U6": 3,
        "U7": 3,
        "U8": 4,
        "U9": 3,
    }
    assert response.profile == {"gender": "L", "occupation": "PELAJAR"}
    assert response.suggestion is None
    assert response.language == "en"
    # From the language choice on, everything is in English.
    assert all(o.language == "en" for r in chat.results[2:] for o in r.outbound)
    assert chat.results[3].outbound[0].text.startswith("Before we start")
    # The notice says the length (issue 14, item 16).
    assert "9 questions, about 2 minutes" in chat.results[3].outbound[0].text
    check_golden("skm_deep_link_en", chat)


def test_golden_back_and_edit() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.run(
        [
            Command("start", (f"u_{KANTOR}",)),
            Tap("skip"),
            Tap("skip"),
            Tap("skip"),
            Tap("skip"),
            Tap("Sesuai"),  # U1 = 3
            Tap("Mudah"),  # U2 = 3
            Tap("Tidak cepat"),  # U3 = 1, a mistake
            Tap("Murah"),  # U4 = 3
            Say("kembali"),  # back to U4
            Tap("« Kembali"),  # back to U3
            Tap("Cepat"),  # U3 corrected to 3
            Tap("Murah"),  # U4 = 3 again
            Tap("Sesuai"),
            Tap("Kompeten"),
            Tap("Sopan dan ramah"),
            Tap("Cukup"),  # U9 = 2
            Tap("Tidak ada"),  # U8 = 1
            Tap("Lewati"),
            Tap("Ubah jawaban"),
            Tap("e:q:U9"),
            Tap("Sangat Baik"),  # U9 changed to 4, straight back to the summary
            Tap("Kirim"),
        ]
    )
    response = chat.submitted()
    assert response.scores == {
        "U1": 3,
        "U2": 3,
        "U3": 3,
        "U4": 3,
        "U5": 3,
        "U6": 3,
        "U7": 3,
        "U8": 1,
        "U9": 4,
    }
    assert response.profile == {}
    assert response.service_type == "KTP-el"
    assert not chat.effects(RecordConsent)  # consent was already on record
    check_golden("skm_back_and_edit", chat)


def test_golden_cancel_mid_survey() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.run(
        [
            Say("SKM dukcapil-mpp"),
            Tap("46–55 tahun"),
            Tap("Laki-laki"),
            Tap("D4/S1"),
            Tap("PNS"),
            Tap("KTP-el"),
            Tap("Sesuai"),
            Say("BATAL"),
            Say("halo"),
        ]
    )
    assert not chat.effects(SubmitResponse)
    assert chat.results[-2].outbound[0].text == ID["cancelled"]
    assert chat.state["unit"] is None and chat.state["answers"] == {}
    check_golden("skm_cancel", chat)


# --- 2. behaviour -------------------------------------------------------------------------------


def test_answers_are_stored_by_element_code_and_u9_is_asked_before_u8() -> None:
    chat = chat_at("q:U1")
    # A distinct score per asked position, so a positional mix-up shows.
    by_position = (1, 2, 3, 4, 1, 2, 3, 4, 2)
    for position, score in enumerate(by_position, start=1):
        code = chat.step.removeprefix("q:")
        assert chat.prompt.text.startswith(ID["question.progress"].format(n=position, total=9))
        assert f"\n{ID[f'question.{code}']}" in chat.prompt.text  # the regulation's words, whole
        if position == 8:
            assert code == "U9"
            assert ID["question.U9"] == (
                "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?"
            )
        if position == 9:
            assert code == "U8"
        chat.tap(str(score))
    chat.tap("skip")
    chat.tap("submit")
    response = chat.submitted()
    assert set(response.scores) == set(ELEMENTS)
    assert response.scores["U9"] == 4  # answered 8th
    assert response.scores["U8"] == 2  # answered 9th
    assert response.scores == {
        "U1": 1,
        "U2": 2,
        "U3": 3,
        "U4": 4,
        "U5": 1,
        "U6": 2,
        "U7": 3,
        "U9": 4,
        "U8": 2,
    }


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", ["Sangat mahal", "Cukup mahal", "Murah", "Gratis"]),
        ("en", ["Very expensive", "Rather expensive", "Cheap", "Free"]),
    ],
)
def test_u4_scale_runs_from_very_expensive_to_free(language: str, expected: list[str]) -> None:
    chat = chat_at("q:U4")
    chat.language = language
    chat.say("bantuan")  # re-asks the same question in the contact's language
    assert [(c.id, c.label) for c in chat.prompt.answer_choices()] == [
        (str(score), label) for score, label in enumerate(expected, start=1)
    ]
    chat.say(expected[-1].upper())
    answer_everything(chat, all_scores(2), suggestion=None)
    chat.tap("submit")
    assert chat.submitted().scores["U4"] == 4
    assert chat.submitted().scores["U1"] == 1


@pytest.mark.parametrize("skipped", PROFILE_ITEMS)
def test_every_profile_item_is_skippable(skipped: str) -> None:
    chat = chat_at("profile:age")
    chosen = {"age": "56+", "gender": "P", "education": "S3", "occupation": "LAINNYA"}
    for item in PROFILE_ITEMS:
        assert chat.step == f"profile:{item}"
        assert ID["nav.skip"] in labels(chat.prompt)
        chat.tap("skip" if item == skipped else chosen[item])
    answer_everything(chat, all_scores(3), suggestion=None)
    summary = chat.prompt.text
    assert f"{ID[f'summary.profile.{skipped}']}: {ID['summary.skipped']}" in summary
    chat.tap("submit")
    expected = {item: code for item, code in chosen.items() if item != skipped}
    assert chat.submitted().profile == expected


def test_skipping_the_whole_profile_submits_an_empty_profile() -> None:
    chat = chat_at("profile:age")
    for _ in PROFILE_ITEMS:
        chat.say("lewati")
    answer_everything(chat, all_scores(4), suggestion=None)
    chat.tap("submit")
    assert chat.submitted().profile == {}
    assert chat.submitted().scores == all_scores(4)


def test_service_type_is_chosen_automatically_when_the_unit_has_one() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{KANTOR}")
    for _ in PROFILE_ITEMS:
        chat.tap("skip")
    assert chat.step == "q:U1"  # no service question
    answer_everything(chat, all_scores(3), suggestion=None)
    assert f"{ID['summary.service']}: KTP-el" in chat.prompt.text
    edit = chat.tap("edit").outbound[-1]
    assert "e:service" not in [c.id for c in edit.choices]
    chat.say("batal")
    assert not chat.effects(SubmitResponse)


@pytest.mark.parametrize(("tap", "expected"), [("s:1", "Kartu Keluarga"), ("skip", None)])
def test_service_type_is_asked_when_the_unit_has_several(tap: str, expected: str | None) -> None:
    chat = chat_at("service")
    assert chat.prompt.text == ID["service.prompt"].format(unit=MPP_NAME)
    assert labels(chat.prompt) == [*MPP_SERVICES, ID["nav.skip"]]
    chat.tap(tap)
    assert chat.step == "q:U1"
    answer_everything(chat, all_scores(3), suggestion=None)
    chat.tap("submit")
    assert chat.submitted().service_type == expected


def test_consent_is_asked_when_none_is_on_record_and_recorded_with_now() -> None:
    chat = Chat()
    chat.command("start", f"u_{MPP}")
    assert chat.step == "consent"
    notice = chat.prompt.text
    assert notice == ID["consent.notice"].format(
        unit=MPP_NAME, organisation=SETTINGS.organisation, questions=9, minutes=2
    )
    assert [c.id for c in chat.prompt.answer_choices()] == ["yes", "no"]
    chat.now = NOW + timedelta(minutes=3)
    result = chat.tap("Setuju")
    assert result.effects == (RecordConsent(NOW + timedelta(minutes=3), "2026-1"),)
    assert chat.step == "profile:age"


def test_consent_is_not_asked_again_when_on_record() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{MPP}")
    assert chat.step == "profile:age"
    answer_everything(chat, all_scores(2), suggestion=None)
    chat.tap("submit")
    assert chat.effects(RecordConsent) == []
    assert len(chat.effects(SubmitResponse)) == 1


def test_declining_consent_writes_nothing() -> None:
    chat = Chat()
    chat.command("start", f"u_{MPP}")
    result = chat.tap("Tidak setuju")
    assert texts(result)[0] == ID["consent.declined"]
    assert not any(isinstance(e, RecordConsent | SubmitResponse) for e in result.effects)
    assert chat.step == "menu"
    assert chat.state["unit"] is None and chat.state["answers"] == {}
    # Nothing is waiting to be submitted: the menu's first choice starts afresh.
    chat.tap("survey")
    assert chat.step == "opd"
    assert not chat.effects(RecordConsent) and not chat.effects(SubmitResponse)


def test_suggestion_longer_than_the_cap_is_kept_and_retyping_is_offered() -> None:
    capped = replace(SETTINGS, suggestion_max_chars=50)
    chat = chat_at("suggestion", capped)
    assert "50" in chat.prompt.text
    result = chat.say("x" * 51)
    assert not result.effects and chat.step == "cut:suggestion"
    assert [c.id for c in chat.prompt.choices] == ["keep", "retype"]
    chat.tap("retype")
    assert chat.step == "suggestion" and "pending_text" not in chat.state["answers"]
    chat.say("y" * 50)
    assert chat.step == "summary"
    chat.tap("submit")
    assert chat.submitted().suggestion == "y" * 50


def test_suggestion_within_the_cap_is_kept_intact() -> None:
    suggestion = (
        "Pelayanan sudah baik 👍🏽\n"
        "Tapi antrean di loket 2 lama (±45 menit).\n"
        "\n"
        "Terima kasih — semoga lebih baik. Café «Ñ» 日本語 ✓"
    )
    chat = chat_at("suggestion")
    chat.say(suggestion)
    assert suggestion in chat.prompt.text  # shown back in the summary
    chat.tap("submit")
    assert chat.submitted().suggestion == suggestion


def test_suggestion_keeps_emoji_joined_with_zero_width_joiner() -> None:
    # 🤦‍♂️ and 👩‍⚕️ are one emoji each only with U+200D between their parts.
    suggestion = "Petugas lambat 🤦‍♂️ tapi dokter 👩‍⚕️ ramah"
    chat = chat_at("suggestion")
    chat.say(suggestion)
    chat.tap("submit")
    assert chat.submitted().suggestion == suggestion


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u200b\ufeff\u2060", "\u00ad"])
def test_suggestion_of_only_invisible_characters_is_refused(invisible: str) -> None:
    chat = chat_at("suggestion")
    before = chat.raw
    result = chat.say(invisible)
    assert result.effects == (InputRejected("error.text_empty"),)
    assert chat.raw == before


def test_skipped_suggestion_is_none() -> None:
    chat = chat_at("suggestion")
    chat.say("Lewati")
    chat.tap("submit")
    assert chat.submitted().suggestion is None


def test_summary_with_the_longest_suggestion_fits_a_whatsapp_body() -> None:
    # WhatsApp interactive messages carry at most 1024 characters of body text.
    chat = chat_at("suggestion")
    chat.say("s" * SETTINGS.suggestion_max_chars)
    assert chat.step == "summary"
    assert len(chat.prompt.text) <= 1024


@pytest.mark.parametrize(
    "entry",
    [Command("start", (f"u_{MPP}",)), Say(f"SKM {MPP}"), "menu"],
    ids=["deep-link", "skm-text", "menu"],
)
def test_unit_answered_recently_is_refused_kindly(entry: Action | str) -> None:
    chat = Chat(recent_units={MPP, "pkm-wania"})
    if entry == "menu":
        chat.command("start")
        chat.tap("survey")
        chat.tap("o:disdukcapil")
        result = chat.tap(f"u:{MPP}")
    else:
        assert not isinstance(entry, str)
        result = chat.must(entry)
    assert texts(result)[0] == ID["survey.already_today"].format(unit=MPP_NAME)
    assert InputRejected("repeat_response") in result.effects
    assert chat.step == "menu"
    assert chat.state["unit"] is None
    assert result.expires_at is None
    # Another unit works.
    chat.command("start", f"u_{KANTOR}")
    assert chat.step == "consent"
    assert chat.state["unit"] == KANTOR


def test_repeat_window_of_several_days_names_the_days() -> None:
    week = replace(SETTINGS, repeat_window_days=7)
    chat = Chat(settings=week, recent_units={MPP})
    result = chat.command("start", f"u_{MPP}")
    assert texts(result)[0] == ID["survey.already"].format(unit=MPP_NAME, days=7)
    assert chat.step == "menu"


def test_repeat_window_zero_allows_answering_again() -> None:
    unlimited = replace(SETTINGS, repeat_window_days=0)
    chat = Chat(settings=unlimited, recent_units={MPP}, consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{MPP}")
    assert chat.step == "profile:age"


def test_a_second_survey_of_the_same_unit_is_refused_after_submitting() -> None:
    chat = Chat(consent_at=CONSENT_ON_RECORD)
    chat.command("start", f"u_{KANTOR}")
    answer_everything(chat, all_scores(4), suggestion=None)
    chat.tap("submit")
    result = chat.say(f"SKM {KANTOR}")
    assert texts(result)[0] == ID["survey.already_today"].format(unit="Kantor Disdukcapil")
    assert len(chat.effects(SubmitResponse)) == 1


def test_units_are_paged_with_indicator_and_next_previous() -> None:
    chat = chat_at("opd")
    opds = chat.prompt
    assert [c.id for c in opds.answer_choices()] == ["o:disdukcapil", "o:dinkes"]  # no Dishub
    chat.tap("o:dinkes")
    page_one = chat.prompt
    title = ID["unit.prompt"].format(opd="Dinkes")
    assert page_one.text == f"{title} {ID['page.indicator'].format(page=1, pages=3)}"
    # Seven units in pages of at most three: 3, 2, 2 (issue 14, item 7).
    assert labels(page_one) == [
        "Puskesmas Timika",
        "Puskesmas Timika Jaya",
        "Puskesmas Kwamki Narama",
    ]
    # Paging is navigation, never a number: a number means a unit on every page.
    assert [c.id for c in page_one.nav_choices()] == ["page:+1", "back", "cancel"]
    chat.tap("page:+1")
    page_two = chat.prompt
    assert page_two.text.endswith(ID["page.indicator"].format(page=2, pages=3))
    # The inactive Puskesmas Agimuga is not listed.
    assert labels(page_two) == ["Puskesmas Mapurujaya", "Puskesmas Wania"]
    assert [c.id for c in page_two.nav_choices()] == ["page:-1", "page:+1", "back", "cancel"]
    chat.say("berikutnya")  # the label typed
    page_three = chat.prompt
    assert page_three.text.endswith(ID["page.indicator"].format(page=3, pages=3))
    assert labels(page_three) == ["Puskesmas Limau Asri", "Puskesmas Jila"]
    chat.say("sebelumnya")
    assert chat.prompt.text.endswith(ID["page.indicator"].format(page=2, pages=3))
    chat.tap("Puskesmas Wania")
    assert chat.step == "profile:age"  # consent is on record
    assert chat.state["unit"] == "pkm-wania"


def test_a_single_page_has_no_indicator_or_paging_buttons() -> None:
    chat = chat_at("unit")
    assert chat.prompt.text == ID["unit.prompt"].format(opd="Disdukcapil")
    ids = [c.id for c in chat.prompt.choices]
    assert ids == [f"u:{MPP}", f"u:{KANTOR}", "back", "cancel"]


def test_back_from_a_later_unit_page_shows_the_opd_page_the_citizen_came_from() -> None:
    many = Directory.build(
        opds=tuple(OpdInfo(f"opd-{n}", f"Dinas {n}") for n in range(1, 6)),
        units=(
            *(UnitInfo(f"u-{n}", f"Unit {n}", "opd-1", ("Umum",)) for n in range(1, 8)),
            *(UnitInfo(f"v-{n}", f"Unit lain {n}", f"opd-{n}", ("Umum",)) for n in range(2, 6)),
        ),
    )
    chat = Chat(directory=many)
    chat.command("start")
    chat.tap("survey")
    assert chat.prompt.text.endswith(ID["page.indicator"].format(page=1, pages=2))
    chat.tap("o:opd-1")
    chat.tap("page:+1")
    chat.tap("page:+1")
    assert chat.prompt.text.endswith(ID["page.indicator"].format(page=3, pages=3))
    chat.tap("back")
    assert chat.step == "opd"
    assert chat.prompt.text.endswith(ID["page.indicator"].format(page=1, pages=2))
    # Whatever page is shown, its paging buttons must move to another page.
    shown = chat.prompt.text
    paging = [c.id for c in chat.prompt.choices if c.id.startswith("page:")]
    chat.tap(paging[0])
    assert chat.prompt.text != shown


@pytest.mark.parametrize(
    "text",
    [f"SKM {MPP}", f"skm {MPP}", f"Skm {MPP.upper()}", f"   sKm    {MPP}   ", f"SKM\t{MPP}"],
)
def test_skm_code_text_starts_that_unit(text: str) -> None:
    chat = Chat()
    chat.say(text)
    assert chat.step == "consent"
    assert chat.state["unit"] == MPP
    assert MPP_NAME in chat.prompt.text


def test_skm_code_text_starts_a_unit_mid_conversation() -> None:
    chat = chat_at("opd")
    chat.say("SKM pkm-jila")
    assert chat.state["unit"] == "pkm-jila"


@pytest.mark.parametrize(
    ("entry", "message", "reason"),
    [
        (Say("SKM tidak-ada"), ID["unit.unknown"].format(code="tidak-ada"), "unknown_unit"),
        (
            Command("start", ("u_tidak-ada",)),
            ID["unit.unknown"].format(code="tidak-ada"),
            "unknown_unit",
        ),
        (
            Command("start", ("u_pkm-agimuga",)),
            ID["unit.closed"].format(unit="Puskesmas Agimuga"),
            "closed_unit",
        ),
        (
            Say("SKM dishub-kir"),
            ID["unit.closed"].format(unit="Uji KIR Kendaraan"),
            "closed_unit",
        ),
    ],
    ids=["unknown-text", "unknown-link", "inactive-unit", "inactive-opd"],
)
def test_unknown_or_inactive_unit_gets_a_kind_message_and_the_opd_menu(
    entry: Action, message: str, reason: str
) -> None:
    chat = Chat()
    result = chat.must(entry)
    assert texts(result)[0] == message
    assert result.effects == (InputRejected(reason),)
    assert chat.step == "opd"
    assert [c.id for c in chat.prompt.answer_choices()] == ["o:disdukcapil", "o:dinkes"]
    assert chat.state["unit"] is None


def test_idle_conversation_expires_politely_on_the_next_input() -> None:
    chat = chat_at("q:U3")
    assert chat.state["answers"]
    chat.now = datetime.fromisoformat(chat.state["last_activity"]) + timedelta(minutes=31)
    answers = chat.state["answers"]
    result = chat.say("3")
    assert texts(result)[0] == ID["expired"]
    # The late "3" is not read as an answer; the menu offers to go on (issue 14, item 17).
    assert chat.step == "menu" and chat.state["answers"] == answers
    assert [c.id for c in chat.prompt.answer_choices()][0] == "resume"
    assert not chat.effects(SubmitResponse)


def test_conversation_within_the_idle_timeout_does_not_expire() -> None:
    chat = chat_at("q:U3")
    chat.now = datetime.fromisoformat(chat.state["last_activity"]) + timedelta(minutes=29)
    result = chat.say("3")
    assert ID["expired"] not in texts(result)
    assert chat.step == "q:U4"
    assert chat.state["answers"]["U3"] == 3
    assert result.expires_at == chat.now - TICK + SETTINGS.idle_timeout


def test_rejected_inputs_do_not_keep_a_conversation_alive() -> None:
    chat = chat_at("q:U3")
    last = datetime.fromisoformat(chat.state["last_activity"])
    chat.now = last + timedelta(minutes=20)
    chat.say("bagus")  # refused: not an activity
    chat.now = last + timedelta(minutes=31)
    assert texts(chat.say("3"))[0] == ID["expired"]


def test_submit_reports_the_local_date_in_wit() -> None:
    # 00:25 WIT on the 26th, while it is still the 25th in UTC.
    chat = Chat(consent_at=CONSENT_ON_RECORD, now=datetime(2026, 11, 25, 15, 25, tzinfo=UTC))
    chat.command("start", f"u_{KANTOR}")
    answer_everything(chat, all_scores(3), suggestion=None)
    chat.tap("submit")
    assert chat.submitted().submitted_at.date() == date(2026, 11, 25)
    assert chat.submitted().local_date == date(2026, 11, 26)


# --- 3. bad input -------------------------------------------------------------------------------


def _assert_refused(chat: Chat, action: Action, error_keys: set[str] | None = None) -> None:
    before_raw = chat.raw
    before_prompt = chat.prompt
    result = chat.must(action)
    assert chat.raw == before_raw, "a refused input must not change the state at all"
    assert len(result.effects) == 1 and isinstance(result.effects[0], InputRejected)
    assert result.effects[0].reason.startswith(("error.", "age."))
    assert result.outbound, "a refused input is always answered"
    # An unavailable choice names the valid range ("ketik angka 1–6") where there is one.
    in_range = ID["error.choose.range"].format(n=len(before_prompt.answer_choices()))

    def shown(key: str) -> set[str]:
        if key == "age.out_of_range":
            return {age_unreadable}
        if key == "error.no_match":  # a name typed at a listing that matches nothing
            return {no_match}
        return {ID[key], in_range} if key == "error.choose" else {ID[key]}

    age_unreadable = ID["age.out_of_range"].format(n=len(before_prompt.answer_choices()))
    no_match = ID["error.no_match"].format(query=FREE_TEXT)
    error_texts = {ID[k] for k in ID if k.startswith("error.")}
    error_texts |= {in_range, age_unreadable, no_match}
    if chat.step == "menu" and result.effects[0].reason in {"error.choose", "error.empty"}:
        # At the main menu a typed stray word is told it was not understood, then the menu
        # again; a tap or an empty message simply gets the menu.
        assert len(result.outbound) in {1, 2}
        assert len(result.outbound) == 1 or texts(result)[0] == ID["error.not_understood"]
    else:
        assert texts(result)[0] in error_texts
    if error_keys is not None and chat.step != "menu" and len(result.outbound) > 1:
        assert texts(result)[0] in set().union(*(shown(k) for k in error_keys))
        assert result.effects[0].reason in error_keys
    again = result.outbound[-1]
    assert (again.text, again.choices, again.prompt_token) == (
        before_prompt.text,
        before_prompt.choices,
        before_prompt.prompt_token,
    )
    assert result.answered is None


FREE_TEXT = "pelayanannya bagus sekali"
BAD_INPUTS: list[tuple[str, Action, set[str] | None]] = [
    ("free-text", Say(FREE_TEXT), {"error.choose"}),
    ("number-99", Say("99"), {"error.choose"}),
    ("empty", Say(""), {"error.empty"}),
    ("whitespace", Say("  \t \n  "), {"error.empty"}),
    ("10k-chars", Say("a" * 10_000), {"error.too_long"}),
    ("control", Say("\x00\x07\x1b\x7f"), {"error.empty"}),
    ("zero-width", Say("\u200b\u200c\u200d\u2060"), {"error.empty", "error.choose"}),
    ("bom", Say("\ufeff"), {"error.empty", "error.choose"}),
    ("sticker", Send(InboundKind.UNSUPPORTED), {"error.unsupported"}),
    ("photo", Send(InboundKind.MEDIA), {"error.unsupported"}),
    ("forged", Tap("", forged_id="x:forged"), {"error.choose"}),
]


@pytest.mark.parametrize("step_name", CHOICE_STEPS)
@pytest.mark.parametrize(("kind", "action", "errors"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_re_asks_the_same_step_and_changes_nothing(
    step_name: str, kind: str, action: Action, errors: set[str] | None
) -> None:
    chat = chat_at(step_name)
    if (kind, step_name) == ("number-99", "profile:age"):
        # 99 is an age there (56 tahun ke atas); a number no one is stays refused.
        action, errors = Say("150"), {"age.out_of_range"}
    if (kind, step_name) in {("free-text", "opd"), ("free-text", "unit")}:
        errors = {"error.no_match"}  # text at a listing is read as a name (issue 14, item 7)
    _assert_refused(chat, action, errors)


@pytest.mark.parametrize("step_name", CHOICE_STEPS)
def test_stale_button_is_refused(step_name: str) -> None:
    chat = chat_at(step_name)
    current = chat.prompt
    stale = str(int(current.prompt_token or "0") - 1)
    # An id that exists on the current prompt too: only the token tells it is old.
    _assert_refused(chat, Tap(current.choices[0].id, token=stale), {"error.stale"})


@pytest.mark.parametrize("text", ["7", "0", "-1", "5", "12", "2.5", "3,5", "-4"])
def test_out_of_range_numbers_are_refused(text: str) -> None:
    _assert_refused(chat_at("q:U2"), Say(text), {"error.choose"})


@pytest.mark.parametrize("digit", ["\u19da", "\U00010a40", "\u2081\u2082\u2083"])
def test_digit_like_characters_never_crash(digit: str) -> None:
    # U+19DA and U+10A40 are "digits" to str.isdigit() but not to int().
    chat = chat_at("q:U2")
    before = chat.raw
    result = chat.say(digit)
    assert result.outbound
    if chat.raw != before:
        assert chat.step == "q:U3"


@pytest.mark.parametrize(
    ("step_name", "forged"),
    [
        ("q:U1", "5"),
        ("q:U1", "skip"),  # questions cannot be skipped
        ("q:U1", "submit"),
        ("opd", "o:dishub"),  # an inactive OPD
        ("unit", "u:dishub-kir"),  # a unit of another, inactive OPD
        ("unit", "u:pkm-agimuga"),  # an inactive unit
        ("unit", "page:+5"),
        ("summary", "e:q:U1"),
        ("edit", "e:unit"),
        ("consent", "maybe"),
    ],
)
def test_forged_buttons_with_the_current_token_are_refused(step_name: str, forged: str) -> None:
    chat = chat_at(step_name)
    _assert_refused(chat, Tap("", forged_id=forged), {"error.choose"})


def test_a_button_from_the_previous_question_does_not_answer_this_one() -> None:
    chat = chat_at("q:U1")
    old_token = chat.prompt.prompt_token
    chat.tap("4")
    assert chat.step == "q:U2"
    _assert_refused(chat, Tap("", forged_id="1", token=old_token), {"error.stale"})
    chat.tap("3")
    answer_everything(chat, all_scores(2), suggestion=None)
    chat.tap("submit")
    assert chat.submitted().scores["U1"] == 4
    assert chat.submitted().scores["U2"] == 3


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("sangat sesuai", 4),
        ("SANGAT SESUAI", 4),
        ("  Sangat   Sesuai  ", 4),
        ("Sangat sesuai.", 4),
        ("tidak sesuai", 1),
        ("kurang Sesuai", 2),
        ("sesuai", 3),
        ("1", 1),
        ("4", 4),
        (" 2 ", 2),
    ],
)
def test_typed_labels_and_numbers_are_understood(text: str, score: int) -> None:
    chat = chat_at("q:U1")
    result = chat.say(text)
    assert not result.effects
    assert chat.step == "q:U2"
    assert chat.state["answers"]["U1"] == score
    assert result.answered is not None
    assert result.answered.answer_label == ID[f"answer.U1.{score}"]


def test_button_choice_reports_the_answered_prompt() -> None:
    chat = chat_at("q:U5")
    question = chat.prompt
    result = chat.tap("Sangat sesuai")
    assert result.answered is not None
    assert result.answered.prompt_token == question.prompt_token
    assert result.answered.question == question.text
    assert result.answered.answer_label == "Sangat sesuai"


# Every step of the menu path, and the step "kembali" should lead back to.
MENU_PATH_BACK = {
    "opd": "menu",
    "unit": "opd",
    "consent": "unit",
    "profile:gender": "profile:age",
    "profile:education": "profile:gender",
    "profile:occupation": "profile:education",
    "service": "profile:occupation",
    "q:U1": "service",
    **{f"q:{b}": f"q:{a}" for a, b in zip(ASKED_ORDER, ASKED_ORDER[1:], strict=False)},
    "suggestion": "q:U8",
    "summary": "suggestion",
    "edit": "summary",
}


@pytest.mark.parametrize("keyword", ["kembali", "KEMBALI", "back", "« Kembali"])
@pytest.mark.parametrize(("step_name", "previous"), MENU_PATH_BACK.items())
def test_back_keyword_goes_to_the_previous_step(
    step_name: str, previous: str, keyword: str
) -> None:
    chat = chat_at(step_name)
    answers = chat.state["answers"]
    result = chat.say(keyword)
    assert chat.step == previous
    assert not result.effects
    assert result.outbound[-1].prompt_token == str(chat.state["seq"])
    if previous not in {"menu", "opd", "unit"}:
        assert chat.state["answers"] == answers  # going back forgets nothing


@pytest.mark.parametrize(
    "step_name", [s for s in SURVEY_STEPS if s not in {"consent", "profile:age"}]
)
def test_back_then_forward_keeps_the_survey_on_track(step_name: str) -> None:
    chat = chat_at(step_name)
    chat.say("kembali")
    if step_name == "edit":  # the list of answers to change goes back to the summary
        assert chat.step == "summary"
        return
    if chat.step == "suggestion":
        chat.say(SUGGESTION)
    else:
        chat.tap(chat.prompt.answer_choices()[0].id)
    assert chat.step == step_name or (step_name == "edit" and chat.step == "summary")


def test_back_while_editing_from_the_summary_returns_to_the_summary() -> None:
    chat = chat_at("edit")
    chat.tap("e:q:U3")
    assert chat.step == "q:U3"
    chat.say("kembali")
    assert chat.step in {"edit", "summary"}


@pytest.mark.parametrize("keyword", ["batal", "Batal", "BATAL", "cancel"])
@pytest.mark.parametrize("step_name", [s for s in CHOICE_STEPS if s != "menu"] + ["suggestion"])
def test_cancel_keyword_ends_the_survey_politely(step_name: str, keyword: str) -> None:
    chat = chat_at(step_name)
    result = chat.say(keyword)
    assert texts(result)[0] == ID["cancelled"]
    assert chat.step == "menu"
    assert chat.state["unit"] is None and chat.state["answers"] == {}
    assert not any(isinstance(e, SubmitResponse) for e in result.effects)
    assert result.outbound[-1].text == ID["menu.welcome"].format(organisation=SETTINGS.organisation)


def test_cancel_at_the_menu_just_shows_the_menu() -> None:
    chat = chat_at("menu")
    result = chat.say("batal")
    assert ID["cancelled"] not in texts(result)
    assert chat.step == "menu"


@pytest.mark.parametrize("keyword", ["ulang", "ULANG", "repeat"])
@pytest.mark.parametrize("step_name", (*CHOICE_STEPS, "suggestion"))
def test_ulang_repeats_the_current_question_and_keeps_every_answer(
    step_name: str, keyword: str
) -> None:
    # In everyday Indonesian "ulang" is "say that again", never "throw my answers away".
    chat = chat_at(step_name)
    before = chat.state
    prompt = chat.prompt
    result = chat.say(keyword)
    assert not result.effects
    [again] = result.outbound
    assert (again.text, again.choices, again.prompt_token) == (
        prompt.text,
        prompt.choices,
        prompt.prompt_token,
    )
    assert {k: v for k, v in chat.state.items() if k != "last_activity"} == {
        k: v for k, v in before.items() if k != "last_activity"
    }


def test_back_at_the_menu_stays_at_the_menu() -> None:
    chat = chat_at("menu")
    result = chat.say("kembali")
    assert chat.step == "menu"
    assert not result.effects
    assert result.outbound[-1].text == ID["menu.welcome"].format(organisation=SETTINGS.organisation)


@pytest.mark.parametrize("keyword", ["bantuan", "Bantuan", "help"])
@pytest.mark.parametrize("step_name", (*CHOICE_STEPS, "suggestion"))
def test_help_keyword_explains_and_asks_the_same_step_again(step_name: str, keyword: str) -> None:
    chat = chat_at(step_name)
    before = chat.state
    prompt = chat.prompt
    result = chat.say(keyword)
    assert texts(result)[0].startswith(ID["help.text"])
    assert not result.effects
    again = result.outbound[-1]
    assert (again.text, again.choices, again.prompt_token) == (
        prompt.text,
        prompt.choices,
        prompt.prompt_token,
    )
    assert {k: v for k, v in chat.state.items() if k != "last_activity"} == {
        k: v for k, v in before.items() if k != "last_activity"
    }


@pytest.mark.parametrize("step_name", (*CHOICE_STEPS, "suggestion"))
def test_language_keyword_switches_and_resumes_the_same_step(step_name: str) -> None:
    chat = chat_at(step_name)
    before = chat.state
    chat.say("bahasa")
    assert chat.step == "language"
    assert labels(chat.prompt) == ["Bahasa Indonesia", "English"]
    result = chat.tap("English")
    assert result.effects == (SetLanguage("en"),)
    assert texts(result)[0] == EN["language.set"]
    assert chat.step == step_name
    assert chat.state["answers"] == before["answers"]
    assert chat.state["unit"] == before["unit"]
    assert all(o.language == "en" for o in result.outbound)


def test_back_from_the_language_prompt_returns_to_the_survey() -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    chat.say("bahasa")
    chat.say("kembali")
    assert chat.step == "q:U3"
    assert chat.state["answers"] == answers


def test_typing_bahasa_at_the_language_prompt_keeps_the_survey() -> None:
    # "Bahasa" is what a citizen may type to mean "Bahasa Indonesia".
    chat = chat_at("q:U3")
    chat.say("bahasa")
    chat.say("bahasa")
    chat.tap("Bahasa Indonesia")
    assert chat.step == "q:U3"


@pytest.mark.parametrize("keyword", ["kembali", "batal", "ulang", "bantuan", "bahasa"])
def test_keywords_are_not_taken_as_a_suggestion(keyword: str) -> None:
    chat = chat_at("suggestion")
    chat.say(keyword)
    assert chat.step != "summary"
    assert "suggestion" not in chat.state["answers"]


# --- the property --------------------------------------------------------------------------------

PROPERTY_STEPS = tuple(s for s in SURVEY_STEPS if s not in {"consent", "summary", "edit"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in decomposed if ch.isalnum() or ch.isspace())
    return " ".join(kept.split())


_TRICKY = st.sampled_from(
    [
        "1",
        "4",
        "-1",
        "0",
        "lewati",
        "Sangat sesuai",
        "Tidak Sesuai!",
        "\u200b",
        "３",
        "①",
        "٣",
        "x" * 5000,
        "SKM",
        "skm-",
    ]
)
_DIGITS = st.text(
    alphabet=st.characters(categories=("Nd", "No")),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    step_name=st.sampled_from(PROPERTY_STEPS),
    raw=st.one_of(st.text(max_size=200), _TRICKY, _DIGITS),
)
def test_any_text_at_a_question_never_raises_and_moves_at_most_one_step(
    step_name: str, raw: str
) -> None:
    assume(_fold(raw) not in KEYWORDS)
    assume(not re.match(r"\s*skm\s", raw[:80], re.IGNORECASE))
    chat = chat_at(step_name)
    before = chat.state
    result = chat.say(raw)
    assert result.outbound
    after = chat.state
    if after == before:
        assert all(isinstance(e, InputRejected) for e in result.effects)
        return
    sequence = skm.survey_sequence(DIRECTORY.unit(MPP))  # type: ignore[arg-type]
    assert after["step"] == sequence[sequence.index(step_name) + 1]
    assert after["history"] == [*before["history"], step_name]
    keys = before["answers"].keys() | after["answers"].keys()
    changed = {k for k in keys if before["answers"].get(k) != after["answers"].get(k)}
    key = step_name.split(":")[-1]
    assert changed <= {key}


# --- "you said, we did" (issue 17 item 3) ------------------------------------------------------


def test_the_thank_you_offers_one_optional_button_to_hear_what_the_unit_did() -> None:
    chat = chat_at("summary")
    thanks = chat.tap("submit")
    assert len(thanks.outbound) == 1  # still one message: the thanks with the menu
    assert [c.id for c in thanks.outbound[0].choices].count("followup") == 1
    quarter = f"{chat.now.year}-Q{(chat.now.month - 1) // 3 + 1}"
    opted = chat.tap("followup")
    assert chat.effects(FollowUpOptIn) == [FollowUpOptIn(MPP, quarter)]
    assert len(opted.outbound) == 1 and opted.outbound[0].text.startswith("Baik. Bila unit ini")
    assert "followup" not in [c.id for c in opted.outbound[0].choices]  # asked once
    assert chat.step == "menu"


def test_other_menu_steps_have_no_follow_up_button_and_one_word_opts_out() -> None:
    chat = chat_at("menu")
    assert "followup" not in [c.id for c in chat.prompt.choices]
    chat.tap("survey")
    result = chat.say("berhenti")
    assert chat.effects(FollowUpOptOut) == [FollowUpOptOut()]
    assert texts(result)[0] == "Baik, Bapak/Ibu tidak akan menerima kabar tindak lanjut lagi."
    assert chat.step == "opd"  # the step goes on where it was
    english = chat_at("menu")
    english.language = "en"
    assert texts(english.command("unsubscribe"))[0] == (
        "All right, you will get no more follow-up news."
    )
