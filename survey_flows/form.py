"""The SKM questionnaire as a form (a WhatsApp Flow): which fields, their ids and labels, and
how a completed form is read back through the same rules as the chat's answers.

Pure: the field list comes from the questionnaire data the chat asks (``survey_flows.skm``'s
element order and profile items, the catalogue's wording), so the chat and the form cannot
drift apart. ``handlers/whatsapp/flow.py`` turns :func:`form_definition` into Meta's Flow JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from survey_flows.catalog import text
from survey_flows.engine import clean_text
from survey_flows.questionnaire import PROFILE_CHOICES, PROFILE_ITEMS, QUESTION_ORDER, SCORES

SUGGESTION_FIELD = "suggestion"
# The unit's service type: the one field whose options differ per unit. Its options come with
# the message that opens the form (``FormOffer.services``), and it shows only when there are.
SERVICE_FIELD = "service"
SERVICE_OPTIONS = "service_types"  # the form's data key of the options
SERVICE_SHOWN = "ask_service"  # the form's data key: the unit has several service types
TOKEN_FIELD = "flow_token"  # Meta puts the token we sent beside the form's fields

# One screen (issue 13: no "Lanjut" taps between screens): the service type (optional, shown
# for units with several), the nine elements in the chat's order, the optional profile, the
# suggestion, the consent line and the "Setuju & kirim" button. Screen ids are upper-case
# letters and underscores.
SCREENS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "SURVEY",
        (SERVICE_FIELD, *QUESTION_ORDER, *(item for item, _ in PROFILE_ITEMS), SUGGESTION_FIELD),
    ),
)
FIRST_SCREEN = SCREENS[0][0]
FIELDS: frozenset[str] = frozenset(name for _, names in SCREENS for name in names)
# The sub-heading shown above the first field of each optional part.
_HEADINGS = {
    PROFILE_ITEMS[0][0]: "form.heading.profile",
    SUGGESTION_FIELD: "form.heading.suggestion",
}

TOKEN_PREFIX = "skm"


@dataclass(frozen=True, slots=True)
class FormOption:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: a radio group (``options``) or, without options, a text area."""

    name: str
    label: str  # short, above the input
    question: str  # the full wording, shown before it
    options: tuple[FormOption, ...] = ()
    required: bool = False
    max_chars: int = 0  # text areas only
    heading: str = ""  # a sub-heading above it, opening a part of the form
    # Options given when the form is opened (data key ``SERVICE_OPTIONS``), not fixed here.
    per_unit: bool = False


@dataclass(frozen=True, slots=True)
class FormScreen:
    id: str
    title: str
    intro: str
    fields: tuple[FormField, ...]
    button: str  # the footer's label: next screen, or send on the last one
    notice: str = ""  # above the last screen's button: what pressing it agrees to


