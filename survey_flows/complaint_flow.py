"""The citizen's complaint flow: unit, kind, description, photos, location, anonymity,
confidentiality, summary, confirm; then the ticket and its time limits. Also the status of
one's own complaints, and the rating (or reopening) after the unit has finished.

A mixin of the conversation turn in ``survey_flows.skm``: it shares the turn's state, context
and message helpers, and keeps its own steps (named ``c:...``) and texts.
"""

from __future__ import annotations

from typing import Any

from survey_flows.commands import Command
from survey_flows.complaints import (
    ComplaintKind,
    ComplaintStatus,
    ComplaintView,
    deadlines,
    find_ticket,
)
from survey_flows.dates import deadline_words, moment_words, number_text
from survey_flows.directory import UnitInfo
from survey_flows.engine import ConversationState, Resolved, StepContext, nav_choices
from survey_flows.types import (
    Choice,
    CitizenComplaintAction,
    Effect,
    FileComplaint,
    Inbound,
    InboundKind,
    InputRejected,
    Outbound,
)

COMPLAINT_STEPS = ("c:kind", "c:desc", "c:photo", "c:location", "c:anon", "c:secret", "c:summary")
COMPLAINT_LINK_PREFIX = "c_"
# Buttons sent with notifications belong to a ticket, not to a prompt of the conversation.
TICKET_TOKEN = "t"
# A place typed at the location step ("depan pasar lama") is kept with the description.
PLACE_MAX_CHARS = 200
_STATUS_COMMANDS = frozenset({Command.STATUS, Command.PENGADUAN})


