"""The SKM survey flow (PermenPANRB 14/2017), declared as data and driven by one ``step``.

Entry by unit code (deep link ``u_<code>``, WhatsApp text ``SKM <code>``) or by menu (OPD, then
unit, paged); privacy notice and consent; the respondent profile (every item skippable); the
service type when the unit has several; the nine questions in the regulation's order, stored by
element code; an optional suggestion; a summary where any answer can be changed; thank-you.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from survey_flows.catalog import text
from survey_flows.commands import (
    BY_NAME,
    BY_WORD,
    CASUAL_CANCEL_WORDS,
    LEAVING_ACTIONS,
    Command,
    strict_ticket,
)
from survey_flows.complaint_flow import COMPLAINT_LINK_PREFIX, ComplaintSteps
from survey_flows.complaints import OPEN_STATUSES
from survey_flows.dates import number_text
from survey_flows.directory import Directory, UnitInfo, match_names
from survey_flows.engine import (
    ACKNOWLEDGE_WORDS,
    NO_WORDS,
    ConversationState,
    FlowSettings,
    Resolved,
    StepContext,
    clean_text,
    fold,
    nav_choices,
    resolve,
    typed_number,
)
from survey_flows.form import chosen_service, form_token, read_form, service_options
from survey_flows.personal_data import mask_optional, mask_personal_data
from survey_flows.questionnaire import (
    ADULT_AGE,
    PROFILE_CHOICES,
    PROFILE_ITEMS,
    QUESTION_ORDER,
    SCORES,
    age_bracket,
    stored_profile,
)
from survey_flows.types import (
    AnsweredPrompt,
    Choice,
    ChoiceRole,
    Effect,
    EraseContact,
    FollowUpOptIn,
    FollowUpOptOut,
    FormOffer,
    Inbound,
    InboundKind,
    InputRejected,
    LimitReached,
    Outbound,
    RecordConsent,
    RememberProfile,
    SetLanguage,
    StepResult,
    SubmitResponse,
)

# Elements whose regulation wording needs a plain-language line under it (issue 14, item 10).
QUESTION_HINTS = frozenset({"U5", "U8"})
_PROFILE_OPTIONS = dict(PROFILE_CHOICES)
# Said before the first question (issue 14, item 16): the nine questions take about this long.
SURVEY_MINUTES = 2

DEEP_LINK_PREFIX = "u_"
# An over-long text waits here while the citizen chooses the cut version or retyping.
PENDING_TEXT = "pending_text"
CUT_PREVIEW_CHARS = 40
SUMMARY_SUGGESTION_CHARS = 160
# The summary's text, leaving room for its numbered choices in one WhatsApp body (1,024).
SUMMARY_BUDGET = 920
_SKM_TEXT = re.compile(r"^\s*skm\s+([a-z0-9-]{1,40})\s*$", re.IGNORECASE)
# "PENGADUAN <unit code>": the complaint link's prefilled text (WhatsApp's wa.me link).
_COMPLAINT_TEXT = re.compile(
    rf"^\s*(?:{'|'.join(BY_NAME[Command.PENGADUAN].words)})\s+([a-z0-9-]{{1,40}})\s*$",
    re.IGNORECASE,
)
# Steps where whatever is typed is the answer's text, never an entry code.
_TEXT_STEPS = frozenset({"suggestion", "c:desc", "c:location"})

# "Nothing to send" at the photo and location steps selects Lewati/Lanjut (issue 14, item 8).
_NOTHING_WORDS = frozenset(
    {"tidak ada", "tdk ada", "gak ada", "ga ada", "nggak ada", "enggak ada", "belum ada",
     "none", "nothing", "no photo", *NO_WORDS}
)  # fmt: skip
_SKIP_SYNONYMS = {word: "skip" for word in _NOTHING_WORDS}
# Paging words at a listing (issue 14, item 7), besides the buttons' own labels.
_PAGE_SYNONYMS = {
    **dict.fromkeys(("lanjut", "selanjutnya", "berikut", "next", "more"), "page:+1"),
    **dict.fromkeys(("sebelum", "previous", "prev"), "page:-1"),
}
# A greeting at the main menu simply gets the menu; other unknown texts are told first.
_GREETINGS = frozenset(
    {"halo", "hallo", "hai", "hi", "hello", "p", "permisi", "tes", "test", "assalamualaikum",
     "selamat pagi", "selamat siang", "selamat sore", "selamat malam", "pagi", "siang", "sore",
     "malam", "good morning", "good afternoon", "good evening",
     # After the thank-you, which ends with the menu: a thanks back is not "not understood".
     "terima kasih", "terimakasih", "makasih", "trims", "thanks", "thank you", "ok", "oke",
     "sip", "sama sama", "sama-sama"}
)  # fmt: skip
_TICKET_LIKE = re.compile(r"^\s*(?:/?status\s+)?adu\b", re.IGNORECASE)

# Steps that belong to an ongoing survey: they expire, and offer back/cancel.
_MENU_STEPS = frozenset({"idle", "menu", "language", "erase", "erase:open"})


def survey_sequence(unit: UnitInfo) -> tuple[str, ...]:
    """The steps of one unit's questionnaire, in the order they are asked."""
    steps = [f"profile:{item}" for item, _ in PROFILE_ITEMS]
    if len(unit.service_types) > 1:
        steps.append("service")
    steps.extend(f"q:{code}" for code in QUESTION_ORDER)
    steps.extend(("suggestion", "summary"))
    return tuple(steps)


def idle_reminder(
    raw_state: dict[str, Any] | None,
    directory: Directory,
    language: str,
    now: datetime,
    settings: FlowSettings,
) -> Outbound | None:
    """The one gentle reminder before an idle survey or complaint expires (issue 14, item
    17): None when nothing is under way or the time has passed. Pure; ``bot.jobs`` sends it."""
    state = ConversationState.from_json(raw_state)
    unit = directory.unit(state.unit) if state.unit else None
    if state.step in _MENU_STEPS or state.last_activity is None or unit is None:
        return None
    left = state.last_activity + settings.idle_timeout - now
    if left <= timedelta(0):
        return None
    minutes = number_text(max(1, math.ceil(left / timedelta(minutes=1))), language)
    key = "reminder.complaint" if state.flow == "complaint" else "reminder.skm"
    return Outbound(text(language, key, unit=unit.name, minutes=minutes), language=language)


def review_items(unit: UnitInfo) -> tuple[str, ...]:
    """The answers as the summary and the edit menu number them (issue 14, item 6): the nine
    elements first, numbered as their questions were ("Pertanyaan 4 dari 9" is 4 in both),
    then the profile, the service type (when the unit has several) and the suggestion."""
    rest = [s for s in survey_sequence(unit) if not s.startswith("q:") and s != "summary"]
    return (*(f"q:{code}" for code in QUESTION_ORDER), *rest)


