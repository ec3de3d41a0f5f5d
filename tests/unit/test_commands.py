"""The vocabulary of commands and its one parser (survey_flows.commands), and that the three
channels' adapters read typed text through it alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.console import parse_line
from handlers.telegram import parse_update
from handlers.whatsapp import parse_payload
from survey_flows.catalog import LANGUAGES, MESSAGES
from survey_flows.commands import (
    BY_WORD,
    KEYWORDS,
    VOCABULARY,
    Arguments,
    Audience,
    Command,
    inbound_fields,
    menu,
    parse_command,
    strict_ticket,
    text_after_words,
)
from survey_flows.officer import officer_request
from survey_flows.types import Channel, Inbound, InboundKind
from tests.support.fakes.graph_api import Citizen

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
TICKET = "ADU-7K3M-Q9XP"

# Every word of the vocabulary, in either language, with the canonical name it stands for.
WORDS = [(word, spec.name) for spec in VOCABULARY for word in spec.words]


# --- the vocabulary ---------------------------------------------------------------------------


def test_every_word_names_exactly_one_command_and_canonical_names_are_words() -> None:
    words = [word for spec in VOCABULARY for word in spec.words]
    assert len(words) == len(set(words))
    assert {spec.name for spec in VOCABULARY} == set(Command)
    for spec in VOCABULARY:
        assert spec.name.value in spec.words and spec.indonesian


@pytest.mark.parametrize(
    ("word", "name"),
    [("batal", "batal"), ("cancel", "batal"), ("stop", "batal"), ("tanggapi", "tanggapi"),
     ("jawab", "tanggapi"), ("answer", "tanggapi"), ("verify", "verifikasi"),
     ("finish", "selesai"), ("reject", "tolak"), ("summary", "ringkasan"),
     ("lapor", "pengaduan"), ("complaint", "pengaduan"), ("survey", "survei"),
     ("erase", "hapus"), ("language", "bahasa"), ("help", "bantuan"), ("mulai", "start"),
     ("back", "kembali"), ("repeat", "ulang"), ("menu", "menu"), ("status", "status")],
)  # fmt: skip
def test_indonesian_and_english_words_share_a_canonical_name(word: str, name: str) -> None:
    assert BY_WORD[word].name == name


def test_the_keywords_are_the_citizen_words_and_no_officer_word() -> None:
    assert KEYWORDS["stop"] == "cancel" and KEYWORDS["mulai"] == "menu"
    assert KEYWORDS["kembali"] == "back" and KEYWORDS["status"] == "status"
    for spec in VOCABULARY:
        for word in spec.words:
            assert (word in KEYWORDS) is (spec.audience is Audience.CITIZEN)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_telegram_menu_lists_citizen_commands_described_in_the_catalogue(
    language: str,
) -> None:
    listed = menu(language)
    words = [word for word, _ in listed]
    if language == "id":
        assert {"mulai", "survei", "pengaduan", "status", "batal", "hapus"} <= set(words)
    else:
        assert {"start", "survey", "complaint", "status", "cancel", "erase"} <= set(words)
    assert not {"tanggapi", "answer", "ringkasan", "summary"} & set(words)
    for word, key in listed:
        assert BY_WORD[word].audience is Audience.CITIZEN
        assert MESSAGES[language][key]  # described in this very language, not a fallback


# --- slash commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(("word", "name"), WORDS)
def test_every_word_with_a_slash_is_its_command_in_any_case(word: str, name: str) -> None:
    for typed in (word, word.upper(), word.capitalize()):
        parsed = parse_command(f"/{typed}")
        assert parsed is not None and parsed.name == name and parsed.args == ()


def test_a_command_addressed_to_the_bot_by_name_in_a_group() -> None:
    parsed = parse_command(f"/Tanggapi@skm_mimika_bot {TICKET} Sudah")
    assert parsed is not None
    assert (parsed.name, parsed.args) == ("tanggapi", (TICKET, "Sudah"))


def test_the_start_payload_keeps_its_case() -> None:
    parsed = parse_command("/start u_Dukcapil-MPP")
    assert parsed is not None and parsed.args == ("u_Dukcapil-MPP",)


def test_an_unknown_slash_word_is_a_command_the_flow_answers_with_help() -> None:
    parsed = parse_command("/Entahlah apa")
    assert parsed is not None and not parsed.known
    assert (parsed.name, parsed.args) == ("entahlah", ("apa",))


@pytest.mark.parametrize("typed", ["/", "/ batal", "//batal", "1/2 kg", "/batal/x", "a /batal"])
def test_a_slash_that_starts_no_command_word_is_text(typed: str) -> None:
    assert parse_command(typed) is None


def test_the_answer_after_the_ticket_is_kept_verbatim_with_its_lines() -> None:
    typed = f"/tanggapi   {TICKET}   Loket  dibuka\n\nmulai Senin,\n  pukul 08.00  \n"
    parsed = parse_command(typed)
    assert parsed is not None
    assert parsed.text == f"{TICKET}   Loket  dibuka\n\nmulai Senin,\n  pukul 08.00"
    assert text_after_words(parsed.text, 1) == "Loket  dibuka\n\nmulai Senin,\n  pukul 08.00"
    assert parsed.args == (TICKET, "Loket", "dibuka", "mulai", "Senin,", "pukul", "08.00")


# --- without the slash ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [w for w, name in WORDS if name in {"tanggapi", "verifikasi", "selesai", "tolak", "status"}],
)
@pytest.mark.parametrize("ticket", [TICKET, "adu-7k3m-q9xp", "ADU7K3MQ9XP", "adu7k3mq9xp"])
def test_officer_commands_and_status_need_no_slash_before_a_ticket(word: str, ticket: str) -> None:
    for typed in (word, word.upper()):
        parsed = parse_command(f"{typed} {ticket} Sudah kami perbaiki")
        assert parsed is not None and parsed.name == BY_WORD[word].name
        assert strict_ticket(parsed.args[0]) == TICKET
        assert parsed.text == f"{ticket} Sudah kami perbaiki"


def test_a_whatsapp_answer_typed_without_a_slash_reaches_the_officer_path() -> None:
    fields = inbound_fields(f"TANGGAPI {TICKET.lower()}: Sudah kami perbaiki.\nTerima kasih.")
    inbound = Inbound(channel=Channel.WHATSAPP, contact="x", event_id="1", received_at=NOW,
                      **fields)  # fmt: skip
    request = officer_request(inbound)
    assert request is not None
    assert (request.ticket, request.action) == (TICKET, "answer")
    assert request.note == "Sudah kami perbaiki.\nTerima kasih."


@pytest.mark.parametrize(
    "typed",
    [
        "selesai juga akhirnya, terima kasih",
        "status saya belum jelas",
        "Tanggapi dong keluhan saya",
        f"tolong tanggapi {TICKET}",  # the command word is not first
        f"selesai {TICKET}X lagi",  # the second word contains a ticket but is not one
        "status ADU-7K3M-Q9XP-2 kemarin",
        f"verifikasi\n{TICKET}",  # on another line: a sentence, not a command
        "batal",
        "kembali ke menu",
        f"batal {TICKET}",  # citizen words take no slash-free form
        f"ringkasan {TICKET}",
        "stop",
        "",
        "   ",
    ],
)
def test_ordinary_text_stays_text(typed: str) -> None:
    assert parse_command(typed) is None
    assert inbound_fields(typed) == {"kind": InboundKind.TEXT, "text": typed}


def test_a_ticket_is_strict() -> None:
    assert strict_ticket("adu7k3mq9xp,") == TICKET
    assert strict_ticket("ADU-7K3M-Q9XP") == TICKET
    assert strict_ticket("ADU-7K3M-Q9X") is None
    assert strict_ticket("xADU-7K3M-Q9XP") is None
    assert strict_ticket("ADU-1111-1111") is None  # 1 is not in the alphabet


# --- hostile input --------------------------------------------------------------------------------


def test_control_characters_and_emoji() -> None:
    parsed = parse_command(f"\ufeff/tanggapi\x00 {TICKET} Sudah\x07 👍\r\nbaik")
    assert parsed is not None and parsed.name == "tanggapi"
    assert parsed.text == f"{TICKET} Sudah 👍\nbaik"
    assert "\x00" not in "".join(parsed.args)
    assert parse_command("👍 /batal") is None
    assert parse_command(f"👍 {TICKET}") is None


@pytest.mark.parametrize(
    "typed",
    [
        "a" * 100_000,
        " " * 100_000 + "x",
        "/" + "a" * 100_000,
        "tanggapi " + "A" * 100_000,
        "tanggapi" + " " * 100_000 + TICKET,
        f"/tanggapi {TICKET} " + "kata " * 20_000,
        "\x00" * 100_000,
    ],
)
def test_a_giant_line_parses_in_one_pass(typed: str) -> None:
    # Bounded patterns: a quadratic regex would take minutes on these, not milliseconds.
    parsed = parse_command(typed)
    if parsed is not None:
        assert len(parsed.text) <= len(typed)


@given(st.text(max_size=300))
def test_any_text_is_either_text_or_a_command_with_clean_fields(typed: str) -> None:
    fields = inbound_fields(typed)
    if fields["kind"] is InboundKind.TEXT:
        assert fields["text"] == typed
        return
    assert fields["command"] and fields["command"] == fields["command"].lower()
    assert "\x00" not in fields["command_text"]
    assert fields["command_args"] == tuple(fields["command_text"].split())


# --- the three channels read typed text alike -----------------------------------------------------


def by_console(typed: str) -> Inbound:
    return parse_line(typed + "\n", "local", "1", NOW)


def by_telegram(typed: str) -> Inbound:
    update = {"update_id": 7, "message": {"message_id": 3, "date": 0, "text": typed,
              "chat": {"id": 42, "type": "private", "first_name": "Budi"},
              "from": {"id": 42, "is_bot": False, "first_name": "Budi"}}}  # fmt: skip
    inbound = parse_update(update, bot_id=1, received_at=NOW).inbound
    assert inbound is not None
    return inbound


def by_whatsapp(typed: str) -> Inbound:
    citizen = Citizen()
    [event] = parse_payload(citizen.text(typed), citizen.phone_number_id, NOW)
    assert isinstance(event, Inbound)
    return event


SAMPLES = [
    f"/tanggapi {TICKET} Sudah kami perbaiki.\nTerima kasih.",
    f"TANGGAPI {TICKET} Sudah kami perbaiki",
    f"/answer@skm_mimika_bot {TICKET.lower()} Done",
    f"verifikasi {TICKET.replace('-', '').lower()}",
    f"Selesai {TICKET}",
    f"/tolak {TICKET} bukan_kewenangan",
    f"STATUS {TICKET}",
    "/status",
    "/start u_dukcapil-mpp",
    "/Bantuan",
    "/stop",
    "/ringkasan dukcapil-mpp",
    "/entahlah",
    "selesai juga akhirnya, terima kasih",
    "status saya belum jelas",
    "batal",
    "Sangat sesuai 👍",
]


@pytest.mark.parametrize("typed", SAMPLES)
def test_console_telegram_and_whatsapp_give_the_same_command(typed: str) -> None:
    def essence(inbound: Inbound) -> tuple[Any, ...]:
        return (inbound.kind, inbound.command, inbound.command_args, inbound.command_text,
                inbound.text)  # fmt: skip

    console, telegram, whatsapp = by_console(typed), by_telegram(typed), by_whatsapp(typed)
    assert essence(console) == essence(telegram) == essence(whatsapp)
    expected = parse_command(typed)
    if expected is None:
        assert console.kind is InboundKind.TEXT and console.text == typed
    else:
        assert console.kind is InboundKind.COMMAND and console.command == expected.name


def test_arguments_of_each_kind_are_declared() -> None:
    assert BY_WORD["tanggapi"].arguments is Arguments.TICKET_TEXT
    assert BY_WORD["start"].arguments is Arguments.PAYLOAD
    assert BY_WORD["ringkasan"].audience is Audience.STAFF