class ComplaintSteps:
    """Complaint steps for the conversation turn (see ``survey_flows.skm._Turn``)."""

    state: ConversationState
    ctx: StepContext
    inbound: Inbound
    language: str
    effects: list[Effect]
    out: list[Outbound]

    # Provided by the turn.
    def _t(self, key: str, **values: object) -> str:
        raise NotImplementedError

    def _say(self, key: str, **values: object) -> None:
        raise NotImplementedError

    def _ask(self) -> None:
        raise NotImplementedError

    def _reset(self) -> ConversationState:
        raise NotImplementedError

    def _reject(self, error: str, **values: object) -> None:
        raise NotImplementedError

    def _unit(self) -> UnitInfo | None:
        raise NotImplementedError

    def _offer_cut(self, typed: str) -> None:
        raise NotImplementedError

    # --- entry ------------------------------------------------------------------------------

    def _begin_complaint(self, unit: UnitInfo, *, history: tuple[str, ...]) -> None:
        self.state = self.state.at(
            "c:kind",
            flow="complaint",
            unit=unit.code,
            opd=unit.opd_code,
            answers={},
            history=history,
            editing=False,
            started_at=self.ctx.now,
            page=0,
        )
        self._ask()

    def _ticket_entry(self) -> bool:
        """Taps on a notification's buttons and "status <ticket>" work at any step."""
        inbound = self.inbound
        if inbound.kind is InboundKind.CHOICE and inbound.prompt_token == TICKET_TOKEN:
            self._on_ticket_button(inbound.choice_id or "")
            return True
        if inbound.kind is InboundKind.COMMAND and inbound.command in _STATUS_COMMANDS:
            # A ticket typed with spaces ("ADU 7K3M Q9XP") spans three words.
            ticket = find_ticket(" ".join(inbound.command_args[:3]))
            if inbound.command == Command.STATUS or ticket is not None:
                if ticket is None and inbound.command_args:  # "STATUS ADU-12": say so
                    self.effects.append(InputRejected("malformed_ticket"))
                    self._say("complaint.status.malformed")
                # "/pengaduan" alone files a complaint; with a ticket it shows that one.
                self._show_status(ticket)
                return True
        if (
            inbound.kind is InboundKind.TEXT
            and inbound.text
            and self.state.step in {"idle", "menu"}
            and (ticket := find_ticket(inbound.text[:200])) is not None
        ):
            self._show_status(ticket)
            return True
        return False

    # --- status -----------------------------------------------------------------------------

    def _own(self, ticket: str | None) -> ComplaintView | None:
        return next((c for c in self.ctx.complaints if c.ticket == ticket), None)

    def _show_status(self, ticket: str | None) -> None:
        """One complaint's status, only to the citizen who filed it; else their list."""
        zone = self.ctx.settings.timezone
        complaint = self._own(ticket)
        if ticket is not None and complaint is None:
            # Another citizen's ticket or a mistyped one: the answer is the same.
            self.effects.append(InputRejected("unknown_ticket"))
            self._say("complaint.status.unknown", ticket=ticket)
        elif complaint is not None:
            self._say(
                "complaint.status.one",
                ticket=complaint.ticket,
                unit=complaint.unit_name,
                status=self._t(f"complaint.state.{complaint.status.value}"),
                filed=moment_words(complaint.filed_at, zone, self.language),
                verify_by=deadline_words(complaint.verify_by, zone, self.language),
                answer_by=deadline_words(complaint.answer_by, zone, self.language),
            )
            if complaint.last_answer:
                self._say("complaint.status.answer", answer=complaint.last_answer)
        if ticket is None:
            if not self.ctx.complaints:
                self._say("complaint.status.none")
            else:
                lines = [self._t("complaint.status.list")]
                for item in self.ctx.complaints[:10]:
                    state = self._t(f"complaint.state.{item.status.value}")
                    lines.append(f"• {item.ticket}: {state} ({item.unit_name})")
                self.out.append(Outbound("\n".join(lines)))
        if self.state.step == "idle":
            self.state = self.state.at("menu")
        self._ask()

    def _on_ticket_button(self, choice_id: str) -> None:
        """``rate:<ticket>:good|poor`` and ``reopen:<ticket>`` from the finish notice."""
        action, _, rest = choice_id.partition(":")
        ticket, _, value = rest.partition(":")
        complaint = self._own(ticket)
        now = self.ctx.now
        if complaint is None or action not in {"rate", "reopen"}:
            self.effects.append(InputRejected("error.stale"))
            self._say("error.stale")
            return
        if action == "rate":
            if complaint.rated or complaint.status is not ComplaintStatus.SELESAI:
                self.effects.append(InputRejected("already_rated"))
                self._say("complaint.rate.already")
                return
            verdict = "rate_good" if value == "good" else "rate_poor"
            self.effects.append(CitizenComplaintAction(complaint.ticket, verdict, now))
            self._say("complaint.rate.thanks")
            return
        reopenable = complaint.status in {
            ComplaintStatus.SELESAI,
            ComplaintStatus.DITINDAKLANJUTI,
        }
        if not reopenable or complaint.reopen_until is None or now > complaint.reopen_until:
            self.effects.append(InputRejected("reopen_late"))
            self._say("complaint.error.reopen_late")
            return
        self.effects.append(CitizenComplaintAction(complaint.ticket, "reopen", now))
        self._say("complaint.reopened", ticket=complaint.ticket)

    # --- the filing steps -------------------------------------------------------------------

    def _complaint_input(self) -> bool:
        """Photos and locations are answers on their steps; other media are not."""
        step = self.state.step
        answers = dict(self.state.answers)
        if step == "c:photo" and self.inbound.kind is InboundKind.MEDIA and self.inbound.media_ref:
            photos = list(answers.get("photos", []))
            if len(photos) >= self.ctx.settings.complaint_max_photos:
                self._reject("complaint.photo.too_many")
                return True
            photos.append(self.inbound.media_ref)
            answers["photos"] = photos
            self.state = self.state.at(step, answers=answers)
            self._say("complaint.photo.received", count=len(photos))
            self._ask()
            return True
        if step == "c:location" and self.inbound.location is not None:
            answers.pop("place", None)
            answers["location"] = list(self.inbound.location)
            self._complaint_next(answers)
            return True
        return False

    def _complaint_answer(self, resolved: Resolved) -> None:
        step = self.state.step
        answers = dict(self.state.answers)
        choice = resolved.choice.id if resolved.choice else None
        if step == "c:kind":
            answers["kind"] = choice
        elif step == "c:desc":
            description = resolved.free_text or ""
            settings = self.ctx.settings
            if len(description) < settings.complaint_min_chars:
                self._reject("complaint.desc.too_short")
                return
            if len(description) > settings.complaint_max_chars:
                self._offer_cut(description)
                return
            answers["description"] = description
        elif step == "c:location" and resolved.free_text is not None:
            if len(resolved.free_text) > PLACE_MAX_CHARS:
                self._reject(
                    "complaint.location.too_long", max=number_text(PLACE_MAX_CHARS, self.language)
                )
                return
            answers.pop("location", None)
            answers["place"] = resolved.free_text
        elif step in {"c:photo", "c:location"}:
            pass  # "Lanjut" / "Lewati": nothing more to keep
        elif step in {"c:anon", "c:secret"}:
            answers[step[2:]] = choice == "yes"
        elif step == "c:summary":
            if choice == "submit":
                self._file_complaint()
            else:
                unit = self._unit()
                assert unit is not None
                self._begin_complaint(unit, history=self.state.history)
            return
        self._complaint_next(answers)

    def _complaint_next(self, answers: dict[str, Any]) -> None:
        following = COMPLAINT_STEPS[COMPLAINT_STEPS.index(self.state.step) + 1]
        self.state = self.state.at(
            following, answers=answers, history=(*self.state.history, self.state.step)
        )
        self._ask()

    def _file_complaint(self) -> None:
        unit = self._unit()
        assert unit is not None
        answers = self.state.answers
        zone = self.ctx.settings.timezone
        due = deadlines(self.ctx.now, self.ctx.calendar, self.ctx.settings.complaint_limits, zone)
        location = answers.get("location")
        self.effects.append(
            FileComplaint(
                ticket=self.ctx.fresh_ticket,
                unit_code=unit.code,
                kind=str(answers.get("kind", ComplaintKind.PENGADUAN.value)),
                description=self._description_with_place(),
                photos=tuple(answers.get("photos", ())),
                location=(float(location[0]), float(location[1])) if location else None,
                anonymous=bool(answers.get("anon", False)),
                confidential=bool(answers.get("secret", False)),
                language=self.language,
                filed_at=self.ctx.now,
                verify_by=due.verify_by,
                answer_by=due.answer_by,
            )
        )
        self._say(
            "complaint.filed",
            kind=self._t(f"complaint.kind.{answers.get('kind', ComplaintKind.PENGADUAN.value)}"),
            ticket=self.ctx.fresh_ticket,
            unit=unit.name,
            verify_by=deadline_words(due.verify_by, zone, self.language),
            answer_by=deadline_words(due.answer_by, zone, self.language),
        )
        self.state = self._reset()

    def _description_with_place(self) -> str:
        """The description as filed: a typed place follows it on its own line, so the unit
        reads it where it reads the rest (complaints have no column for a place's name)."""
        description = str(self.state.answers.get("description", ""))
        place = self.state.answers.get("place")
        if not place:
            return description
        return f"{description}\n\n{self._t('complaint.summary.location')}: {place}"

    # --- prompts ----------------------------------------------------------------------------

    def _complaint_prompt(self) -> Outbound:
        step = self.state.step
        token = self.state.token
        unit = self._unit()
        unit_name = unit.name if unit else ""
        nav = nav_choices(self.language, back=bool(self.state.history))
        yes_no = (Choice("yes", self._t("complaint.yes")), Choice("no", self._t("complaint.no")))
        if step == "c:kind":
            kinds = tuple(
                Choice(kind.value, self._t(f"complaint.kind.{kind.value}"))
                for kind in ComplaintKind
            )
            prompt = self._t("complaint.kind.prompt", unit=unit_name)
            return Outbound(prompt, (*kinds, *nav), token)
        if step == "c:desc":
            settings = self.ctx.settings
            prompt = self._t(
                "complaint.desc.prompt",
                min=number_text(settings.complaint_min_chars, self.language),
                max=number_text(settings.complaint_max_chars, self.language),
            )
            return Outbound(prompt, nav, token, hint="nav.hint.text")
        if step == "c:photo":
            done = Choice("skip", self._t("complaint.next"))
            prompt = self._t("complaint.photo.prompt")
            return Outbound(prompt, (done, *nav), token, hint="nav.hint.photo")
        if step == "c:location":
            skip = Choice("skip", self._t("nav.skip"))
            prompt = self._t("complaint.location.prompt")
            return Outbound(prompt, (skip, *nav), token, hint="nav.hint.location")
        if step == "c:anon":
            return Outbound(self._t("complaint.anon.prompt"), (*yes_no, *nav), token)
        if step == "c:secret":
            return Outbound(self._t("complaint.secret.prompt"), (*yes_no, *nav), token)
        return Outbound(
            self._complaint_summary(unit_name),
            (
                Choice("submit", self._t("summary.submit")),
                Choice("again", self._t("complaint.again")),
                *nav,
            ),
            token,
        )

    def _complaint_summary(self, unit_name: str) -> str:
        answers = self.state.answers
        description = str(answers.get("description", ""))
        if len(description) > 300:  # the summary must fit one WhatsApp interactive body
            description = description[:299].rstrip() + "…"
        yes, no = self._t("complaint.yes"), self._t("complaint.no")
        location = answers.get("location")
        place = answers.get("place")
        photos = len(answers.get("photos", []))
        return "\n".join(
            [
                self._t("complaint.summary.title", unit=unit_name),
                f"{self._t('complaint.summary.kind')}: "
                + self._t(f"complaint.kind.{answers.get('kind', 'pengaduan')}"),
                f"{self._t('complaint.summary.desc')}: {description}",
                f"{self._t('complaint.summary.photos')}: "
                + (self._t("complaint.summary.photo_count", count=photos) if photos
                   else self._t("complaint.summary.none")),
                f"{self._t('complaint.summary.location')}: "
                + (f"{location[0]:.5f}, {location[1]:.5f}" if location
                   else place if place
                   else self._t("complaint.summary.not_sent")),
                f"{self._t('complaint.summary.anon')}: {yes if answers.get('anon') else no}",
                f"{self._t('complaint.summary.secret')}: {yes if answers.get('secret') else no}",
                "",
                self._t("complaint.summary.question"),
            ]
        )  # fmt: skip
