"""The conversation engine: pure ``step(state, inbound, context) -> StepResult``.

The engine owns what every flow shares: the conversation state, global keywords and commands
(back, cancel, repeat, menu, help, language), expiry of idle conversations, and the rule that
an input must be one of the current prompt's choices. Flows (``survey_flows.skm``) describe
their steps; nothing here performs I/O or reads the clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from survey_flows.catalog import text
from survey_flows.commands import CASUAL_CANCEL_WORDS, KEYWORDS, drop_invisible
from survey_flows.complaints import ComplaintView, Limits
from survey_flows.directory import Directory
from survey_flows.types import Choice, ChoiceRole, Inbound, InboundKind, Outbound
from survey_flows.workdays import WorkCalendar

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """Deployment choices the flows need; built from the bot's settings."""

    organisation: str = "Pemerintah Kabupaten Mimika"
    idle_timeout: timedelta = timedelta(minutes=30)
    idle_reminder: timedelta = timedelta(minutes=10)  # before expiry; zero: no reminder
    page_size: int = 8
    suggestion_max_chars: int = 1000
    max_input_chars: int = 4096
    repeat_window_days: int = 1  # 0: a respondent may answer a unit's survey any number of times
    consent_notice_version: str = "2026-1"
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Jayapura"))
    complaint_limits: Limits = field(default_factory=Limits)
    complaint_min_chars: int = 20
    complaint_max_chars: int = 2000
    complaint_max_photos: int = 5
    complaints_per_day: int = 5  # per citizen, per local day; 0: no cap


