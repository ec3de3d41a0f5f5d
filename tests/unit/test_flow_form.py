"""The questionnaire as a WhatsApp Flow: the pure form (fields, labels, reading it back through
the chat's rules), its Flow JSON, and the engine's side (offering it, a returned form, refusals).

The engine is driven as the dispatcher drives it: the state goes through ``json`` between
every step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.whatsapp.flow import (
    FLOW_JSON_VERSION,
    OPTION_TITLE_MAX,
    RADIO_LABEL_MAX,
    flow_json,
    flow_message,
)
from survey_flows import skm
from survey_flows.catalog import MESSAGES
from survey_flows.directory import Directory, OpdInfo, UnitInfo
from survey_flows.engine import FlowSettings, StepContext
from survey_flows.form import FIELDS, FIRST_SCREEN, form_definition, read_form
from survey_flows.questionnaire import PROFILE_CHOICES, PROFILE_ITEMS, QUESTION_ORDER
from survey_flows.types import (
    Channel,
    FormOffer,
    Inbound,
    InboundKind,
    InputRejected,
    Outbound,
    StepResult,
    SubmitResponse,
)

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
DIRECTORY = Directory.build(
    opds=(OpdInfo("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil"),),
    units=(
        UnitInfo("kantor", "Kantor Disdukcapil", "disdukcapil", ("KTP-el",)),
        UnitInfo("mpp", "Loket MPP", "disdukcapil", ("KTP-el", "Kartu Keluarga")),
    ),
)
SCORES = {"U1": 4, "U2": 3, "U3": 3, "U4": 4, "U5": 3, "U6": 2, "U7": 4, "U9": 1, "U8": 4}
PROFILE = {"age": "26-35", "gender": "P", "occupation": "WIRAUSAHA"}  # education skipped
SUGGESTION = "Antrean mohon dipercepat."
# The chat's first profile question, numbered (issue 14, item 16).
AGE_PROMPT = "\n".join(
    (
        MESSAGES["id"]["survey.profile_progress"].format(n=1, total=4),
        MESSAGES["id"]["profile.age.prompt"],
    )
)


def form_fields(**changes: Any) -> dict[str, Any]:
    """A completed form's fields as Meta returns them (ids are strings)."""
    fields: dict[str, Any] = {code: str(score) for code, score in SCORES.items()}
    fields.update(PROFILE)
    fields["suggestion"] = SUGGESTION
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not ...}


@dataclass
class Chat:
    """The engine between JSON round trips, as the dispatcher drives it."""

    forms: frozenset[str] = frozenset({"id", "en"})
    state: str = "null"
    seq: int = 0
    consent: datetime | None = None
    results: list[StepResult] = field(default_factory=list)

    def send(self, kind: InboundKind, **values: Any) -> StepResult:
        self.seq += 1
        inbound = Inbound(
            Channel.WHATSAPP,
            "ID.1",
            f"e{self.seq}",
            kind,
            NOW + timedelta(seconds=self.seq),
            **values,
        )
        context = StepContext(
            now=NOW + timedelta(seconds=self.seq),
            directory=DIRECTORY,
            language="id",
            consent_at=self.consent,
            settings=FlowSettings(suggestion_max_chars=100),
            form_languages=self.forms,
            nonce=f"n{self.seq}",
        )
        result = skm.step(json.loads(self.state), inbound, context)
        self.state = json.dumps(result.state)
        if any(type(e).__name__ == "RecordConsent" for e in result.effects):
            self.consent = NOW
        self.results.append(result)
        return result

    def last(self) -> Outbound:
        return self.results[-1].outbound[-1]

    def tap(self, choice_id: str) -> StepResult:
        return self.send(
            InboundKind.CHOICE, choice_id=choice_id, prompt_token=self.last().prompt_token
        )

    def start(self, unit: str = "kantor") -> Outbound:
        self.send(InboundKind.COMMAND, command="start", command_args=(f"u_{unit}",))
        self.tap("yes")
        return self.last()

    def return_form(self, fields: dict[str, Any] | None, token: str | None = None) -> StepResult:
        return self.send(InboundKind.FORM, form=fields, prompt_token=token)


def submitted(result: StepResult) -> SubmitResponse | None:
    found = [e for e in result.effects if isinstance(e, SubmitResponse)]
    return found[0] if found else None