def step(raw_state: dict[str, Any] | None, inbound: Inbound, ctx: StepContext) -> StepResult:
    """Advance the conversation by one inbound event. Pure: no I/O, no clock."""
    return _Turn(ConversationState.from_json(raw_state), inbound, ctx).run()


class _Turn(ComplaintSteps):
    """One step's work: reads the state, collects messages and effects, builds the result."""

    def __init__(self, state: ConversationState, inbound: Inbound, ctx: StepContext) -> None:
        self.state = state
        self.original = state
        self.inbound = inbound
        self.ctx = ctx
        self.language = ctx.language
        self.out: list[Outbound] = []
        self.effects: list[Effect] = []
        self.answered: AnsweredPrompt | None = None

    # --- driver ---------------------------------------------------------------------------

    def run(self) -> StepResult:
        if self._expired():
            self._say("expired")
            expired = self.state
            self.state = self._reset()
            # A late answer belongs to the expired question: do not read it against the menu.
            if not (self._entry() or self._ticket_entry() or self._command()):
                self.state = self._resumable(expired)
                self._ask()
            return self._result()
        handled = self._form() or self._entry() or self._ticket_entry() or self._command()
        if not handled:
            self._on_step()
        return self._result()

    def _expired(self) -> bool:
        last = self.state.last_activity
        return (
            self.state.step not in _MENU_STEPS
            and last is not None
            and self.ctx.now - last > self.ctx.settings.idle_timeout
        )

    def _result(self) -> StepResult:
        active = self.state.step not in _MENU_STEPS
        only_rejected = bool(self.effects) and all(
            isinstance(e, InputRejected) for e in self.effects
        )
        if not (only_rejected and self.state == self.original):
            # A refused input changes nothing at all, not even the activity time.
            self.state = replace(self.state, last_activity=self.ctx.now)
        return StepResult(
            state=self.state.to_json(),
            outbound=tuple(replace(message, language=self.language) for message in self.out),
            effects=tuple(self.effects),
            answered=self.answered,
            expires_at=self.ctx.now + self.ctx.settings.idle_timeout if active else None,
        )

    # --- messages ---------------------------------------------------------------------------

    def _t(self, key: str, **values: object) -> str:
        return text(self.language, key, **values)

    def _say(self, key: str, **values: object) -> None:
        self.out.append(Outbound(self._t(key, **values)))

    def _ask(self) -> None:
        self.out.append(self._prompt())

    def _reject(self, error: str, **values: object) -> None:
        """A polite re-prompt of the same step; nothing is written but the inbound record."""
        self.effects.append(InputRejected(error))
        if self.state.step == "menu" and error in {"error.choose", "error.empty"}:
            self._say_not_understood()
        elif error == "error.choose" and len(choices := self._prompt().answer_choices()) > 1:
            self._say("error.choose.range", n=len(choices))  # name the valid range
        else:
            self._say(error, **values)
        self._ask()

    def _say_not_understood(self) -> None:
        """Before the menu again: a greeting gets it silently, anything else is told."""
        typed = self.inbound.text if self.inbound.kind is InboundKind.TEXT else None
        if typed is None or " ".join(typed.casefold().split()).strip(" !.,") in _GREETINGS:
            return
        if _TICKET_LIKE.match(typed[:80]):
            self._say("complaint.status.malformed")
        else:
            self._say("error.not_understood")

    # --- entry points: deep links, "SKM <code>", commands ------------------------------------

    def _entry(self) -> bool:
        code: str | None = None
        if self.inbound.kind is InboundKind.COMMAND and self.inbound.command == Command.START:
            payload = self.inbound.command_args[0] if self.inbound.command_args else ""
            if payload.startswith(COMPLAINT_LINK_PREFIX):
                code = payload[len(COMPLAINT_LINK_PREFIX) :].lower()
                if self._complaints_today_full():
                    self.state = self._reset().at("menu")
                    self._ask()
                    return True
                if not self._asks_before_switching(code, "complaint"):
                    self._start_unit(code, via_menu=False, flow="complaint")
                return True
            if payload.startswith(DEEP_LINK_PREFIX):
                code = payload[len(DEEP_LINK_PREFIX) :]
            elif not payload:
                if self._resume():
                    return True
                self.state = self._reset().at("menu")
                self._ask()
                return True
            else:
                code = payload
        elif self.inbound.kind is InboundKind.TEXT and self.inbound.text:
            if self._complaint_text_entry(self.inbound.text[:80]):
                return True
            match = _SKM_TEXT.match(self.inbound.text[:80])
            # "SKM mantap" as a suggestion is a suggestion, not a unit code.
            if match and (
                self.state.step in _MENU_STEPS
                or (self.state.step != "suggestion" and self.ctx.directory.unit(match[1].lower()))
            ):
                code = match.group(1)
        if code is None:
            return False
        if code.lower() == self.state.unit and self.state.flow == "skm" and self._resume():
            return True
        if not self._asks_before_switching(code.lower(), "skm"):
            self._start_unit(code.lower(), via_menu=False)
        return True

    def _asks_before_switching(self, code: str, flow: str) -> bool:
        """Another unit's QR code mid-way (issue 14, item 11): ask before dropping answers.
        An unknown or closed code changes nothing; the current question is asked again."""
        if not self._has_answers() or self.state.step.startswith("switch:"):
            return False
        unit = self.ctx.directory.unit(code)
        if unit is None or not self.ctx.directory.is_open(unit):
            self.effects.append(InputRejected("unknown_unit" if unit is None else "closed_unit"))
            if unit is None:
                self._say("unit.unknown", code=code[:40])
            else:
                self._say("unit.closed", unit=unit.name)
            self._ask()
            return True
        self.state = self.state.at(f"switch:{flow}:{code}", resume=self.state.step)
        self._ask()
        return True

    def _on_switch(self, choice_id: str) -> None:
        if choice_id != "go":
            self._stay()
            return
        flow, _, code = self.state.step.removeprefix("switch:").partition(":")
        self._leave_survey()
        self.state = self._reset()
        self._start_unit(code, via_menu=False, flow=flow)

    def _resumable(self, expired: ConversationState) -> ConversationState:
        """The menu after an expired survey; its answers kept so the menu can offer to go on
        (issue 14, item 17). Complaints and surveys without answers simply end."""
        unit = self.ctx.directory.unit(expired.unit) if expired.unit else None
        answered = any(key != "service" for key in expired.answers)
        if expired.flow != "skm" or unit is None or not answered or expired.step == "consent":
            return self.state.at("menu")
        self._say("expired.resume", unit=unit.name)
        return replace(expired, step="menu", seq=self.state.seq + 1, resume=expired.step)

    def _complaint_text_entry(self, typed: str) -> bool:
        """``PENGADUAN <unit code>`` (the complaint link's text) opens that unit's complaint
        form, unless it is text the current step takes, a ticket number, or (mid-survey) names
        no unit we know."""
        match = _COMPLAINT_TEXT.match(typed)
        if match is None or self.state.step in _TEXT_STEPS or strict_ticket(match[1]):
            return False
        code = match[1].lower()
        if self.ctx.directory.unit(code) is None and self.state.step not in _MENU_STEPS:
            return False  # mid-survey, an unknown code is not worth leaving it for
        same = self.state.flow == "complaint" and self.state.unit == code
        if same and self.state.step not in _MENU_STEPS:
            self._ask()  # the same link again mid-complaint: where it was
            return True
        if self._complaints_today_full():
            self._ask()  # where the citizen was: the menu, or the survey under way
            return True
        if not self._asks_before_switching(code, "complaint"):
            self._start_unit(code, via_menu=False, flow="complaint")  # unknown: said, then OPDs
        return True

    def _resume(self) -> bool:
        """Re-opening the bot (or the same QR code) mid-survey continues where it was."""
        unit = self._unit()
        if unit is None or self.state.step in _MENU_STEPS:
            return False
        self._say("survey.resume", unit=unit.name)
        self._ask()
        return True

    def _command(self) -> bool:
        if self.inbound.kind is not InboundKind.COMMAND:
            return False
        # An officer's or unknown command reaching the survey gets help, like a lone "/".
        spec = BY_WORD.get(self.inbound.command or "")
        action = spec.action if spec and spec.action else "help"
        self._action(action)
        return True

    def _in_survey(self) -> bool:
        return self.state.step not in _MENU_STEPS or (
            self.state.step == "language" and self.state.resume not in (None, "menu")
        )

    def _leave_survey(self) -> ConversationState:
        """Back to no survey, telling the citizen when unsent answers are dropped."""
        if self._in_survey() and self.state.flow == "complaint":
            self._say("complaint.cancelled")
        elif self._in_survey():
            self._say("cancelled")
        return self._reset()

    def _has_answers(self) -> bool:
        """Something the citizen gave would be lost by leaving (a lone service type is not,
        nor a profile remembered from before)."""
        given = set(self.state.answers) - {"service"}
        if self.state.remembered:
            given -= {item for item, _ in PROFILE_ITEMS}
        return self.state.step not in _MENU_STEPS and bool(given)

    def _asks_before_leaving(self, action: str, word: str | None) -> bool:
        leaving = action in LEAVING_ACTIONS or (action == "cancel" and word in CASUAL_CANCEL_WORDS)
        return leaving and not self.state.step.startswith("leave:") and self._has_answers()

    def _action(self, action: str, word: str | None = None) -> None:
        if self._asks_before_leaving(action, word):
            # Asked once: the same word again, or "Ya", leaves; anything else stays.
            self.state = self.state.at(f"leave:{action}", resume=self.state.step)
            self._ask()
            return
        if action == "repeat":
            if self.state.step == "idle":
                self.state = self.state.at("menu")
            self._ask()
            return
        if self.state.step.startswith(("leave:", "switch:")) and action == "back":
            self._stay()
            return
        if self.state.step.startswith("cut:") and action == "back":
            self._on_cut("retype")
            return
        if action == "cancel":
            if self.state.step == "language" and self._in_survey():
                self._close_language()
                return
            self.state = self._leave_survey().at("menu")
            self._ask()
        elif action == "back":
            self._back()
        elif action == "menu":
            self.state = self._leave_survey().at("menu")
            self._ask()
        elif action == "help":
            # One message: the help, then a person to contact.
            self.out.append(Outbound(f"{self._t('help.text')}\n{self._contact_line()}"))
            if self.state.step == "idle":
                self.state = self.state.at("menu")
            self._ask()
        elif action == "language":
            if self.state.step == "language":  # "Bahasa" typed at the language prompt
                self._ask()
                return
            resume = self.state.step if self.state.step != "idle" else "menu"
            self.state = self.state.at("language", resume=resume)
            self._ask()
        elif action == "survey":
            self.state = self._leave_survey().at("opd", page=0, history=("menu",))
            self._ask()
        elif action == "erase":
            # With a complaint still open the citizen chooses what happens to it.
            has_open = any(c.status in OPEN_STATUSES for c in self.ctx.complaints)
            self.state = self._leave_survey().at("erase:open" if has_open else "erase")
            self._ask()
        elif action == "complaint":
            if self._complaints_today_full():
                self.state = self._leave_survey().at("menu")
                self._ask()
                return
            self.state = self._leave_survey().at("opd", page=0, history=("menu",), flow="complaint")
            self._ask()
        elif action == "status":
            if self._in_survey():
                self.state = self._leave_survey()
            self._show_status(None)
        elif action == "unfollow":
            self.effects.append(FollowUpOptOut())
            self._say("followup.opted_out")
            if self.state.step == "idle":
                self.state = self.state.at("menu")
            self._ask()

    def _complaints_today_full(self) -> bool:
        """The citizen filed as many complaints today (local day) as allowed: say so."""
        cap = self.ctx.settings.complaints_per_day
        zone = self.ctx.settings.timezone
        today = self.ctx.now.astimezone(zone).date()
        filed = sum(1 for c in self.ctx.complaints if c.filed_at.astimezone(zone).date() == today)
        if cap <= 0 or filed < cap:
            return False
        self._say("limit.complaints", count=cap)
        self.effects.append(LimitReached("complaints_per_day"))
        return True

    def _contact_line(self) -> str:
        """A person to speak to: the OPD's contact from the directory, else the counter."""
        opd = self.ctx.directory.opd(self.state.opd) if self.state.opd else None
        if opd is not None and opd.contact:
            return self._t("help.contact", opd=opd.label, contact=opd.contact)
        return self._t("help.counter")

    def _offer_cut(self, typed: str) -> None:
        """Over-long text is kept: offer its first N characters, or typing it again."""
        self.state = self.state.at(
            f"cut:{self.state.step}", answers={**self.state.answers, PENDING_TEXT: typed}
        )
        self._ask()

    def _on_cut(self, choice_id: str) -> None:
        origin = self.state.step.removeprefix("cut:")
        answers = dict(self.state.answers)
        typed = str(answers.pop(PENDING_TEXT, ""))
        if choice_id != "keep":
            self.state = self.state.at(origin, answers=answers)
            self._ask()
            return
        # Recorded as if the shortened text had been typed at the original step.
        self.state = replace(self.state, step=origin, answers=answers)
        shortened = typed[: self._text_limit(origin)]
        if origin == "c:desc":
            self._complaint_answer(Resolved(free_text=shortened))
        else:
            self._record(origin, None, shortened)

    def _text_limit(self, origin: str) -> int:
        settings = self.ctx.settings
        return settings.complaint_max_chars if origin == "c:desc" else settings.suggestion_max_chars

    def _cut_prompt(self) -> Outbound:
        origin = self.state.step.removeprefix("cut:")
        typed = str(self.state.answers.get(PENDING_TEXT, ""))
        limit = self._text_limit(origin)
        left_out = typed[limit:]
        key = "cut.complaint" if origin == "c:desc" else "cut.suggestion"
        return Outbound(
            self._t(
                key,
                length=number_text(len(typed), self.language),
                max=number_text(limit, self.language),
                cut=number_text(len(left_out), self.language),
                rest=left_out[:CUT_PREVIEW_CHARS].strip(),
            ),
            (Choice("keep", self._t("cut.keep")), Choice("retype", self._t("cut.retype"))),
            self.state.token,
        )

    def _stay(self) -> None:
        """Back from the leave question to the step it interrupted, answers intact."""
        self.state = self.state.at(self.state.resume or "menu", resume=None)
        self._ask()

    def _on_leave(self, choice_id: str) -> None:
        if choice_id == "leave":
            action = self.state.step.removeprefix("leave:")
            self._action(action)
        else:
            self._stay()

    def _close_language(self) -> None:
        """Leave the language prompt for the step it interrupted."""
        self.state = self.state.at(self.state.resume or "menu", resume=None)
        self._ask()

    # --- the current step ----------------------------------------------------------------------

    def _on_step(self) -> None:
        current = self.state.step
        if current == "idle":
            self._on_idle()
            return
        if current.startswith("c:") and self._complaint_input():
            return
        prompt = self._prompt()
        resolved = resolve(
            prompt,
            self.inbound,
            self.state,
            max_chars=self.ctx.settings.max_input_chars,
            # A typed place is the location's text; leaving words still act there.
            accepts_text=current in {"suggestion", "c:desc", "c:location"},
            keywords_as_text=current in {"suggestion", "c:desc"},
            synonyms=self._synonyms(current),
            empty_error="complaint.desc.empty" if current == "c:desc" else "error.text_empty",
        )
        if current == "consent" and self._acknowledged_only():
            return
        listing = resolved.error == "error.choose" and current in {"opd", "unit"}
        if listing and self._typed_name(prompt):
            return
        typed_age = resolved.error == "error.choose" and current == "profile:age"
        if typed_age and self._typed_age(prompt):
            return
        if resolved.error:
            self._reject(resolved.error)
        elif resolved.action:
            self._action(resolved.action, resolved.word)
        elif resolved.choice and resolved.choice.id in {"back", "cancel"}:
            self._action(resolved.choice.id)
        else:
            self._answer(prompt, resolved)

    @staticmethod
    def _synonyms(current: str) -> dict[str, str] | None:
        if current in {"c:photo", "c:location"}:
            return _SKIP_SYNONYMS
        return _PAGE_SYNONYMS if current in {"opd", "unit"} else None

    def _acknowledged_only(self) -> bool:
        """Consent must be said plainly (UU 27/2022): "ok" or "baik" under the notice may only
        mean "read", so it asks once more; "ya", "setuju", a number or a tap agree."""
        typed = self.inbound.text if self.inbound.kind is InboundKind.TEXT else None
        if typed is None or fold(typed[:40]) not in ACKNOWLEDGE_WORDS:
            return False
        self.effects.append(InputRejected("consent.explicit"))
        self._say("consent.explicit")
        self._ask()
        return True

    def _typed_age(self, prompt: Outbound) -> bool:
        """An age typed in years ("30", "３０ tahun"): its bracket, or why it cannot be."""
        years = typed_number(self.inbound.text or "")
        if years is None:
            return False
        bracket = age_bracket(years)
        if bracket is None:
            under_age = 0 < years < ADULT_AGE
            key = "age.under_17" if under_age else "age.out_of_range"
            self.effects.append(InputRejected(key))
            self._say(key, n=len(prompt.answer_choices()))
            self._ask()
            return True
        choice = next(c for c in prompt.choices if c.id == bracket)
        self._answer(prompt, Resolved(choice=choice))
        return True

    def _on_idle(self) -> None:
        prompt = self._menu_prompt()
        resolved = resolve(
            prompt, self.inbound, self.state, max_chars=self.ctx.settings.max_input_chars
        )
        if resolved.action:
            self._action(resolved.action)
        elif resolved.choice:
            self.state = self.state.at("menu")
            self._answer(self._prompt(), resolved)
        else:
            if resolved.error == "error.unsupported":  # a sticker or a voice note: say why
                self._say(resolved.error)
            elif resolved.error in {"error.choose", "error.empty"}:
                self._say_not_understood()
            self.state = self.state.at("menu")
            self._ask()

    def _answer(self, prompt: Outbound, resolved: Resolved) -> None:
        current = self.state.step
        choice = resolved.choice
        if choice is not None and prompt.prompt_token is not None:
            self.answered = AnsweredPrompt(prompt.prompt_token, prompt.text, choice.label)
        if current.startswith("c:"):
            self._complaint_answer(resolved)
        elif current.startswith("leave:"):
            assert choice is not None
            self._on_leave(choice.id)
        elif current.startswith("switch:"):
            assert choice is not None
            self._on_switch(choice.id)
        elif current.startswith("cut:"):
            assert choice is not None
            self._on_cut(choice.id)
        elif current == "menu":
            assert choice is not None
            self._on_menu(choice.id)
        elif current == "language":
            assert choice is not None
            self.language = choice.id
            self.effects.append(SetLanguage(choice.id))
            self._say("language.set")
            resume = self.state.resume or "menu"
            self.state = self.state.at(resume, resume=None)
            self._ask()
        elif current in {"opd", "unit"}:
            assert choice is not None
            self._on_listing(choice.id)
        elif current == "consent":
            assert choice is not None
            self._on_consent(choice.id)
        elif current in {"erase", "erase:open"}:
            assert choice is not None
            if choice.id in {"yes", "now", "keep"}:
                keep = choice.id == "keep"
                self.effects.append(EraseContact(keep_open_complaints=keep))
                done = {"yes": "erase.done", "now": "erase.done_now", "keep": "erase.done_keep"}
                self._say(done[choice.id])
                self.state = ConversationState()
            else:
                self._say("erase.kept")
                self.state = self.state.at("menu")
                self._ask()
        elif current == "edit":
            assert choice is not None
            target = choice.id.removeprefix("e:")
            self.state = self.state.at(target, editing=True, history=self.state.history)
            self._ask()
        elif current == "summary":
            assert choice is not None
            if choice.id in {"submit", "submit_remember"}:
                self._submit(remember=choice.id == "submit_remember")
            else:
                self.state = self.state.at("edit", history=(*self.state.history, "summary"))
                self._ask()
        else:
            self._record(current, choice, resolved.free_text)

    def _on_menu(self, choice_id: str) -> None:
        followup, self.state = self.state.followup, replace(self.state, followup=None)
        if choice_id == "followup" and followup:
            unit_code, _, period = followup.partition("@")
            self.effects.append(FollowUpOptIn(unit_code, period))
            self.state = self.state.at("menu")
            menu = self._menu_prompt()
            self.out.append(replace(menu, text=f"{self._t('followup.opted_in')}\n\n{menu.text}"))
        elif choice_id == "resume" and self.state.resume:
            # The survey that expired, where it was (issue 14, item 17).
            self.state = self.state.at(self.state.resume, resume=None)
            self._ask()
        elif choice_id.startswith("complaint:"):
            # After a low score: a complaint about the unit just rated (issue 14, item 16).
            self.state = self._reset()
            if self._complaints_today_full():
                self.state = self.state.at("menu")
                self._ask()
                return
            self._start_unit(choice_id.removeprefix("complaint:"), via_menu=False, flow="complaint")
        else:
            self._action(choice_id)

    # --- choosing a unit -----------------------------------------------------------------------

    def _on_listing(self, choice_id: str) -> None:
        if choice_id.startswith("page:"):
            self.state = self.state.at(self.state.step, page=self.state.page + int(choice_id[5:]))
            self._ask()
            return
        # Back from what comes next returns to this page of the whole list (issue 14, item 7).
        came_from = self.state.step if self.state.query else self._history_entry()
        self.state = replace(self.state, query=None)
        if choice_id.startswith("o:"):
            units = self.ctx.directory.open_units(choice_id[2:])
            if len(units) == 1:
                # Nothing to choose (issue 14, item 12): back from the unit returns to the OPDs.
                self.state = replace(self.state, opd=choice_id[2:])
                flow = self.state.flow
                self._start_unit(units[0].code, via_menu=True, flow=flow, came_from=came_from)
                return
            self.state = self.state.at(
                "unit", opd=choice_id[2:], page=0, history=(*self.state.history, came_from)
            )
            self._ask()
        elif choice_id.startswith("u:"):
            self._start_unit(
                choice_id[2:], via_menu=True, flow=self.state.flow, came_from=came_from
            )

    def _history_entry(self) -> str:
        """The current listing as ``back`` will return to it: ``unit@2`` is its third page."""
        return f"{self.state.step}@{self.state.page}" if self.state.page else self.state.step

    def _typed_name(self, prompt: Outbound) -> bool:
        """A unit or OPD name typed at a listing (issue 14, item 7): one match is chosen,
        several are listed alone, none is told."""
        typed = self.inbound.text if self.inbound.kind is InboundKind.TEXT else None
        if typed is None or typed_number(typed) is not None:
            return False
        items = self._listing_items()
        found = match_names(typed[:80], [names for _, names in items])
        if len(found) == 1:
            choice = items[found[0]][0]
            self._answer(prompt, Resolved(choice=choice))
        elif found:
            self.state = self.state.at(self.state.step, page=0, query=clean_text(typed[:40]))
            self._ask()
        else:
            self.effects.append(InputRejected("error.no_match"))
            self._say("error.no_match", query=clean_text(typed[:40]))
            self._ask()
        return True

    def _listing_items(self) -> list[tuple[Choice, tuple[str, ...]]]:
        """The whole list at an OPD or unit step, each with the names it can be typed as."""
        if self.state.step == "opd":
            return [
                (Choice(f"o:{o.code}", o.label), (o.label, o.name))
                for o in self.ctx.directory.open_opds()
            ]
        units = self.ctx.directory.open_units(self.state.opd or "")
        return [(Choice(f"u:{u.code}", u.label), (u.label, u.name)) for u in units]

    def _start_unit(
        self, code: str, *, via_menu: bool, flow: str = "skm", came_from: str = "unit"
    ) -> None:
        unit = self.ctx.directory.unit(code)
        if unit is None or not self.ctx.directory.is_open(unit):
            if unit is None:
                self._say("unit.unknown", code=code[:40])
            else:
                self._say("unit.closed", unit=unit.name)
            self.effects.append(InputRejected("unknown_unit" if unit is None else "closed_unit"))
            self.state = self._reset().at("opd", page=0, history=("menu",), flow=flow)
            self._ask()
            return
        if flow == "complaint":
            history = (*self.state.history, came_from) if via_menu else ()
            self._begin_complaint(unit, history=history)
            return
        if self._answered_recently(unit):
            self.state = self._reset().at("menu")
            self._ask()
            return
        history = (*self.state.history, came_from) if via_menu else ()
        self._begin_survey(unit, history=history)

    def _answered_recently(self, unit: UnitInfo) -> bool:
        days = self.ctx.settings.repeat_window_days
        if days <= 0 or unit.code not in self.ctx.recent_units:
            return False
        if days == 1:
            self._say("survey.already_today", unit=unit.name)
        else:
            self._say("survey.already", unit=unit.name, days=days)
        self.effects.append(InputRejected("repeat_response"))
        return True

    def _begin_survey(self, unit: UnitInfo, *, history: tuple[str, ...]) -> None:
        answers: dict[str, Any] = {}
        if len(unit.service_types) == 1:
            answers["service"] = unit.service_types[0]
        returning = self.ctx.consent_at is not None
        # A profile the citizen asked us to remember is not asked again (issue 14, item 16).
        remembered = {
            item: code
            for item, code in self.ctx.saved_profile.items()
            if returning and code in _PROFILE_OPTIONS.get(item, ())
        }
        answers.update(remembered)
        self.state = self.state.at(
            "consent",
            unit=unit.code,
            opd=unit.opd_code,
            answers=answers,
            history=history,
            editing=False,
            started_at=self.ctx.now,
            page=0,
            query=None,
            remembered=bool(remembered) and returning,
        )
        if not returning:  # the privacy notice names the unit and the length (item 16)
            self._ask_first()
            return
        # A returning citizen is greeted and told the unit and the length (items 11, 16).
        key = "survey.welcome_back" if not history else "survey.length"
        lines = [self._t(key, unit=unit.name, **self._length())]
        if self.state.remembered:
            lines.append(self._t("survey.profile_remembered"))
        self.out.append(Outbound("\n".join(lines)))
        self.state = replace(self.state, step=self._sequence(unit)[0])
        self._ask_first()

    @staticmethod
    def _length() -> dict[str, int]:
        return {"questions": len(QUESTION_ORDER), "minutes": SURVEY_MINUTES}

    def _sequence(self, unit: UnitInfo) -> tuple[str, ...]:
        """The steps this survey asks: without the profile when it was remembered."""
        sequence = survey_sequence(unit)
        if self.state.remembered:
            return tuple(s for s in sequence if not s.startswith("profile:"))
        return sequence

    def _on_consent(self, choice_id: str) -> None:
        if choice_id == "yes":
            self.effects.append(
                RecordConsent(self.ctx.now, self.ctx.settings.consent_notice_version)
            )
            unit = self._unit()
            assert unit is not None
            self.state = self.state.at(self._sequence(unit)[0])
            self._ask_first()
        else:
            self._say("consent.declined")
            self.state = self._reset().at("menu")
            self._ask()

    # --- answering the questionnaire -------------------------------------------------------------

    def _record(self, current: str, choice: Choice | None, free_text: str | None) -> None:
        unit = self._unit()
        if unit is None:  # the unit vanished from the directory mid-survey
            self._say("unit.closed", unit=self.state.unit or "")
            self.state = self._reset().at("menu")
            self._ask()
            return
        answers = dict(self.state.answers)
        key = current.removeprefix("profile:").removeprefix("q:")
        if current == "suggestion":
            if free_text is not None:
                limit = self.ctx.settings.suggestion_max_chars
                if len(free_text) > limit:
                    self._offer_cut(free_text)
                    return
                # Masked as it is accepted, so the summary shows what will be stored.
                answers["suggestion"] = mask_personal_data(free_text)
            else:
                answers.pop("suggestion", None)
        else:
            assert choice is not None
            if choice.id == "skip":
                answers.pop(key, None)
            elif current == "service":
                answers["service"] = unit.service_types[int(choice.id[2:])]
            elif current.startswith("q:"):
                answers[key] = int(choice.id)
            else:
                answers[key] = choice.id
        self._advance(unit, answers)

    def _advance(self, unit: UnitInfo, answers: dict[str, Any]) -> None:
        pending = self.state.pending
        if pending:  # items a returned form left open, then the summary
            following, pending = pending[0], pending[1:]
        elif self.state.editing:
            following = "summary"
        else:
            sequence = self._sequence(unit)
            following = sequence[sequence.index(self.state.step) + 1]
        self.state = self.state.at(
            following,
            answers=answers,
            editing=bool(self.state.pending),
            pending=pending,
            history=(*self.state.history, self.state.step),
        )
        self._ask()

    # --- the questionnaire as one form (a WhatsApp Flow) ---------------------------------------

    def _ask_first(self) -> None:
        """The consent or first question; where the channel shows forms, the whole
        questionnaire as one form instead (the question stays in the message, for channels or
        clients without). The form's message carries the privacy notice and its "Setuju &
        kirim" button is the consent, recorded when the form comes back at the consent step
        (docs/whatsapp.md)."""
        prompt = self._prompt()
        unit = self._unit()
        if (
            unit is not None
            and self.state.flow == "skm"
            and self.language in self.ctx.form_languages
            and self.ctx.nonce
        ):
            token = form_token(self.state.token, unit.code, self.ctx.nonce)
            self.state = replace(self.state, form_token=token)
            # Every time (the form's button says it agrees to it): the privacy notice without
            # its closing question, then how to agree in the form.
            notice = self._t(
                "consent.notice",
                unit=unit.name,
                organisation=self.ctx.settings.organisation,
                **self._length(),
            ).rsplit("\n", 1)[0]
            body = f"{notice}\n{self._t('form.consent.how')}"
            services = service_options(unit.service_types)
            offer = FormOffer(token, body, self._t("form.cta"), services)
            prompt = replace(prompt, form=offer)
        self.out.append(prompt)

    def _form(self) -> bool:
        """A returned form: checked against the token this survey issued, then read through
        the chat's rules; a complete one is submitted, open items continue in the chat."""
        if self.inbound.kind is not InboundKind.FORM:
            return False
        unit = self._unit()
        issued = self.state.form_token
        if unit is None or issued is None or self.inbound.prompt_token != issued:
            # Another survey's, another contact's, forged, or already used: nothing changes.
            self.effects.append(InputRejected("form_stale"))
            self._say("form.stale")
            if self.state.step != "idle":
                self._ask()
            return True
        reading = read_form(
            self.inbound.form, suggestion_max=self.ctx.settings.suggestion_max_chars
        )
        if reading.refused is not None:
            self.effects.append(InputRejected(reading.refused))
            self._say("form.refused")
            self._ask()
            return True
        sequence = survey_sequence(unit)
        # Back from the first open item returns to the survey's first step, never the consent.
        came_from = sequence[0] if self.state.step == "consent" else self.state.step
        if self.state.step == "consent":
            # The form's "Setuju & kirim" button, under the notice its message carried.
            self.effects.append(
                RecordConsent(self.ctx.now, self.ctx.settings.consent_notice_version)
            )
        answers = {**self.state.answers, **reading.answers}
        if "suggestion" in answers:
            answers["suggestion"] = mask_optional(answers["suggestion"])
        open_items = set(reading.to_ask)
        if "service" in sequence and "service" not in answers:
            service = chosen_service(unit.service_types, reading.service)
            if service is None:
                open_items.add("service")  # not an option of this unit: asked in the chat
            elif service:
                answers["service"] = service
        to_ask = tuple(step_name for step_name in sequence if step_name in open_items)
        self.state = replace(self.state, answers=answers, form_token=None)
        if not to_ask:
            # The form's last screen was the confirmation: submit as the summary's "Kirim".
            self._submit()
            return True
        self._say("form.partial")
        self.state = self.state.at(
            to_ask[0],
            editing=True,
            pending=to_ask[1:],
            history=(*self.state.history, came_from),
        )
        self._ask()
        return True

    def _back(self) -> None:
        if self.state.step == "language" and self._in_survey():
            self._close_language()
            return
        if self.state.step in _MENU_STEPS or not self.state.history:
            self.state = self._leave_survey().at("menu")
            self._ask()
            return
        if self.state.query is not None:  # a list of matches: back to the whole list
            self.state = self.state.at(self.state.step, query=None, page=0)
            self._ask()
            return
        *rest, previous = self.state.history
        previous, _, page = previous.partition("@")
        if previous == "menu":
            self.state = self._leave_survey().at("menu")
        elif self.state.editing:
            # Re-answering an item picked from the summary: back returns to the summary's list.
            self.state = self.state.at(previous, history=tuple(rest), editing=False)
        else:
            self.state = self.state.at(
                previous, history=tuple(rest), editing=False, page=int(page or 0)
            )
        self._ask()

    def _submit(self, *, remember: bool = False) -> None:
        unit = self._unit()
        assert unit is not None
        if self._answered_recently(unit):
            self.state = self._reset().at("menu")
            return
        answers = self.state.answers
        scores = {code: int(answers[code]) for code in QUESTION_ORDER if code in answers}
        if len(scores) != len(QUESTION_ORDER):  # an old state lost an answer: ask again
            missing = next(code for code in QUESTION_ORDER if code not in scores)
            self.state = self.state.at(f"q:{missing}", editing=True)
            self._ask()
            return
        started = self.state.started_at or self.ctx.now
        self.effects.append(
            SubmitResponse(
                unit_code=unit.code,
                service_type=answers.get("service"),
                scores=scores,
                profile=stored_profile(answers),
                # Masked when it was accepted (chat or Flow): docs/privacy.md.
                suggestion=answers.get("suggestion"),
                language=self.language,
                started_at=started,
                submitted_at=self.ctx.now,
                local_date=self.ctx.now.astimezone(self.ctx.settings.timezone).date(),
            )
        )
        profile = {item: str(answers[item]) for item, _ in PROFILE_ITEMS if answers.get(item)}
        if profile and (remember or self.state.remembered):
            self.effects.append(RememberProfile(profile))
        # The thanks and the menu in one message (issue 14, item 16); after a lowest score,
        # the menu offers a complaint about the unit first.
        lowest = any(score == min(SCORES) for score in scores.values())
        day = self.ctx.now.astimezone(self.ctx.settings.timezone).date()
        self.state = self._reset().at(
            "menu", unit=unit.code if lowest else None, resume="complaint" if lowest else None,
            followup=f"{unit.code}@{day.year}-Q{(day.month - 1) // 3 + 1}",
        )  # fmt: skip
        menu = self._menu_prompt("again.prompt")
        lines = [self._t("thanks", unit=unit.name)]
        if lowest:
            lines.append(self._t("thanks.low", unit=unit.name))
        self.out.append(replace(menu, text="\n\n".join((*lines, menu.text))))

    # --- prompts --------------------------------------------------------------------------------

    def _unit(self) -> UnitInfo | None:
        return self.ctx.directory.unit(self.state.unit) if self.state.unit else None

    def _reset(self) -> ConversationState:
        """Back to no survey; the sequence number keeps growing so old buttons stay stale."""
        return ConversationState(seq=self.state.seq + 1, last_activity=self.state.last_activity)

    def _menu_prompt(self, title: str = "menu.welcome") -> Outbound:
        offer: tuple[Choice, ...] = ()
        if self.state.unit and self.state.resume == "complaint":
            offer = (Choice(f"complaint:{self.state.unit}", self._t("menu.complaint_unit")),)
        elif self.state.unit and self.state.resume:
            offer = (Choice("resume", self._t("menu.resume")),)
        # Right after the thanks: one optional button to hear what the unit did.
        followup = (
            (Choice("followup", self._t("menu.followup")),)
            if self.state.followup and self.state.step == "menu"
            else ()
        )
        choices = (
            *offer,
            Choice("survey", self._t("menu.survey")),
            Choice("complaint", self._t("menu.complaint")),
            Choice("status", self._t("menu.status")),
            *followup,
            Choice("language", self._t("menu.language")),
            Choice("help", self._t("menu.help")),
        )
        return Outbound(
            self._t(title, organisation=self.ctx.settings.organisation),
            choices,
            self.state.token,
        )

    def _prompt(self) -> Outbound:
        """The current step's question with its valid choices."""
        current = self.state.step
        token = self.state.token
        if current in {"menu", "idle"}:
            return self._menu_prompt()
        if current.startswith("c:"):
            return self._complaint_prompt()
        if current.startswith("cut:"):
            return self._cut_prompt()
        if current.startswith("leave:"):
            unit = self._unit()
            return Outbound(
                self._t(f"leave.{self.state.flow}", unit=unit.name if unit else ""),
                (Choice("leave", self._t("leave.yes")), Choice("stay", self._t("leave.no"))),
                token,
            )
        if current.startswith("switch:"):
            code = current.removeprefix("switch:").partition(":")[2]
            unit, target = self._unit(), self.ctx.directory.unit(code)
            return Outbound(
                self._t(
                    f"switch.{self.state.flow}",
                    unit=unit.name if unit else "",
                    new=target.name if target else code,
                ),
                (Choice("go", self._t("switch.go")), Choice("stay", self._t("switch.stay"))),
                token,
            )
        if current == "erase":
            return Outbound(
                self._t("erase.confirm"),
                (Choice("yes", self._t("erase.yes")), Choice("no", self._t("erase.no"))),
                token,
            )
        if current == "erase:open":
            return Outbound(
                self._t("erase.confirm_open"),
                (
                    Choice("now", self._t("erase.now")),
                    Choice("keep", self._t("erase.keep")),
                    Choice("no", self._t("erase.no")),
                ),
                token,
            )
        if current == "language":
            return Outbound(
                self._t("language.prompt"),
                (Choice("id", self._t("language.id")), Choice("en", self._t("language.en"))),
                token,
            )
        if current in {"opd", "unit"}:
            if current == "opd":
                title = self._t("opd.prompt")
            else:
                opd = self.ctx.directory.opd(self.state.opd or "")
                title = self._t("unit.prompt", opd=opd.label if opd else "")
            listed = self._listing_items()
            if self.state.query is not None:
                title = self._t("listing.matches", query=self.state.query)
                found = match_names(self.state.query, [names for _, names in listed])
                listed = [listed[index] for index in found]
            return self._paged(title, [choice for choice, _ in listed])
        unit = self._unit()
        unit_name = unit.name if unit else ""
        nav = nav_choices(self.language, back=bool(self.state.history) or self.state.editing)
        if current == "consent":
            return Outbound(
                self._t(
                    "consent.notice",
                    unit=unit_name,
                    organisation=self.ctx.settings.organisation,
                    **self._length(),
                ),
                (
                    Choice("yes", self._t("consent.agree")),
                    Choice("no", self._t("consent.decline")),
                    *nav_choices(self.language, back=False),
                ),
                token,
            )
        if current.startswith("profile:"):
            item = current.removeprefix("profile:")
            options = tuple(
                Choice(code, self._t(f"profile.{item}.{code}")) for code in _PROFILE_OPTIONS[item]
            )
            skip = Choice("skip", self._t("nav.skip"))
            hint = "nav.hint.age" if item == "age" else None
            number = [name for name, _ in PROFILE_ITEMS].index(item) + 1
            progress = self._t("survey.profile_progress", n=number, total=len(PROFILE_ITEMS))
            question = f"{progress}\n{self._t(f'profile.{item}.prompt')}"
            return Outbound(question, (*options, skip, *nav), token, hint=hint)
        if current == "service" and unit is not None:
            options = tuple(
                Choice(f"s:{index}", name) for index, name in enumerate(unit.service_types)
            )
            skip = Choice("skip", self._t("nav.skip"))
            return Outbound(
                self._t("service.prompt", unit=unit_name), (*options, skip, *nav), token
            )
        if current.startswith("q:"):
            code = current.removeprefix("q:")
            number = QUESTION_ORDER.index(code) + 1
            progress = self._t("question.progress", n=number, total=len(QUESTION_ORDER))
            options = tuple(
                Choice(str(score), self._t(f"answer.{code}.{score}")) for score in SCORES
            )
            question = f"{progress}\n{self._t(f'question.{code}')}"
            if code in QUESTION_HINTS:
                question += "\n" + self._t(f"question.{code}.hint")
            return Outbound(question, (*options, *nav), token)
        if current == "suggestion":
            limit = number_text(self.ctx.settings.suggestion_max_chars, self.language)
            prompt_text = self._t("suggestion.prompt", unit=unit_name, max=limit)
            skip = Choice("skip", self._t("nav.skip"))
            return Outbound(prompt_text, (skip, *nav), token, hint="nav.hint.text")
        if current == "summary":
            remember: tuple[Choice, ...] = ()
            if self._may_remember():
                # Consent to keep the profile, without an extra question (issue 14, item 16).
                remember = (Choice("submit_remember", self._t("summary.submit_remember")),)
            return Outbound(
                self._summary_text(unit),
                (
                    Choice("submit", self._t("summary.submit")),
                    *remember,
                    Choice("edit", self._t("summary.edit")),
                    *nav,
                ),
                token,
            )
        if current == "edit" and unit is not None:
            # The summary's numbers (issue 14, item 6): "4" is Biaya/Tarif in both.
            editable = tuple(Choice(f"e:{s}", self._item_label(s)) for s in review_items(unit))
            return Outbound(self._t("edit.prompt"), (*editable, *nav), token)
        # An unknown step (old state shape): fall back to the menu prompt.
        return self._menu_prompt()

    def _paged(self, title: str, items: list[Choice]) -> Outbound:
        """One page of a long list (issue 14, item 7): pages of even length, numbers only for
        the items, paging as navigation that keeps its words ("Berikutnya", "Sebelumnya") on
        every page, so no number changes meaning from one page to the next."""
        size = max(self.ctx.settings.page_size, 1)
        pages = max((len(items) + size - 1) // size, 1)
        # Even pages: 17 in pages of at most 8 are 6, 6 and 5; 7 in pages of 3 are 3, 2, 2.
        base, longer = divmod(len(items), pages)
        page = min(max(self.state.page, 0), pages - 1)
        start = page * base + min(page, longer)
        shown = items[start : start + base + (page < longer)]
        if not shown:
            return Outbound(
                self._t("unit.none"), nav_choices(self.language, back=True), self.state.token
            )
        paging = []
        if page > 0:
            paging.append(Choice("page:-1", self._t("nav.prev_page"), ChoiceRole.NAV))
        if page < pages - 1:
            paging.append(Choice("page:+1", self._t("nav.next_page"), ChoiceRole.NAV))
        hint = None
        if pages > 1:
            title = f"{title} {self._t('page.indicator', page=page + 1, pages=pages)}"
            # Only the page words that do something here.
            hint = (
                "nav.hint.pages.first"
                if page == 0
                else "nav.hint.pages.last"
                if page == pages - 1
                else "nav.hint.pages"
            )
        nav = nav_choices(self.language, back=True)
        return Outbound(title, (*shown, *paging, *nav), self.state.token, hint=hint)

    def _may_remember(self) -> bool:
        """The summary offers to remember the profile: some of it given, not remembered yet."""
        given = any(self.state.answers.get(item) for item, _ in PROFILE_ITEMS)
        return given and not self.state.remembered

    def _item_value(self, step_name: str) -> str:
        """One answer as the summary shows it; "(dilewati)" when skipped."""
        answers = self.state.answers
        key = step_name.removeprefix("profile:").removeprefix("q:")
        value = answers.get(key)
        if not value:
            return self._t("summary.skipped")
        if step_name.startswith("profile:"):
            return self._t(f"profile.{key}.{value}")
        if step_name.startswith("q:"):
            return self._t(f"answer.{key}.{value}")
        if key == "suggestion" and len(value) > SUMMARY_SUGGESTION_CHARS:
            # The summary must fit one WhatsApp interactive body (1,024 characters).
            return str(value)[: SUMMARY_SUGGESTION_CHARS - 1].rstrip() + "…"
        return str(value)

    def _item_label(self, step_name: str) -> str:
        if step_name.startswith("profile:"):
            return self._t(f"summary.profile.{step_name.removeprefix('profile:')}")
        if step_name.startswith("q:"):
            return self._t(f"element.{step_name.removeprefix('q:')}")
        if step_name == "service":
            return self._t("summary.service")
        return self._t("summary.suggestion")

    def _summary_text(self, unit: UnitInfo | None) -> str:
        """The answers numbered as the edit menu numbers them: the nine elements as their
        questions were numbered, then the profile, the service type and the suggestion."""
        lines = [self._t("summary.title", unit=unit.name if unit else "")]
        if unit is None:
            return "\n".join(lines)
        if len(unit.service_types) == 1:  # recorded without asking: shown, not numbered
            lines.append(f"{self._t('summary.service')}: {unit.service_types[0]}")
        for number, item in enumerate(review_items(unit), start=1):
            lines.append(f"{number}. {self._item_label(item)}: {self._item_value(item)}")
        ending = ["", self._t("summary.question")]
        note = self._t("summary.remember_note")
        # The note goes where it fits one WhatsApp body with the choices; the button says enough.
        if self._may_remember() and len("\n".join((*lines, note, *ending))) <= SUMMARY_BUDGET:
            lines.append(note)
        return "\n".join((*lines, *ending))


__all__ = ["QUESTION_ORDER", "PROFILE_ITEMS", "clean_text", "step", "survey_sequence"]
