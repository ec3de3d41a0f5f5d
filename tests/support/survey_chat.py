"""Driving the pure SKM survey flow (survey_flows) as a chat, its directory and golden files."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from survey_flows import skm
from survey_flows.directory import Directory, OpdInfo, UnitInfo
from survey_flows.engine import FlowSettings, StepContext
from survey_flows.types import (
    Channel,
    Effect,
    FollowUpOptIn,
    FollowUpOptOut,
    Inbound,
    InboundKind,
    InputRejected,
    Outbound,
    RecordConsent,
    RememberProfile,
    SetLanguage,
    StepResult,
    SubmitResponse,
)

# 10:00 WIT (UTC+9) on Wednesday 25 November 2026.
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


TICK = timedelta(seconds=15)  # time between two inputs of a scripted conversation


CONSENT_ON_RECORD = NOW - timedelta(days=40)


SETTINGS = FlowSettings(page_size=3)


# The order the regulation's sample questionnaire asks in (SKM.md §1.2): U9 before U8.
ASKED_ORDER = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U9", "U8")


ELEMENTS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")


PUSKESMAS = (
    ("pkm-timika", "Puskesmas Timika"),
    ("pkm-timika-jaya", "Puskesmas Timika Jaya"),
    ("pkm-kwamki-narama", "Puskesmas Kwamki Narama"),
    ("pkm-mapurujaya", "Puskesmas Mapurujaya"),
    ("pkm-wania", "Puskesmas Wania"),
    ("pkm-limau-asri", "Puskesmas Limau Asri"),
    ("pkm-jila", "Puskesmas Jila"),
)


MPP = "dukcapil-mpp"  # several service types


MPP_NAME = "Loket Disdukcapil MPP"


MPP_SERVICES = ("KTP-el", "Kartu Keluarga", "Akta kelahiran")


KANTOR = "dukcapil-kantor"  # exactly one service type


DIRECTORY = Directory.build(
    opds=(
        OpdInfo("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil"),
        OpdInfo("dinkes", "Dinas Kesehatan", "Dinkes"),
        OpdInfo("dishub", "Dinas Perhubungan", "Dishub", active=False),
    ),
    units=(
        UnitInfo(MPP, MPP_NAME, "disdukcapil", MPP_SERVICES),
        UnitInfo(KANTOR, "Kantor Disdukcapil", "disdukcapil", ("KTP-el",)),
        *(UnitInfo(code, name, "dinkes", ("Rawat jalan",)) for code, name in PUSKESMAS[:3]),
        UnitInfo("pkm-agimuga", "Puskesmas Agimuga", "dinkes", ("Rawat jalan",), active=False),
        *(UnitInfo(code, name, "dinkes", ("Rawat jalan",)) for code, name in PUSKESMAS[3:]),
        UnitInfo("dishub-kir", "Uji KIR Kendaraan", "dishub", ("Uji KIR",)),
    ),
)


@dataclass(frozen=True)
class Say:
    """The citizen types a text."""

    text: str

    def render(self) -> str:
        return f"> {json.dumps(self.text, ensure_ascii=False)}"


@dataclass(frozen=True)
class Command:
    """The citizen sends a slash command (``/start u_x``)."""

    name: str
    args: tuple[str, ...] = ()

    def render(self) -> str:
        return "> /" + " ".join((self.name, *self.args))


@dataclass(frozen=True)
class Tap:
    """The citizen taps a button of the latest prompt, by id or label.

    ``choice_id`` and ``token`` override what is sent, to forge or replay a button.
    """

    which: str
    token: str | None = None
    forged_id: str | None = None

    def render(self) -> str:
        return f"> [tap] {self.which}"


@dataclass(frozen=True)
class Send:
    """Something that is neither text nor a button (a sticker, a photo)."""

    kind: InboundKind

    def render(self) -> str:
        return f"> [{self.kind.value}]"


@dataclass(frozen=True)
class Wait:
    """Time passes without any input."""

    delta: timedelta

    def render(self) -> str:
        return f"> (waits {self.delta})"


Action = Say | Command | Tap | Send | Wait


@dataclass
class Chat:
    """One contact talking to the flow, with the dispatcher's bookkeeping faked.

    The state exists only as JSON text (``raw``). Effects are applied the way the dispatcher
    applies them: a chosen language and a consent are remembered on the contact, and a
    submitted unit counts as recently answered.
    """

    settings: FlowSettings = SETTINGS
    language: str = "id"
    consent_at: datetime | None = None
    recent_units: set[str] = field(default_factory=set)
    saved_profile: dict[str, str] = field(default_factory=dict)
    now: datetime = NOW
    directory: Directory = DIRECTORY
    raw: str = "null"
    prompts: list[Outbound] = field(default_factory=list)
    results: list[StepResult] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    events: int = 0

    @property
    def state(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.raw)
        return value

    @property
    def step(self) -> str:
        return str(self.state["step"]) if self.raw != "null" else "none"

    @property
    def prompt(self) -> Outbound:
        assert self.prompts, "no prompt has been shown yet"
        return self.prompts[-1]

    @property
    def last(self) -> StepResult:
        return self.results[-1]

    def context(self) -> StepContext:
        return StepContext(
            now=self.now,
            directory=self.directory,
            language=self.language,
            consent_at=self.consent_at,
            recent_units=frozenset(self.recent_units),
            saved_profile=dict(self.saved_profile),
            settings=self.settings,
        )

    def inbound(self, action: Action) -> Inbound:
        self.events += 1
        base = Inbound(
            channel=Channel.CONSOLE,
            contact="6281200000001",
            event_id=f"ev-{self.events}",
            kind=InboundKind.TEXT,
            received_at=self.now,
        )
        if isinstance(action, Say):
            return replace(base, text=action.text)
        if isinstance(action, Command):
            return replace(
                base, kind=InboundKind.COMMAND, command=action.name, command_args=action.args
            )
        if isinstance(action, Tap):
            if action.forged_id is not None:
                choice_id = action.forged_id
            else:
                choice_id = self.find(action.which)
            token = action.token if action.token is not None else self.prompt.prompt_token
            return replace(base, kind=InboundKind.CHOICE, choice_id=choice_id, prompt_token=token)
        assert isinstance(action, Send)
        return replace(base, kind=action.kind)

    def find(self, which: str) -> str:
        for choice in self.prompt.choices:
            if which in (choice.id, choice.label):
                return choice.id
        labels = [(c.id, c.label) for c in self.prompt.choices]
        raise AssertionError(f"no button {which!r} in the latest prompt: {labels}")

    def do(self, action: Action) -> StepResult | None:
        if isinstance(action, Wait):
            self.now += action.delta
            self.transcript.append(action.render())
            return None
        inbound = self.inbound(action)
        before = json.loads(self.raw)  # a fresh object: nothing is shared with the last step
        result = skm.step(before, inbound, self.context())
        # The state must survive a JSON round trip unchanged (no datetimes, tuples, sets).
        self.raw = json.dumps(result.state, ensure_ascii=False, sort_keys=True)
        assert json.loads(self.raw) == result.state
        self.results.append(result)
        self.prompts.extend(o for o in result.outbound if o.prompt_token is not None)
        for effect in result.effects:
            if isinstance(effect, SetLanguage):
                self.language = effect.language
            elif isinstance(effect, RecordConsent):
                self.consent_at = effect.at
            elif isinstance(effect, SubmitResponse):
                self.recent_units.add(effect.unit_code)
            elif isinstance(effect, RememberProfile):
                self.saved_profile = dict(effect.profile)
        self.transcript.append(render_step(len(self.results), action, result))
        self.now += TICK
        return result

    def say(self, text: str) -> StepResult:
        return self.must(Say(text))

    def tap(self, which: str, **kwargs: Any) -> StepResult:
        return self.must(Tap(which, **kwargs))

    def command(self, name: str, *args: str) -> StepResult:
        return self.must(Command(name, args))

    def must(self, action: Action) -> StepResult:
        result = self.do(action)
        assert result is not None
        return result

    def run(self, actions: Iterable[Action]) -> Chat:
        for action in actions:
            self.do(action)
        return self

    def effects(self, kind: type[Any]) -> list[Any]:
        return [e for r in self.results for e in r.effects if isinstance(e, kind)]

    def submitted(self) -> SubmitResponse:
        responses = self.effects(SubmitResponse)
        assert len(responses) == 1, responses
        response: SubmitResponse = responses[0]
        return response


def render_step(number: int, action: Action, result: StepResult) -> str:
    state = result.state or {}
    lines = [f"--- {number} " + "-" * 60, action.render()]
    if isinstance(action, Tap):
        lines[-1] += f"  (token {action.token or 'current'})"
    for message in result.outbound:
        lines.extend(render_outbound(message))
    if result.answered is not None:
        lines.append(f"  [answered: {result.answered.answer_label}]")
    for effect in result.effects:
        lines.append(f"  * {render_effect(effect)}")
    expires = result.expires_at.isoformat() if result.expires_at else "-"
    lines.append(f"  = step {state.get('step')} | token {state.get('seq')} | expires {expires}")
    return "\n".join(lines)


def render_outbound(message: Outbound) -> list[str]:
    lines = [f"< {line}" if line else "<" for line in message.text.split("\n")]
    for number, choice in enumerate(message.answer_choices(), start=1):
        lines.append(f"    {number}. {choice.label}  [{choice.id}]")
    nav = message.nav_choices()
    if nav:
        lines.append("    " + " ".join(f"[{c.label}]" for c in nav))
    if message.prompt_token is not None:
        lines.append(f"    (prompt {message.prompt_token}, {message.language})")
    return lines


def render_effect(effect: Effect) -> str:
    if isinstance(effect, SubmitResponse):
        scores = " ".join(f"{code}={effect.scores[code]}" for code in sorted(effect.scores))
        profile = " ".join(f"{k}={v}" for k, v in sorted(effect.profile.items())) or "-"
        return "\n    ".join(
            (
                f"SubmitResponse unit={effect.unit_code} service={effect.service_type}",
                f"scores: {scores}",
                f"profile: {profile}",
                f"suggestion: {json.dumps(effect.suggestion, ensure_ascii=False)}",
                f"language={effect.language} local_date={effect.local_date.isoformat()}",
                f"started={effect.started_at.isoformat()}",
                f"submitted={effect.submitted_at.isoformat()}",
            )
        )
    if isinstance(effect, RecordConsent):
        return f"RecordConsent at={effect.at.isoformat()} notice={effect.notice_version}"
    if isinstance(effect, SetLanguage):
        return f"SetLanguage {effect.language}"
    if isinstance(effect, RememberProfile):
        return "RememberProfile " + " ".join(f"{k}={v}" for k, v in sorted(effect.profile.items()))
    if isinstance(effect, FollowUpOptIn):
        return f"FollowUpOptIn unit={effect.unit_code} period={effect.period}"
    if isinstance(effect, FollowUpOptOut):
        return "FollowUpOptOut"
    assert isinstance(effect, InputRejected)
    return f"InputRejected {effect.reason}"


SUGGESTION = "Antrean perlu dipercepat."


def _drive(target: str, settings: FlowSettings) -> Chat:
    consent = None if target == "consent" else CONSENT_ON_RECORD
    chat = Chat(settings=settings, consent_at=consent)
    if target in {"menu", "opd", "unit", "consent"}:
        chat.command("start")
        for button in ("survey", "o:disdukcapil", f"u:{MPP}"):
            if chat.step == target:
                return chat
            chat.tap(button)
    else:
        chat.command("start", f"u_{MPP}")
    for _ in range(40):
        if chat.step == target:
            return chat
        if chat.step == "suggestion":
            chat.say(SUGGESTION)
        elif chat.step == "summary":
            chat.tap("edit")
        else:
            chat.tap(chat.prompt.answer_choices()[0].id)
    raise AssertionError(f"never reached {target}")


_AT_CACHE: dict[tuple[str, FlowSettings], Chat] = {}


def chat_at(target: str, settings: FlowSettings = SETTINGS) -> Chat:
    """A conversation waiting at ``target``, with consent on record unless it is the consent.

    Reaches the menu, OPD, unit and consent steps through the menu, and survey steps through
    the deep link to the unit with three service types (answering 1 / the first option).
    """
    key = (target, settings)
    if key not in _AT_CACHE:
        _AT_CACHE[key] = _drive(target, settings)
    chat = copy.deepcopy(_AT_CACHE[key])
    chat.results.clear()
    chat.transcript.clear()
    return chat


def answer_everything(chat: Chat, scores: dict[str, int], *, suggestion: str | None) -> None:
    """Answer from the current step to the summary: profile by first option, given scores."""
    for _ in range(30):
        step = chat.step
        if step == "summary":
            return
        if step.startswith("q:"):
            chat.tap(str(scores[step.removeprefix("q:")]))
        elif step == "suggestion":
            if suggestion is None:
                chat.tap("skip")
            else:
                chat.say(suggestion)
        elif step == "consent":
            chat.tap("yes")
        else:
            chat.tap(chat.prompt.answer_choices()[0].id)
    raise AssertionError("never reached the summary")


def texts(result: StepResult) -> list[str]:
    return [message.text for message in result.outbound]


def labels(message: Outbound) -> list[str]:
    return [choice.label for choice in message.answer_choices()]


def all_scores(score: int) -> dict[str, int]:
    return dict.fromkeys(ELEMENTS, score)