def rejected(result: StepResult) -> list[str]:
    return [e.reason for e in result.effects if isinstance(e, InputRejected)]


# --- the form's definition -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["id", "en"])
def test_form_has_the_chats_questions_and_labels(language: str) -> None:
    catalogue = MESSAGES[language]
    definition = form_definition(language)
    fields = [f for screen in definition.screens for f in screen.fields]
    assert [f.name for f in fields] == [
        "service",
        *QUESTION_ORDER,
        *dict(PROFILE_ITEMS),
        "suggestion",
    ]
    for f in fields:
        if f.name in QUESTION_ORDER:
            assert f.required
            assert f.question == catalogue[f"question.{f.name}"]
            assert [(o.id, o.title) for o in f.options] == [
                (str(s), catalogue[f"answer.{f.name}.{s}"]) for s in (1, 2, 3, 4)
            ]
        elif f.name in dict(PROFILE_ITEMS):
            assert not f.required
            assert [o.id for o in f.options] == list(dict(PROFILE_CHOICES)[f.name])
        elif f.name == "service":  # its options come with the message, per unit
            assert f.per_unit and not f.options and not f.required
        else:
            assert not f.options and not f.required
    assert (
        definition.fingerprint()
        != form_definition("en" if language == "id" else "id").fingerprint()
    )


def test_flow_json_shape_follows_metas_reference() -> None:
    document = flow_json(form_definition("id"))
    assert document["version"] == FLOW_JSON_VERSION
    screens = document["screens"]
    assert screens[0]["id"] == FIRST_SCREEN
    # One screen: the nine elements, the optional profile and the suggestion, no "Lanjut".
    assert len(screens) == 1
    children = screens[0]["layout"]["children"]
    assert len(children) <= 50  # Meta's limit of components on a screen
    assert children[-1]["label"] == "Setuju & kirim"
    assert children[-2] == {"type": "TextCaption", "text": MESSAGES["id"]["form.consent.screen"]}
    screen = screens[0]
    assert screen["layout"]["type"] == "SingleColumnLayout" and screen["terminal"] is True
    # The unit's service types come with the message: declared as the screen's data.
    assert set(screen["data"]) == {"service_types", "ask_service"}
    for child in children:
        if child["type"] == "RadioButtonsGroup" and child["name"] == "service":
            assert child["data-source"] == "${data.service_types}"
            assert child["visible"] == "${data.ask_service}" and not child["required"]
        elif child["type"] == "RadioButtonsGroup":
            assert len(child["label"]) <= RADIO_LABEL_MAX
            assert all(len(o["title"]) <= OPTION_TITLE_MAX for o in child["data-source"])
    names = [c["name"] for c in children if "name" in c]
    action = children[-1]["on-click-action"]
    assert action == {"name": "complete", "payload": {n: f"${{form.{n}}}" for n in names}}
    assert set(names) == FIELDS


def test_flow_message_opens_the_first_screen_with_the_units_service_types() -> None:
    services = (("s:0", "Perekaman dan cetak KTP-el untuk warga baru"), ("s:1", "Kartu Keluarga"))
    offer = FormOffer("skm|3|kantor|n1", "Isi ya", "Isi survei", services)
    content = flow_message(offer, "1234", "Isi ya")
    parameters = content["interactive"]["action"]["parameters"]
    assert content["interactive"]["type"] == "flow"
    assert content["interactive"]["action"]["name"] == "flow"
    assert parameters == {
        "flow_message_version": "3",
        "flow_token": "skm|3|kantor|n1",
        "flow_id": "1234",
        "flow_cta": "Isi survei",
        "flow_action": "navigate",
        "flow_action_payload": {
            "screen": FIRST_SCREEN,
            "data": {
                "service_types": [
                    {"id": "s:0", "title": "Perekaman dan cetak KTP-el…"},  # within 30
                    {"id": "s:1", "title": "Kartu Keluarga"},
                ],
                "ask_service": True,
            },
        },
    }
    one = flow_message(replace(offer, services=services[:1]), "1234", "Isi ya")
    assert one["interactive"]["action"]["parameters"]["flow_action_payload"]["data"] == {
        "service_types": [{"id": "s:0", "title": "Perekaman dan cetak KTP-el…"}],
        "ask_service": False,  # one type: recorded without asking, the group stays hidden
    }


