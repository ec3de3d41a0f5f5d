"""Issue 14: the citizen's conversation as a patient counter officer would hold it.

Ordinary words never throw work away (``ulang`` repeats; leaving words ask once), over-long
text is kept, and every citizen text speaks with one voice.
"""

from __future__ import annotations

import pytest

from survey_flows.catalog import MESSAGES
from survey_flows.types import InboundKind, SubmitResponse
from tests.support.complaint_chat import DESCRIPTION
from tests.support.complaint_chat import Chat as ComplaintChat
from tests.support.survey_chat import chat_at, texts

ID, EN = MESSAGES["id"], MESSAGES["en"]
LEAVING_WORDS = ["mulai", "menu", "start", "stop", "status", "survei", "pengaduan", "lapor"]


# --- item 2: leaving words ask once when answers exist ---------------------------------------


@pytest.mark.parametrize("word", LEAVING_WORDS)
def test_a_leaving_word_mid_survey_asks_once_and_no_keeps_every_answer(word: str) -> None:
    chat = chat_at("q:U3")
    answers = chat.state["answers"]
    result = chat.say(word)
    assert chat.step.startswith("leave:")
    assert texts(result)[-1].startswith("Bapak/Ibu sedang mengisi survei untuk ")
    assert [c.id for c in chat.prompt.choices] == ["leave", "stay"]
    assert not result.effects
    chat.tap("stay")
    assert chat.step == "q:U3"
    assert chat.state["answers"] == answers


@pytest.mark.parametrize("word", LEAVING_WORDS)
def test_the_same_word_twice_or_yes_leaves(word: str) -> None:
    for second in (word, "1"):
        chat = chat_at("q:U3")
        chat.say(word)
        result = chat.say(second)
        assert chat.state["unit"] is None or chat.state["answers"] == {}
        assert not any(isinstance(e, SubmitResponse) for e in result.effects)
        assert not chat.step.startswith("leave:")


def test_a_slash_command_mid_survey_asks_too_but_batal_cancels_at_once() -> None:
    chat = chat_at("q:U3")
    chat.command("menu")
    assert chat.step == "leave:menu"
    chat.say("kembali")
    assert chat.step == "q:U3"
    result = chat.say("batal")
    assert texts(result)[0] == ID["cancelled"] and chat.step == "menu"


def test_leaving_before_any_answer_does_not_ask() -> None:
    chat = chat_at("profile:age")
    chat.say("menu")
    assert chat.step == "menu"


def test_a_leaving_word_is_the_suggestion_itself_at_the_suggestion_step() -> None:
    chat = chat_at("suggestion")
    chat.say("menu")
    assert chat.step == "summary"
    assert chat.state["answers"]["suggestion"] == "menu"


def test_a_leaving_word_inside_a_complaint_asks_with_the_complaint_s_words() -> None:
    chat = ComplaintChat()
    chat.send(InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    chat.say("1")
    # At the description step a keyword is part of the text (here: too short, asked again).
    chat.say("status")
    assert chat.state is not None and chat.state["step"] == "c:desc"
    chat.say(DESCRIPTION)
    result = chat.say("pengaduan")
    assert chat.state["step"] == "leave:complaint"
    assert result.outbound[-1].text == ID["leave.complaint"].format(unit="Loket Disdukcapil MPP")
    chat.say("2")
    assert chat.state["step"] == "c:photo"
    assert chat.state["answers"]["description"] == DESCRIPTION


def test_the_leave_question_is_in_both_languages() -> None:
    for key in ("leave.skm", "leave.complaint", "leave.yes", "leave.no"):
        assert ID[key] and EN[key]
    assert "Bapak/Ibu" in ID["leave.skm"] and "Bapak/Ibu" in ID["leave.complaint"]


# --- item 3: over-long text is kept -----------------------------------------------------------


def test_an_over_long_suggestion_offers_its_first_1000_characters() -> None:
    chat = chat_at("suggestion")
    typed = "a" * 1000 + "Bagian akhir yang terpotong." + "b" * 200
    result = chat.say(typed)
    assert chat.step == "cut:suggestion"
    [offer] = texts(result)
    assert "1.228 karakter" in offer and "1.000 karakter pertama" in offer
    assert "228 karakter terakhir" in offer and "“Bagian akhir yang terpotong." in offer
    chat.tap("Simpan yang dipotong")
    assert chat.step == "summary"
    assert chat.state["answers"]["suggestion"] == "a" * 1000
    assert "pending_text" not in chat.state["answers"]
    chat.tap("submit")
    assert chat.submitted().suggestion == "a" * 1000


def test_back_at_the_cut_offer_returns_to_the_suggestion_question() -> None:
    chat = chat_at("suggestion")
    chat.say("x" * 1001)
    chat.say("kembali")
    assert chat.step == "suggestion" and "pending_text" not in chat.state["answers"]


def test_an_over_long_complaint_is_kept_cut_to_2000_characters() -> None:
    chat = ComplaintChat()
    chat.send(InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    chat.say("1")
    typed = DESCRIPTION * 40  # far over 2,000 characters
    result = chat.say(typed)
    assert chat.state is not None and chat.state["step"] == "cut:c:desc"
    assert "2.000 karakter pertama" in result.outbound[-1].text
    chat.say("1")
    assert chat.state["step"] == "c:photo"
    assert chat.state["answers"]["description"] == typed[:2000]


# --- item 10: one form of address; plain hints under U5 and U8 ---------------------------------

OFFICER_OR_STAFF_PREFIXES = ("officer.", "digest.", "complaint.error.forbidden")


def test_citizen_texts_say_bapak_ibu_never_anda() -> None:
    citizen = {k: v for k, v in ID.items() if not k.startswith(OFFICER_OR_STAFF_PREFIXES)}
    assert [key for key, value in citizen.items() if "Anda" in value] == []


@pytest.mark.parametrize("code", ["U5", "U8"])
def test_u5_and_u8_keep_the_regulation_s_words_with_a_plain_hint_under_them(code: str) -> None:
    chat = chat_at(f"q:{code}")
    question, hint = chat.prompt.text.split("\n")[1:]
    assert question == ID[f"question.{code}"] and "Saudara" in question
    assert hint == ID[f"question.{code}.hint"]
