"""Every message of the catalogues, for the checks over all of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from survey_flows.directory import Directory
from survey_flows.types import InboundKind, Outbound
from tests.support.survey_chat import (
    CONSENT_ON_RECORD,
    DIRECTORY,
    MPP,
    SETTINGS,
    Chat,
    Send,
    Tap,
)


def _every_message(language: str) -> list[Outbound]:
    """Visit every step and every message of the flow; a missing key raises KeyError."""
    seen: list[Outbound] = []

    def keep(chat: Chat) -> Chat:
        seen.extend(o for r in chat.results for o in r.outbound)
        return chat

    # Menu, help, language, paging, consent, declining it.
    chat = Chat(language=language)
    chat.say("halo")
    chat.say("bantuan")
    chat.tap("language")
    chat.tap(language)
    chat.tap("survey")
    chat.tap("o:dinkes")
    chat.tap("page:+1")
    chat.tap("page:-1")
    chat.tap("page:+1")
    chat.tap("u:pkm-wania")
    chat.tap("no")
    keep(chat)

    # Every survey step, errors at each, the summary, editing and thanks.
    chat = Chat(language=language)
    chat.command("start", f"u_{MPP}")
    chat.tap("yes")
    for _ in range(16):
        step = chat.step
        if step == "suggestion":
            chat.say("")
            chat.say("x" * (SETTINGS.suggestion_max_chars + 1))
            chat.tap("retype")
            chat.say("menu")  # a leaving word is the suggestion's text here
            chat.tap("back")
            chat.say("Semoga makin baik")
            break
        chat.say("tidak tahu")
        chat.must(Send(InboundKind.UNSUPPORTED))
        chat.must(Tap("", token="0", forged_id="1"))
        chat.say("z" * 5000)
        chat.tap(chat.prompt.answer_choices()[1].id)
    assert chat.step == "summary"
    chat.say("status")  # asks once before leaving
    chat.tap("stay")
    chat.tap("edit")
    for item in [c.id for c in chat.prompt.answer_choices()]:
        chat.tap(item)
        if chat.step == "suggestion":
            chat.tap("skip")
        else:
            chat.tap(chat.prompt.answer_choices()[0].id)
        chat.tap("edit")
    chat.say("kembali")
    chat.say("ulang")  # repeats the question
    chat.say("batal")
    chat.command("start", f"u_{MPP}")
    answer = [c.id for c in chat.prompt.answer_choices()]
    chat.tap(answer[0])
    chat.now += timedelta(hours=2)
    chat.say("1")  # expired
    keep(chat)

    # Unknown, closed and recently answered units; a repeat window of several days.
    for settings in (SETTINGS, replace(SETTINGS, repeat_window_days=7)):
        chat = Chat(language=language, settings=settings, recent_units={"pkm-jila"})
        chat.say("SKM tidak-ada")
        chat.say("SKM pkm-agimuga")
        chat.command("start", "u_pkm-jila")
        chat.command("tidak-dikenal")
        keep(chat)

    # Submitting, with consent on record.
    chat = Chat(language=language, consent_at=CONSENT_ON_RECORD)
    chat.command("start", "u_pkm-timika")
    while chat.step != "summary":
        chat.tap(chat.prompt.answer_choices()[0].id)
    chat.tap("submit")
    keep(chat)

    # An OPD whose units are all closed lists nothing.
    empty = Directory.build(DIRECTORY.opds, ())
    chat = Chat(language=language, directory=empty)
    chat.command("start")
    chat.tap("survey")
    keep(chat)
    return seen
