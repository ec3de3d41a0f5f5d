"""The console's "buttons": numbers of prompts outside the conversation, read by the terminal."""

from __future__ import annotations

from handlers.console import ConsoleKeys, parse_line
from survey_flows.complaint_flow import TICKET_TOKEN
from survey_flows.officer import OFFICER_TOKEN
from survey_flows.types import Choice, ChoiceRole, InboundKind, Outbound
from tests.support.dispatcher import T0

NOTICE = Outbound(
    "Pengaduan baru ADU-2345-6789",
    (Choice("ox:verify:ADU-2345-6789", "Verifikasi"), Choice("ox:reject:ADU-2345-6789", "Tolak")),
    OFFICER_TOKEN,
)
RATING = Outbound(
    "Apakah pengaduan ditangani dengan baik?",
    (Choice("rate:ADU-2345-6789:good", "Ya, baik"), Choice("reopen:ADU-2345-6789", "Buka")),
    TICKET_TOKEN,
)
QUESTION = Outbound(
    "Pilih instansi:",
    (Choice("o:disdukcapil", "Disdukcapil"), Choice("cancel", "Batal", ChoiceRole.NAV)),
    "7",
)


def test_a_number_after_a_notification_is_a_tap_on_it() -> None:
    keys = ConsoleKeys()
    keys.show("petugas", NOTICE)
    inbound = parse_line("2\n", "petugas", "e1", T0, keys)
    assert inbound.kind is InboundKind.CHOICE
    assert (inbound.prompt_token, inbound.choice_id) == (OFFICER_TOKEN, "ox:reject:ADU-2345-6789")


def test_each_contact_has_its_own_keys() -> None:
    keys = ConsoleKeys()
    keys.show("petugas", NOTICE)
    keys.show("warga", RATING)
    assert keys.tap("warga", "1") == (TICKET_TOKEN, "rate:ADU-2345-6789:good")
    assert keys.tap("petugas", "1") == (OFFICER_TOKEN, "ox:verify:ADU-2345-6789")
    assert keys.tap("kepala", "1") is None


def test_a_conversation_question_takes_the_numbers_back() -> None:
    keys = ConsoleKeys()
    keys.show("warga", RATING)
    keys.show("warga", QUESTION)  # the engine reads this question's numbers itself
    inbound = parse_line("1", "warga", "e2", T0, keys)
    assert inbound.kind is InboundKind.TEXT and inbound.text == "1"


def test_a_message_without_choices_keeps_the_buttons_shown_before() -> None:
    keys = ConsoleKeys()
    keys.show("warga", RATING)
    keys.show("warga", Outbound("Terima kasih."))
    assert keys.tap("warga", "2") == (TICKET_TOKEN, "reopen:ADU-2345-6789")


def test_anything_but_a_shown_number_stays_text_or_command() -> None:
    keys = ConsoleKeys()
    keys.show("petugas", NOTICE)
    for line in ("0", "3", "12345", "٢", "1.", "satu", "-1", ""):
        assert keys.tap("petugas", line) is None, line
    inbound = parse_line("/tanggapi ADU-2345-6789 Sudah", "petugas", "e3", T0, keys)
    assert inbound.kind is InboundKind.COMMAND and inbound.command == "tanggapi"
