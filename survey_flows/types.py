"""Channel-neutral message types shared by the engine, the handlers and storage.

Adapters turn platform updates into one :class:`Inbound`; the engine answers with
:class:`Outbound` messages and :class:`Effect` values that the dispatcher applies in one
transaction. Nothing here knows about Telegram, WhatsApp, SQL or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """A messaging channel the bot speaks on."""

    CONSOLE = "console"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"

    @property
    def edits_answered_prompts(self) -> bool:
        """True where a tapped answer is shown by editing the question (Telegram). Elsewhere
        the chat already shows it: no "answered" message is queued."""
        return self is Channel.TELEGRAM

    @property
    def offers_forms(self) -> bool:
        """True where the whole questionnaire can go out as one native form (WhatsApp
        Flows). The engine offers a form only to such a channel, and only when configured."""
        return self is Channel.WHATSAPP


class InboundKind(StrEnum):
    """What a citizen sent, once the adapter has parsed it."""

    TEXT = "text"
    CHOICE = "choice"  # a tapped button or list row
    COMMAND = "command"  # "/start u_x", "/batal"; keywords typed as text stay TEXT
    MEDIA = "media"  # photo, document (kept as a platform reference)
    LOCATION = "location"
    UNSUPPORTED = "unsupported"  # sticker, voice, contact card, ...
    # Another page of a long list the platform shows in pages (WhatsApp's ten rows): the
    # same prompt again (``prompt_token``), at ``page``. The dispatcher serves it.
    PAGE = "page"
    # A completed form (a WhatsApp Flow's ``nfm_reply``): ``form`` holds its fields, None
    # when they could not be read; ``prompt_token`` the form's token as it came back.
    FORM = "form"


class ChoiceRole(StrEnum):
    """Answer choices belong to the question; navigation choices exist on every step."""

    ANSWER = "answer"
    NAV = "nav"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered to the user. ``id`` is what comes back when it is chosen."""

    id: str
    label: str
    role: ChoiceRole = ChoiceRole.ANSWER


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a citizen did, in channel-neutral form.

    ``contact`` is the raw platform address; only handlers and ``storage.contacts`` read it.
    It is the primary key the adapter chose: on WhatsApp the business-scoped user id (BSUID)
    when the payload has one, else the phone number. ``phone`` is the WhatsApp phone number
    (``wa_id``) when the payload shows it (so a contact first known by phone stays one
    contact when the BSUID appears, and replies go to the phone); ``parent_id`` is the
    parent BSUID Meta sends for linked business portfolios. Both None elsewhere.
    ``prompt_token`` identifies the prompt a tapped button belonged to, so that a tap on an
    old keyboard can be recognised as stale.
    """

    channel: Channel
    contact: str
    event_id: str
    kind: InboundKind
    received_at: datetime
    text: str | None = None
    choice_id: str | None = None
    prompt_token: str | None = None
    command: str | None = None
    command_args: tuple[str, ...] = ()
    command_text: str | None = None  # everything after the command word, verbatim
    media_ref: str | None = None
    location: tuple[float, float] | None = None
    message_ref: str | None = None  # the platform message a tapped button belonged to
    quoted_text: str | None = None  # the text of the message this one replies to
    phone: str | None = None  # WhatsApp: the wa_id, when the payload shows it
    parent_id: str | None = None  # WhatsApp: the parent BSUID, when Meta sends one
    page: int = 0  # InboundKind.PAGE: the page of the list to show, from 0
    form: dict[str, Any] | None = None  # InboundKind.FORM: the fields, without the token


@dataclass(frozen=True, slots=True)
class FormOffer:
    """The questionnaire offered as one form (a channel with forms shows it instead of the
    question; without them, or when the platform refuses it, the question goes out)."""

    token: str  # comes back with the completed form; the state keeps it to check it
    body: str  # the message's text above the form's button
    cta: str  # the button's label
    # The unit's service types as (id, label), when it has several: the form's one choice
    # that differs per unit, sent with the message (a WhatsApp Flow's initial data).
    services: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"token": self.token, "body": self.body, "cta": self.cta}
        if self.services:  # only when set: queued messages keep their shape
            data["services"] = [list(pair) for pair in self.services]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FormOffer:
        return cls(
            token=str(data["token"]),
            body=str(data["body"]),
            cta=str(data["cta"]),
            services=tuple((str(i), str(label)) for i, label in data.get("services") or ()),
        )


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send. ``prompt_token`` ties its choices to the step that asked."""

    text: str
    choices: tuple[Choice, ...] = ()
    prompt_token: str | None = None
    choices_header: str | None = None  # e.g. "Pilih jawaban" for list buttons
    language: str = "id"
    form: FormOffer | None = None  # only ever set for a channel that offers forms
    # The catalogue key of the typing hint under the choices: what this step accepts
    # (a number, free text, a photo, a place). None: ``nav.hint``, "type the number".
    hint: str | None = None

    @property
    def hint_key(self) -> str:
        return self.hint or "nav.hint"

    def answer_choices(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.role is ChoiceRole.ANSWER)

    def nav_choices(self) -> tuple[Choice, ...]:
        return tuple(c for c in self.choices if c.role is ChoiceRole.NAV)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "choices": [[c.id, c.label, c.role.value] for c in self.choices],
            "prompt_token": self.prompt_token,
            "choices_header": self.choices_header,
            "language": self.language,
        }
        if self.form is not None:
            data["form"] = self.form.to_json()
        if self.hint is not None:  # only when set: queued messages keep their shape
            data["hint"] = self.hint
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outbound:
        return cls(
            text=str(data["text"]),
            choices=tuple(
                Choice(str(cid), str(label), ChoiceRole(role))
                for cid, label, role in data.get("choices", [])
            ),
            prompt_token=data.get("prompt_token"),
            choices_header=data.get("choices_header"),
            language=str(data.get("language", "id")),
            form=FormOffer.from_json(form) if isinstance(form := data.get("form"), dict) else None,
            hint=str(hint) if (hint := data.get("hint")) is not None else None,
        )