# --- reading a form back ---------------------------------------------------------------------


def test_read_form_keeps_valid_items_and_names_the_rest() -> None:
    reading = read_form(
        form_fields(U2="5", U3="", U7=True, age="99", gender="", suggestion="x" * 101),
        suggestion_max=100,
    )
    assert reading.refused is None
    assert reading.to_ask == ("profile:age", "q:U2", "q:U3", "q:U7", "suggestion")
    assert "gender" not in reading.answers  # empty: skipped, as in the chat
    assert reading.answers["U1"] == 4 and "U2" not in reading.answers


def test_read_form_refuses_unknown_fields_and_unreadable_forms() -> None:
    assert read_form(form_fields(extra="1"), suggestion_max=100).refused == "form_unknown_field"
    assert read_form(None, suggestion_max=100).refused == "form_malformed"


# --- the engine ------------------------------------------------------------------------------


def test_form_is_offered_once_after_consent_and_submits_like_the_chat() -> None:
    chat = Chat()
    offered = chat.start()
    assert offered.form is not None
    assert offered.form.token.startswith("skm|") and "|kantor|" in offered.form.token
    # The first question stays in the message: a channel that cannot show the form sends it.
    assert offered.answer_choices() and offered.text == AGE_PROMPT
    result = chat.return_form(form_fields(), offered.form.token)
    response = submitted(result)
    assert response is not None
    assert response.scores == SCORES
    assert response.profile == PROFILE
    assert response.suggestion == SUGGESTION
    assert response.service_type == "KTP-el"

    # The same answers through the chat give the same response.
    by_chat = Chat(forms=frozenset())
    first = by_chat.start()
    assert first.form is None
    for choice in ("26-35", "P", "skip", "WIRAUSAHA", *(str(SCORES[c]) for c in QUESTION_ORDER)):
        by_chat.tap(choice)
    by_chat.send(InboundKind.TEXT, text=SUGGESTION)
    chat_response = submitted(by_chat.tap("submit"))
    assert chat_response is not None
    for name in ("scores", "profile", "suggestion", "service_type", "unit_code"):
        assert getattr(chat_response, name) == getattr(response, name)


def test_with_consent_on_record_the_form_comes_first() -> None:
    chat = Chat(consent=NOW)
    chat.send(InboundKind.COMMAND, command="start", command_args=("u_kantor",))
    offered = chat.last()
    assert offered.form is not None
    assert offered.text == AGE_PROMPT  # the chat's first question
    # The notice comes with every form: its "Setuju & kirim" agrees to what the message says.
    assert "ketik HAPUS" in offered.form.body and "Setuju & kirim" in offered.form.body
    result = chat.return_form(form_fields(), offered.form.token)
    assert submitted(result) is not None
    assert not [e for e in result.effects if type(e).__name__ == "RecordConsent"]  # on record


def consent_offer(chat: Chat) -> Outbound:
    chat.send(InboundKind.COMMAND, command="start", command_args=("u_kantor",))
    offered = chat.last()
    assert offered.form is not None and offered.choices[0].id == "yes"  # the chat's consent
    return offered


def test_the_form_carries_the_consent_notice_and_sending_it_is_the_consent() -> None:
    chat = Chat()
    offered = consent_offer(chat)
    assert offered.form is not None
    notice, _, question = offered.text.rpartition("\n")
    assert question == "Apakah Bapak/Ibu setuju?"
    # The whole notice (purpose, what is kept, retention, rights), then how to agree or not.
    assert offered.form.body == f"{notice}\n{MESSAGES['id']['form.consent.how']}"
    assert "ketik HAPUS" in offered.form.body and "Setuju & kirim" in offered.form.body
    result = chat.return_form(form_fields(), offered.form.token)
    consents = [e for e in result.effects if type(e).__name__ == "RecordConsent"]
    assert len(consents) == 1
    assert consents[0].notice_version == FlowSettings().consent_notice_version
    assert submitted(result) is not None
    # One message: the thanks, then the menu again (issue 14, item 16).
    [message] = result.outbound
    assert message.text.startswith(MESSAGES["id"]["thanks"].format(unit="Kantor Disdukcapil"))