@dataclass(frozen=True, slots=True)
class FormDefinition:
    language: str
    screens: tuple[FormScreen, ...]

    def fingerprint(self) -> str:
        """A hash of everything a citizen sees: a questionnaire change changes it."""
        raw = json.dumps(_plain(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def _field(language: str, name: str, suggestion_max: int) -> FormField:
    def t(key: str, **values: object) -> str:
        return text(language, key, **values)

    field = _bare_field(language, name, suggestion_max, t)
    heading = _HEADINGS.get(name)
    return replace(field, heading=t(heading)) if heading else field


def _bare_field(language: str, name: str, suggestion_max: int, t: Callable[..., str]) -> FormField:
    if name == SERVICE_FIELD:
        return FormField(
            name=name,
            label=t("summary.service"),
            question=t("form.service.question"),
            per_unit=True,
        )
    if name in QUESTION_ORDER:
        number = QUESTION_ORDER.index(name) + 1
        return FormField(
            name=name,
            label=f"{number}. {t(f'element.{name}')}",
            question=t(f"question.{name}"),
            options=tuple(FormOption(str(s), t(f"answer.{name}.{s}")) for s in SCORES),
            required=True,
        )
    if name == SUGGESTION_FIELD:
        return FormField(
            name=name,
            label=t("form.suggestion.label"),
            question=t("form.suggestion.question", max=suggestion_max),
            max_chars=suggestion_max,
        )
    options = dict(PROFILE_CHOICES)[name]
    return FormField(
        name=name,
        label=t(f"summary.profile.{name}"),
        question=t(f"profile.{name}.prompt"),
        options=tuple(FormOption(code, t(f"profile.{name}.{code}")) for code in options),
    )


def form_definition(language: str, *, suggestion_max: int = 1000) -> FormDefinition:
    """The questionnaire's screen and fields, worded in ``language``.

    The button is the consent: it reads "Setuju & kirim" and the line above it says what
    pressing it agrees to (docs/whatsapp.md, "Consent in the form")."""
    screens = []
    for screen_id, names in SCREENS:
        key = screen_id.lower()
        screens.append(
            FormScreen(
                id=screen_id,
                title=text(language, f"form.screen.{key}"),
                intro=text(language, f"form.intro.{key}"),
                fields=tuple(_field(language, name, suggestion_max) for name in names),
                button=text(language, "form.send"),
                notice=text(language, "form.consent.screen"),
            )
        )
    return FormDefinition(language, tuple(screens))


# --- the flow token: which conversation and unit a returned form belongs to ----------------


def form_token(prompt_token: str, unit_code: str, nonce: str) -> str:
    """``skm|<prompt token>|<unit code>|<nonce>``: checked against the stored state on return.

    The nonce (drawn by the dispatcher) makes a token nobody else can guess; the state keeps
    the token it issued, so a foreign, forged or stale one never matches."""
    return f"{TOKEN_PREFIX}|{prompt_token}|{unit_code}|{nonce}"


# --- reading a completed form ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormReading:
    """What a returned form says, after the chat's own rules.

    ``answers`` holds the valid items in the state's shape (scores as ints, profile codes, the
    suggestion); ``to_ask`` the chat steps still needed (an element missing or out of range, a
    profile option that is not offered, a suggestion too long), in the chat's order.
    ``refused`` names why the whole form was refused (unknown fields, not a flat object), in
    which case nothing of it is used.
    """

    answers: dict[str, Any]
    to_ask: tuple[str, ...]
    refused: str | None = None
    service: str | None = None  # the service option's id as returned, "" when left empty


def read_form(fields: Mapping[str, Any] | None, *, suggestion_max: int) -> FormReading:
    """Validate a form's fields (already without the flow token) as the chat would."""
    if fields is None:
        return FormReading({}, (), refused="form_malformed")
    unknown = set(fields) - FIELDS
    if unknown:
        return FormReading({}, (), refused="form_unknown_field")
    answers: dict[str, Any] = {}
    to_ask: list[str] = []
    for item, options in PROFILE_CHOICES:
        value = _scalar(fields.get(item))
        if value == "":
            continue  # not chosen: skipped, as "Lewati" in the chat
        if value in options:
            answers[item] = value
        else:
            to_ask.append(f"profile:{item}")
    for code in QUESTION_ORDER:
        score = _scalar(fields.get(code))
        if score is not None and score.isascii() and score.isdigit() and int(score) in SCORES:
            answers[code] = int(score)
        else:
            to_ask.append(f"q:{code}")
    raw_suggestion = _scalar(fields.get(SUGGESTION_FIELD))
    suggestion = clean_text(raw_suggestion) if raw_suggestion else raw_suggestion
    if suggestion is None or len(suggestion) > suggestion_max:
        to_ask.append("suggestion")
    elif suggestion:
        answers[SUGGESTION_FIELD] = suggestion
    # Only the unit knows its service types: the engine checks this one.
    return FormReading(answers, tuple(to_ask), service=_scalar(fields.get(SERVICE_FIELD)))


def service_options(service_types: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """A unit's service types as the form's options (ids ``s:<index>``, as in the chat). The
    form shows them only when there are several (one is recorded without asking)."""
    return tuple((f"s:{index}", name) for index, name in enumerate(service_types))


def chosen_service(service_types: tuple[str, ...], returned: str | None) -> str | None:
    """The service type a form returned: its name, "" when left empty (skipped, as "Lewati"
    in the chat), None when it is no option of this unit (then the chat asks)."""
    if returned == "":
        return ""
    for option_id, name in service_options(service_types):
        if returned == option_id:
            return name
    return None


def _scalar(value: Any) -> str | None:
    """A field's value as trimmed text, "" when empty; None when it cannot be an answer
    (a boolean, a list, an object)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip()