@dataclass(frozen=True, slots=True)
class StepContext:
    """Everything a step may know besides the state and the input."""

    now: datetime
    directory: Directory
    language: str
    consent_at: datetime | None = None
    recent_units: frozenset[str] = frozenset()
    # The profile this contact asked us to remember (chat codes), or empty (issue 14, item 16).
    saved_profile: Mapping[str, str] = field(default_factory=dict)
    settings: FlowSettings = field(default_factory=FlowSettings)
    fresh_ticket: str = ""  # drawn at random by the dispatcher, used when a complaint is filed
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    complaints: tuple[ComplaintView, ...] = ()  # this contact's own complaints
    # Languages in which this channel can show the questionnaire as one form (a published
    # WhatsApp Flow); empty: the chat asks every question.
    form_languages: frozenset[str] = frozenset()
    nonce: str = ""  # drawn at random by the dispatcher, makes a form's token unguessable


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The whole conversation, serialised to JSON between steps."""

    step: str = "idle"
    seq: int = 0
    flow: str = "skm"  # what the unit menus lead to: "skm" (survey) or "complaint"
    opd: str | None = None
    page: int = 0
    unit: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    editing: bool = False
    resume: str | None = None
    started_at: datetime | None = None
    last_activity: datetime | None = None
    form_token: str | None = None  # the token of the form offered in this survey, until used
    pending: tuple[str, ...] = ()  # steps a returned form left to ask in the chat
    remembered: bool = False  # the profile came from the contact's saved profile
    query: str | None = None  # a unit or OPD name typed at a listing: the list shows matches
    # At the thank-you's menu: "unit@quarter" the citizen may ask follow-up news about.
    followup: str | None = None

    @property
    def token(self) -> str:
        """Identifies the current prompt; buttons of older prompts carry another token."""
        return str(self.seq)

    def at(self, step: str, **changes: Any) -> ConversationState:
        """The state moved to ``step``: a new prompt, so a new token."""
        return replace(self, step=step, seq=self.seq + 1, **changes)

    def to_json(self) -> dict[str, Any]:
        data = {
            "v": STATE_VERSION,
            "step": self.step,
            "seq": self.seq,
            "flow": self.flow,
            "opd": self.opd,
            "page": self.page,
            "unit": self.unit,
            "answers": dict(self.answers),
            "history": list(self.history),
            "editing": self.editing,
            "resume": self.resume,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
        }
        # Only when set: states without a form keep their shape.
        if self.form_token is not None:
            data["form_token"] = self.form_token
        if self.pending:
            data["pending"] = list(self.pending)
        if self.remembered:
            data["remembered"] = True
        if self.query is not None:
            data["query"] = self.query
        if self.followup is not None:
            data["followup"] = self.followup
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConversationState:
        if not data or data.get("v") != STATE_VERSION:
            # Unknown or future shapes restart cleanly rather than crash mid-survey.
            return cls(seq=int(data.get("seq", 0)) if data else 0)
        return cls(
            step=str(data["step"]),
            seq=int(data["seq"]),
            flow=str(data.get("flow", "skm")),
            opd=data.get("opd"),
            page=int(data.get("page", 0)),
            unit=data.get("unit"),
            answers=dict(data.get("answers") or {}),
            history=tuple(data.get("history") or ()),
            editing=bool(data.get("editing", False)),
            resume=data.get("resume"),
            started_at=_parse_dt(data.get("started_at")),
            last_activity=_parse_dt(data.get("last_activity")),
            form_token=data.get("form_token"),
            pending=tuple(data.get("pending") or ()),
            remembered=bool(data.get("remembered", False)),
            query=data.get("query"),
            followup=data.get("followup"),
        )


def _parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- reading what the citizen sent --------------------------------------------------------

_NUMBER = re.compile(r"[0-9]{1,3}")
# Keywords that still act at free-text steps: none of them loses what was typed before.
_TEXT_STEP_ACTIONS = frozenset({"back", "cancel", "help", "language", "repeat"})
_SPACES = re.compile(r"[ \t]+")


# Words people really type for a yes/no question (issue 14, item 8), folded as ``fold`` does.
YES_WORDS = frozenset({"ya", "iya", "iyaa", "y", "yes", "ok", "oke", "okay", "baik", "boleh"})
# Words that may only mean "I have read it": a yes everywhere but under the privacy notice,
# where consent must be plain (``skm._acknowledged_only``).
ACKNOWLEDGE_WORDS = frozenset({"ok", "oke", "okay", "baik", "boleh", "sip", "noted"})
NO_WORDS = frozenset(
    {"tidak", "tdk", "gak", "ga", "nggak", "ngga", "enggak", "engga", "ndak", "no", "n", "t"}
)
# The choice ids a yes or a no selects, on whichever yes/no question is asked.
_AFFIRMATIVE_IDS = ("yes", "leave", "keep", "submit", "go")
_NEGATIVE_IDS = ("no", "stay", "retype")
# Keycap digits (1️⃣ is "1", U+FE0F, U+20E3) and full-width digits are plain digits.
_KEYCAP_MARKS = re.compile("[\ufe0f\u20e3]")


def plain_digits(text: str) -> str:
    """``text`` with keycap and full-width digits as ASCII digits ("１０" and "🔟" are "10")."""
    folded = unicodedata.normalize("NFKC", text.replace("\U0001f51f", "10"))
    folded = _KEYCAP_MARKS.sub("", folded)
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in folded)


def clean_text(raw: str) -> str:
    """Drop control and invisible formatting characters, fold spaces, trim."""
    text = unicodedata.normalize("NFC", raw)
    text = drop_invisible(text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return text.strip()


def _has_visible(text: str) -> bool:
    """True when the text has a letter, digit, mark, symbol or punctuation: not only format."""
    return any(unicodedata.category(ch)[0] not in "CZ" for ch in text)


def fold(label: str) -> str:
    """Compare labels loosely: case, accents and punctuation do not matter."""
    decomposed = unicodedata.normalize("NFKD", label.casefold())
    kept = "".join(ch for ch in decomposed if ch.isalnum() or ch.isspace())
    return " ".join(kept.split())


@dataclass(frozen=True, slots=True)
class Resolved:
    """The outcome of matching an input against a prompt."""

    choice: Choice | None = None
    action: str | None = None  # a global keyword: back, cancel, repeat, menu, help, language
    word: str | None = None  # the keyword as typed (folded), when ``action`` came from one
    free_text: str | None = None
    error: str | None = None  # catalogue key of the polite re-prompt


def resolve(
    prompt: Outbound,
    inbound: Inbound,
    state: ConversationState,
    *,
    max_chars: int,
    accepts_text: bool = False,
    keywords_as_text: bool | None = None,
    synonyms: Mapping[str, str] | None = None,
    empty_error: str = "error.text_empty",
) -> Resolved:
    """Match ``inbound`` against ``prompt``'s choices (by id, number, label or keyword).

    A button id that is not among the prompt's choices is refused: callback data are
    client-controlled and may be forged or stale. ``keywords_as_text`` (default: as
    ``accepts_text``) makes leaving words text; ``synonyms`` maps folded words to choice ids
    ("tidak ada" to Lewati); a yes or a no answers any yes/no question. ``empty_error`` is the
    re-prompt for an empty text where text is accepted.
    """
    if inbound.kind is InboundKind.CHOICE:
        if inbound.prompt_token is not None and inbound.prompt_token != state.token:
            return Resolved(error="error.stale")
        for choice in prompt.choices:
            if choice.id == inbound.choice_id:
                return Resolved(choice=choice)
        return Resolved(error="error.stale" if inbound.prompt_token is None else "error.choose")
    if inbound.kind is not InboundKind.TEXT or inbound.text is None:
        return Resolved(error="error.unsupported")
    if len(inbound.text) > max(max_chars * 4, 20_000):
        # Far beyond anything meaningful: refuse before doing any work on it.
        return Resolved(error="error.too_long_text" if accepts_text else "error.too_long")
    text = clean_text(inbound.text)
    if not _has_visible(text):
        return Resolved(error=empty_error if accepts_text else "error.empty")
    folded = fold(text)
    keyword = KEYWORDS.get(folded)
    if keywords_as_text is None:
        keywords_as_text = accepts_text
    if keywords_as_text and (keyword not in _TEXT_STEP_ACTIONS or folded in CASUAL_CANCEL_WORDS):
        # At free-text steps a word that would leave is text ("menu" may be the whole
        # suggestion); only harmless keywords and the explicit cancel still act.
        keyword = None
    if keyword is not None:
        return Resolved(action=keyword, word=folded)
    answers = prompt.answer_choices()
    by_word = _word_choice(prompt, folded, synonyms or {})
    if by_word is not None:
        return Resolved(choice=by_word)
    digits = plain_digits(text)
    if _NUMBER.fullmatch(digits):
        index = int(digits)
        if 1 <= index <= len(answers):
            return Resolved(choice=answers[index - 1])
        if not accepts_text:
            return Resolved(error="error.choose")
    for choice in prompt.choices:
        if fold(choice.label) == folded:
            return Resolved(choice=choice)
    if accepts_text:
        return Resolved(free_text=text)
    if len(text) > max_chars:
        return Resolved(error="error.too_long")
    return Resolved(error="error.choose")


def _word_choice(prompt: Outbound, folded: str, synonyms: Mapping[str, str]) -> Choice | None:
    """The choice a yes, a no or a step's synonym selects, when the prompt offers it."""
    wanted: tuple[str, ...] = ()
    if folded in synonyms:
        wanted = (synonyms[folded],)
    elif folded in YES_WORDS:
        wanted = _AFFIRMATIVE_IDS
    elif folded in NO_WORDS:
        wanted = _NEGATIVE_IDS
    # A step's own words may name a navigation choice too ("lanjut": the next page).
    offered = prompt.choices if folded in synonyms else prompt.answer_choices()
    return next((c for c in offered if c.id in wanted), None)


def typed_number(raw: str) -> int | None:
    """A whole number typed alone, in any digits, perhaps with its unit ("30 tahun")."""
    match = _YEARS.fullmatch(fold(plain_digits(raw)))
    return int(match[1]) if match else None


_YEARS = re.compile(r"([0-9]{1,3}) ?(?:tahun|thn|th|years?|yrs?)?")


def nav_choices(language: str, *, back: bool) -> tuple[Choice, ...]:
    """Back (when there is somewhere to go back to) and cancel, offered on survey steps."""
    choices = [Choice("cancel", text(language, "nav.cancel"), ChoiceRole.NAV)]
    if back:
        choices.insert(0, Choice("back", text(language, "nav.back"), ChoiceRole.NAV))
    return tuple(choices)