def test_an_unreadable_form_at_consent_records_no_consent() -> None:
    chat = Chat()
    offered = consent_offer(chat)
    assert offered.form is not None
    result = chat.return_form({"U1": "4", "hack": "1"}, offered.form.token)
    assert not [e for e in result.effects if type(e).__name__ == "RecordConsent"]
    assert result.outbound[-1].choices[0].id == "yes"  # the consent, asked in the chat


def test_a_partial_form_at_consent_is_the_consent_and_continues_in_chat() -> None:
    chat = Chat()
    offered = consent_offer(chat)
    assert offered.form is not None
    result = chat.return_form(form_fields(U5=...), offered.form.token)
    assert [type(e).__name__ for e in result.effects] == ["RecordConsent"]
    assert MESSAGES["id"]["question.U5"] in chat.last().text
    chat.tap("back")  # back from the open item: the survey's first step, not the consent
    assert chat.last().text == AGE_PROMPT


def test_a_form_in_another_language_is_not_offered() -> None:
    assert Chat(forms=frozenset({"en"})).start().form is None


def test_missing_items_continue_in_chat_then_summary() -> None:
    chat = Chat()
    offered = chat.start("mpp")  # two service types
    assert offered.form is not None
    fields = form_fields(U3=..., age="99", service="s:7")  # no option of this unit
    result = chat.return_form(fields, offered.form.token)
    assert submitted(result) is None and not rejected(result)
    assert result.outbound[0].text == MESSAGES["id"]["form.partial"]
    assert chat.last().text == AGE_PROMPT
    chat.tap("36-45")
    assert "Kartu Keluarga" in [c.label for c in chat.last().choices]
    chat.tap("s:1")
    assert MESSAGES["id"]["question.U3"] in chat.last().text
    chat.tap("2")
    assert chat.last().choices[0].id == "submit"  # the summary
    response = submitted(chat.tap("submit"))
    assert response is not None
    assert response.scores == {**SCORES, "U3": 2}
    assert response.profile == {**PROFILE, "age": "36-45"}
    assert response.service_type == "Kartu Keluarga"


@pytest.mark.parametrize(
    ("returned", "stored"), [("s:1", "Kartu Keluarga"), ("", None), (..., None)]
)
def test_the_form_asks_the_units_service_type_optionally(returned: Any, stored: Any) -> None:
    chat = Chat()
    offered = chat.start("mpp")
    assert offered.form is not None
    assert offered.form.services == (("s:0", "KTP-el"), ("s:1", "Kartu Keluarga"))
    response = submitted(chat.return_form(form_fields(service=returned), offered.form.token))
    assert response is not None and response.service_type == stored  # empty: skipped


@pytest.mark.parametrize(
    "token",
    [None, "skm|1|kantor|forged", "skm|9|mpp|n2", "not-a-token"],
)
def test_a_foreign_or_forged_token_is_refused_and_changes_nothing(token: str | None) -> None:
    chat = Chat()
    chat.start()
    before = chat.state
    result = chat.return_form(form_fields(), token)
    assert rejected(result) == ["form_stale"]
    assert submitted(result) is None
    assert chat.state == before
    assert result.outbound[0].text == MESSAGES["id"]["form.stale"]


def test_a_second_reply_for_the_same_form_is_a_duplicate() -> None:
    chat = Chat()
    offered = chat.start()
    assert offered.form is not None
    assert submitted(chat.return_form(form_fields(), offered.form.token)) is not None
    again = chat.return_form(form_fields(), offered.form.token)
    assert submitted(again) is None and rejected(again) == ["form_stale"]


@pytest.mark.parametrize("fields", [None, {"U1": "4", "hack": "1"}])
def test_an_unreadable_form_is_refused_and_the_chat_continues(fields: Any) -> None:
    chat = Chat()
    offered = chat.start()
    assert offered.form is not None
    before = chat.state
    result = chat.return_form(fields, offered.form.token)
    assert submitted(result) is None and rejected(result)
    assert result.outbound[0].text == MESSAGES["id"]["form.refused"]
    assert result.outbound[-1].text == AGE_PROMPT
    assert chat.state == before
    # The form is still this survey's: a good reply afterwards is accepted.
    assert submitted(chat.return_form(form_fields(), offered.form.token)) is not None