@dataclass(frozen=True, slots=True)
class AnsweredPrompt:
    """The prompt a choice answered, so a channel can tidy it (Telegram edits it)."""

    prompt_token: str
    question: str
    answer_label: str


# --- effects: what the dispatcher must persist besides the conversation state -------------


@dataclass(frozen=True, slots=True)
class RecordConsent:
    """The citizen agreed to the privacy notice (proof of consent, UU 27/2022)."""

    at: datetime
    notice_version: str


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """The citizen chose a language; remember it on the contact."""

    language: str


@dataclass(frozen=True, slots=True)
class SubmitResponse:
    """A completed SKM questionnaire."""

    unit_code: str
    service_type: str | None
    scores: dict[str, int]  # element code -> 1..4
    profile: dict[str, str]  # profile item -> option code; skipped items absent
    suggestion: str | None
    language: str
    started_at: datetime
    submitted_at: datetime
    local_date: date


@dataclass(frozen=True, slots=True)
class RememberProfile:
    """The citizen asked that their profile (chat codes) be kept with their contact, so the
    next survey does not ask it again. Erased with the contact (``/hapus``)."""

    profile: dict[str, str]


@dataclass(frozen=True, slots=True)
class FollowUpOptIn:
    """At the thank-you, the citizen asked to hear what the unit did with the quarter's
    results ("you said, we did", docs/rtl.md). Erased with the contact (``/hapus``)."""

    unit_code: str
    period: str  # the quarter of the answer, "2026-Q4"


@dataclass(frozen=True, slots=True)
class FollowUpOptOut:
    """The citizen wants no more follow-up news (one word: BERHENTI)."""


@dataclass(frozen=True, slots=True)
class FileComplaint:
    """A citizen confirmed a complaint; the ticket was drawn by the dispatcher."""

    ticket: str
    unit_code: str
    kind: str
    description: str
    photos: tuple[str, ...]
    location: tuple[float, float] | None
    anonymous: bool
    confidential: bool
    language: str
    filed_at: datetime
    verify_by: datetime
    answer_by: datetime


@dataclass(frozen=True, slots=True)
class CitizenComplaintAction:
    """The citizen rated the handling of their complaint, or reopened it."""

    ticket: str
    action: str  # "rate_good", "rate_poor", "reopen"
    at: datetime


@dataclass(frozen=True, slots=True)
class EraseContact:
    """The citizen confirmed erasure: delete their platform identity and conversation.

    Survey responses stay, pseudonymous; the goodbye message goes out without being stored.
    ``keep_open_complaints``: the citizen chose to keep what their open complaints need until
    they close (then the purge erases the rest); else complaints lose their content now.
    """

    keep_open_complaints: bool = False


@dataclass(frozen=True, slots=True)
class LimitReached:
    """A per-citizen limit answered politely (counted in /metrics): ``limit`` names it."""

    limit: str  # "complaints_per_day"


@dataclass(frozen=True, slots=True)
class InputRejected:
    """The input did not fit the step; counted for metrics, nothing else is written."""

    reason: str


Effect = (
    RecordConsent
    | SetLanguage
    | SubmitResponse
    | RememberProfile
    | FollowUpOptIn
    | FollowUpOptOut
    | FileComplaint
    | CitizenComplaintAction
    | EraseContact
    | InputRejected
    | LimitReached
)


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step of the engine produced."""

    state: dict[str, Any] | None  # None: the conversation is over and its row may be cleared
    outbound: tuple[Outbound, ...] = ()
    effects: tuple[Effect, ...] = ()
    answered: AnsweredPrompt | None = None
    expires_at: datetime | None = None
