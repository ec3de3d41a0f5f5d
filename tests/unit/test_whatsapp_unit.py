"""The WhatsApp adapter without a server: signatures, payload parsing, rendering, error mapping.

Payloads are the named fixtures in ``tests/fixtures/whatsapp``; rendered messages are checked
against the same validator the fake Graph API applies to every send.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.outbox import PermanentSendError, TransientSendError
from handlers.whatsapp import (
    BODY_MAX,
    BUTTON_TITLE_MAX,
    ROW_TITLE_MAX,
    AccessTokenInvalid,
    GraphError,
    GraphRateLimited,
    GraphServerError,
    Ignored,
    PairRateLimited,
    ReEngagementRequired,
    StatusReport,
    TemplateRejected,
    ThroughputReached,
    Undeliverable,
    WhatsAppSender,
    challenge_answer,
    compose_body,
    cut,
    graph_error,
    parse_payload,
    parse_reply_id,
    recipient_fields,
    render,
    reply_id,
    sign,
    signature_valid,
    unique_titles,
    width,
)
from handlers.whatsapp.render import FOOTER_MAX
from storage.models import DeliveryStatus
from survey_flows.catalog import MESSAGES
from survey_flows.engine import FlowSettings
from survey_flows.types import Choice, ChoiceRole, Inbound, InboundKind, Outbound
from tests.support.catalog import _every_message
from tests.support.fakes.graph_api import FakeGraphApi, _Invalid, fixture, graph_error_body
from tests.support.survey_chat import chat_at

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
PHONE_NUMBER_ID = "106540352242922"
SECRET = "meta-app-secret"


# --- the signature and the callback check ----------------------------------------------------


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = json.dumps(fixture("text")).encode()
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature_valid(SECRET, body, header)
    assert signature_valid(SECRET.encode(), body, header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha256=" + "0" * 64, "sha1=abc", "garbage"],
    ids=["missing", "empty", "no-digest", "zeros", "sha1", "garbage"],
)
def test_missing_or_wrong_signatures_are_refused(header: str | None) -> None:
    assert not signature_valid(SECRET, b"{}", header)


def test_a_signature_covers_the_exact_bytes() -> None:
    payload = fixture("text")
    body = json.dumps(payload).encode()
    header = sign(SECRET, body)
    assert not signature_valid("another-secret", body, header)
    assert not signature_valid(SECRET, json.dumps(payload, indent=1).encode(), header)
    unicode = json.dumps({"text": "Sangat baik 👍"}, ensure_ascii=False).encode()
    escaped = json.dumps({"text": "Sangat baik 👍"}).encode()
    assert not signature_valid(SECRET, escaped, sign(SECRET, unicode))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "42"}, "42"),
        ({"hub.mode": "subscribe", "hub.verify_token": "bad", "hub.challenge": "42"}, None),
        ({"hub.mode": "other", "hub.verify_token": "tok", "hub.challenge": "42"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": "tok"}, None),
        ({}, None),
    ],
)
def test_callback_verification(params: dict[str, str], expected: str | None) -> None:
    assert challenge_answer(params, "tok") == expected


# --- parsing the fixtures --------------------------------------------------------------------


def parse(name: str) -> list[Any]:
    return parse_payload(fixture(name), PHONE_NUMBER_ID, NOW)


def test_text_is_keyed_by_the_business_scoped_user_id_and_carries_the_phone() -> None:
    [event] = parse("text")
    assert isinstance(event, Inbound)
    assert event.kind is InboundKind.TEXT and event.text == "SKM dukcapil-mpp"
    assert event.contact == "ID.1349120865530274"
    assert event.phone == "6281234567890" and event.parent_id is None
    assert event.event_id.startswith("wamid.")


@pytest.mark.parametrize(
    ("body", "command"),
    [("/tanggapi ADU-7K3M-Q9XP Sudah\nbaik", "tanggapi"),
     ("Tanggapi adu7k3mq9xp Sudah\nbaik", "tanggapi"), ("/stop", "batal")],
)  # fmt: skip
def test_typed_commands_are_commands_with_or_without_the_slash(body: str, command: str) -> None:
    payload = fixture("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = body
    [event] = parse_payload(payload, PHONE_NUMBER_ID, NOW)
    assert isinstance(event, Inbound) and event.kind is InboundKind.COMMAND
    assert event.command == command and event.text is None
    if command == "tanggapi":
        assert event.command_text is not None and event.command_text.endswith("Sudah\nbaik")


def test_a_sentence_starting_with_a_command_word_stays_text() -> None:
    payload = fixture("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "status saya?"
    [event] = parse_payload(payload, PHONE_NUMBER_ID, NOW)
    assert isinstance(event, Inbound) and event.kind is InboundKind.TEXT
    assert event.text == "status saya?"


@pytest.mark.parametrize(
    ("name", "choice", "token"), [("button_reply", "yes", "2"), ("list_reply", "26-35", "3")]
)
def test_taps_carry_choice_token_and_the_message_they_answer(
    name: str, choice: str, token: str
) -> None:
    [event] = parse(name)
    assert isinstance(event, Inbound) and event.kind is InboundKind.CHOICE
    assert (event.choice_id, event.prompt_token) == (choice, token)
    assert event.message_ref and event.message_ref.startswith("wamid.")


def test_image_is_a_media_reference_and_location_a_pair() -> None:
    [image] = parse("image")
    [location] = parse("location")
    assert isinstance(image, Inbound) and image.kind is InboundKind.MEDIA
    assert image.media_ref == "1029384756473829"
    assert isinstance(location, Inbound) and location.location == (-4.5465, 136.8883)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("status_sent", DeliveryStatus.SENT, None),
        ("status_delivered", DeliveryStatus.DELIVERED, None),
        ("status_read", DeliveryStatus.READ, None),
        ("status_failed", DeliveryStatus.FAILED, 131026),
    ],
)
def test_statuses(name: str, status: DeliveryStatus, code: int | None) -> None:
    [event] = parse(name)
    assert isinstance(event, StatusReport)
    assert event.status is status and event.error_code == code
    assert event.at == datetime.fromtimestamp(int(event.at.timestamp()), UTC)
    if code is not None:
        assert event.error and "131026" in event.error and "Unable to deliver" in event.error


def test_a_batch_yields_every_message_and_status_in_order() -> None:
    events = parse("batch")
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Inbound", "Inbound", "StatusReport", "Inbound", "StatusReport", "Ignored"]
    contacts = [(e.contact, e.phone) for e in events if isinstance(e, Inbound)]
    assert contacts == [
        ("ID.1349120865530274", "6281234567890"),
        ("ID.8820417736501122", "6281398765432"),
        ("ID.8820417736501122", "6281398765432"),
    ]


def test_a_user_without_a_phone_number() -> None:
    [event] = parse("bsuid_only")
    assert isinstance(event, Inbound) and event.contact == "ID.5512093384410076"
    assert event.phone is None


def test_older_payloads_fall_back_to_contacts_then_to_wa_id() -> None:
    payload = fixture("text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from_user_id"]  # the BSUID only in contacts[]
    [event] = parse_payload(payload, PHONE_NUMBER_ID, NOW)
    assert isinstance(event, Inbound) and event.contact == "ID.1349120865530274"
    assert event.phone == "6281234567890"
    del payload["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"]
    [event] = parse_payload(payload, PHONE_NUMBER_ID, NOW)
    assert isinstance(event, Inbound) and event.contact == "6281234567890"
    assert event.phone == "6281234567890"


def test_other_phone_numbers_objects_and_fields_are_ignored() -> None:
    assert isinstance(parse_payload(fixture("text"), "999", NOW)[0], Ignored)
    assert isinstance(parse_payload({"object": "page"}, PHONE_NUMBER_ID, NOW)[0], Ignored)
    reaction = fixture("text")
    message = reaction["entry"][0]["changes"][0]["value"]["messages"][0]
    message["type"] = "reaction"
    message["reaction"] = {"message_id": "wamid.x", "emoji": "👍"}
    assert isinstance(parse_payload(reaction, PHONE_NUMBER_ID, NOW)[0], Ignored)
    sticker = fixture("text")
    message = sticker["entry"][0]["changes"][0]["value"]["messages"][0]
    message["type"] = "sticker"
    [event] = parse_payload(sticker, PHONE_NUMBER_ID, NOW)
    assert isinstance(event, Inbound) and event.kind is InboundKind.UNSUPPORTED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("v1|7|yes", ("choice", "7", "yes")),
        ("v1||u:rsud-igd", ("choice", None, "u:rsud-igd")),
        ("v1|7|a|b", ("choice", "7", "a|b")),
        ("wp1|7|2", ("page", "7", "2")),
        ("wp1|7|x", ("choice", "invalid", "wp1|7|x")),
        ("wp1|7|²", ("choice", "invalid", "wp1|7|²")),  # a digit int() refuses
        ("drop table", ("choice", "invalid", "drop table")),
        ("", ("choice", "invalid", "")),
    ],
)
def test_reply_ids(raw: str, expected: tuple[str, str | None, str]) -> None:
    assert parse_reply_id(raw) == expected


def test_a_page_row_tap_is_a_page_request() -> None:
    payload = fixture("list_reply")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"]["list_reply"] = {"id": "wp1|17|1", "title": "Berikutnya"}
    [event] = parse_payload(payload, PHONE_NUMBER_ID, NOW)
    assert isinstance(event, Inbound) and event.kind is InboundKind.PAGE
    assert (event.page, event.prompt_token) == (1, "17")
    assert event.message_ref == message["context"]["id"]


# --- rendering -------------------------------------------------------------------------------

VALIDATOR = FakeGraphApi()


def validate(content: dict[str, Any]) -> None:
    """Meta's limits, as the fake Graph API checks every send."""
    try:
        VALIDATOR._validate({"messaging_product": "whatsapp", "recipient": "ID.1", **content})
    except _Invalid as invalid:  # pragma: no cover - the message says what broke
        shown = json.dumps(content, ensure_ascii=False)
        raise AssertionError(f"{invalid.details}: {shown}") from None


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_message_the_flows_produce_fits_whatsapp(language: str) -> None:
    for message in _every_message(language):
        content = render(message)
        validate(content)
        for page in range(1, 3):
            validate(render(message, page))


def outbound(n_answers: int, n_nav: int = 0, text: str = "Pilih:") -> Outbound:
    answers = tuple(Choice(f"a{i}", f"Jawaban nomor {i}") for i in range(1, n_answers + 1))
    nav = tuple(Choice(f"n{i}", f"Navigasi {i}", ChoiceRole.NAV) for i in range(n_nav))
    return Outbound(text, (*answers, *nav), prompt_token="5")


@pytest.mark.parametrize(
    ("answers", "nav", "kind"),
    [(0, 0, "text"), (1, 0, "button"), (2, 1, "button"), (3, 0, "button"), (2, 2, "button"),
     (3, 2, "button"), (4, 0, "list"), (4, 2, "list"), (8, 2, "list"), (10, 0, "list"),
     (9, 3, "list"), (14, 2, "list")],
)  # fmt: skip
def test_buttons_for_three_lists_for_ten(answers: int, nav: int, kind: str) -> None:
    content = render(outbound(answers, nav))
    validate(content)
    actual = content["type"] if content["type"] == "text" else content["interactive"]["type"]
    assert actual == kind


def test_up_to_three_answers_are_buttons_and_the_footer_names_the_navigation() -> None:
    """Issue 13, item 4: navigation would push Ya/Tidak over three buttons (a list: three
    taps); the answers stay buttons and the footer names the words to type instead."""
    message = Outbound(
        "Kirim jawaban ini?",
        (
            Choice("submit", "Kirim"),
            Choice("edit", "Ubah jawaban"),
            Choice("back", "« Kembali", ChoiceRole.NAV),
            Choice("cancel", "Batal", ChoiceRole.NAV),
        ),
        prompt_token="5",
    )
    content = render(message)
    validate(content)
    interactive = content["interactive"]
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["v1|5|submit", "v1|5|edit"]
    assert interactive["footer"]["text"] == "Ketik angka 1–2. KEMBALI · BATAL · BANTUAN"
    english = render(replace(message, language="en"))["interactive"]["footer"]["text"]
    assert english == "Type 1–2. BACK · CANCEL · HELP"


def test_a_free_text_step_footer_says_what_to_write_not_a_number() -> None:
    message = Outbound(
        "Saran Bapak/Ibu?",
        (
            Choice("skip", "Lewati"),
            Choice("back", "« Kembali", ChoiceRole.NAV),
            Choice("cancel", "Batal", ChoiceRole.NAV),
        ),
        prompt_token="5",
        hint="nav.hint.text",
    )
    footer = render(message)["interactive"]["footer"]["text"]
    assert footer == MESSAGES["id"]["nav.hint.text"] and "Ketik" not in footer


def test_a_list_footer_names_the_digits_to_type() -> None:
    content = render(outbound(4, 2))
    assert content["interactive"]["footer"]["text"] == "Ketik angka 1–4. KEMBALI · BATAL · BANTUAN"


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_footer_hint_fits(language: str) -> None:
    for key, value in MESSAGES[language].items():
        if key.startswith(("nav.hint", "wa.hint")):
            assert width(value.format(n=10)) <= FOOTER_MAX, key


def test_navigation_rows_give_way_to_answers_when_ten_are_exceeded() -> None:
    content = render(outbound(9, 3))
    rows = content["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and rows[-1]["id"] == "v1|5|n0"  # "batal" can still be typed
    assert not any(r["id"].startswith("wp1|") for r in rows)


def test_more_than_ten_answers_are_paged_and_every_row_is_reachable() -> None:
    message = outbound(23, 2)
    seen: list[str] = []
    for page in range(3):
        content = render(message, page)
        validate(content)
        rows = content["interactive"]["action"]["sections"][0]["rows"]
        assert len(rows) <= 10
        assert content["interactive"]["action"]["button"] == f"Pilih ({page + 1}/3)"
        seen.extend(r["id"] for r in rows if r["id"].startswith("v1|"))
        paging = [r for r in rows if r["id"].startswith("wp1|")]
        assert ("Berikutnya" in [r["title"] for r in paging]) == (page < 2)
        assert ("Sebelumnya" in [r["title"] for r in paging]) == (page > 0)
    assert seen == [reply_id("5", c.id) for c in message.choices]
    assert render(message, 99) == render(message, 2), "a page out of range shows the last"


def test_full_labels_are_numbered_in_the_body_and_titles_are_cut_at_words() -> None:
    long = Outbound(
        "Bagaimana?",
        (
            Choice("1", "Tidak sopan dan tidak ramah sama sekali"),
            Choice("2", "Tidak sopan dan tidak ramah kadang-kadang"),
            Choice("3", "Sopan"),
            Choice("4", "Sangat sopan"),
        ),
        prompt_token="1",
    )
    content = render(long)
    validate(content)
    body = content["interactive"]["body"]["text"]
    assert "1. Tidak sopan dan tidak ramah sama sekali\n2. Tidak sopan" in body
    rows = content["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0]["title"] == "Tidak sopan dan tidak…"
    assert rows[1]["title"] == "Tidak sopan dan… (2)"
    assert rows[0]["description"] == "Tidak sopan dan tidak ramah sama sekali"
    assert "description" not in rows[2]


def test_a_body_too_long_for_the_numbers_moves_them_to_the_titles() -> None:
    message = replace(outbound(4), text="x " * 500)
    body, numbered = compose_body(message)
    assert not numbered and width(body) <= BODY_MAX
    content = render(message)
    validate(content)
    titles = [r["title"] for r in content["interactive"]["action"]["sections"][0]["rows"]]
    assert titles[0] == "1. Jawaban nomor 1"


def test_text_messages_are_cut_to_4096() -> None:
    content = render(Outbound("kata " * 2000))
    validate(content)
    assert content["text"]["body"].endswith("…")


def test_the_edit_list_of_a_real_survey_pages() -> None:
    message = chat_at("edit", FlowSettings()).prompt
    assert len(message.choices) > 10
    first, second = render(message, 0), render(message, 1)
    validate(first)
    validate(second)
    rows = first["interactive"]["action"]["sections"][0]["rows"]
    assert rows[-1]["title"] == "Berikutnya" and rows[-1]["id"] == f"wp1|{message.prompt_token}|1"


@pytest.mark.parametrize(
    ("label", "limit", "expected"),
    [
        ("Setuju", 20, "Setuju"),
        ("Isi survei kepuasan masyarakat", 20, "Isi survei kepuasan…"),
        ("Penanganan Pengaduan, Saran dan Masukan", 24, "Penanganan Pengaduan…"),
        ("Supercalifragilisticexpialidocious", 10, "Supercali…"),
        ("  banyak   spasi\n di sini ", 24, "banyak spasi di sini"),
    ],
)
def test_cut(label: str, limit: int, expected: str) -> None:
    assert cut(label, limit) == expected
    assert width(cut(label, limit)) <= limit


@given(
    st.lists(
        st.text(alphabet=st.sampled_from("ab cdé👍«-"), min_size=1, max_size=40),
        min_size=1,
        max_size=10,
    ),
    st.sampled_from([BUTTON_TITLE_MAX, ROW_TITLE_MAX]),
)
def test_titles_are_unique_nonempty_and_within_the_limit(labels: list[str], limit: int) -> None:
    titles = unique_titles(labels, limit, taken=["Berikutnya"])
    assert len(titles) == len(labels)
    assert len({t.casefold() for t in titles}) == len(titles)
    assert "berikutnya" not in {t.casefold() for t in titles}
    assert all(t.strip() and width(t) <= limit for t in titles)


def test_recipient_field() -> None:
    assert recipient_fields("6281234567890") == {"to": "6281234567890"}
    assert recipient_fields("ID.1349120865530274") == {"recipient": "ID.1349120865530274"}


# --- Graph errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, 130429, ThroughputReached),
        (400, 131056, PairRateLimited),
        (400, 131047, ReEngagementRequired),
        (400, 131026, Undeliverable),
        (400, 80007, GraphRateLimited),
        (401, 190, AccessTokenInvalid),
        (404, 132001, TemplateRejected),
        (500, 131000, GraphServerError),
        (503, None, GraphServerError),
        (429, None, GraphRateLimited),
        (400, 100, GraphError),
    ],
)
def test_graph_error_codes_become_exception_classes(
    status: int, code: int | None, cls: type[GraphError]
) -> None:
    error = graph_error(status, graph_error_body(code, f"(#{code}) message", "details here"))
    assert type(error) is cls
    assert error.code == code and error.http_status == status
    assert error.fbtrace_id and error.reason.endswith("(details here)")


def test_an_answer_without_a_json_error_is_still_classified() -> None:
    assert type(graph_error(502, "Bad Gateway")) is GraphServerError
    assert type(graph_error(400, {})) is GraphError


@pytest.mark.parametrize(
    ("error", "attempts", "expected", "retry_after_s"),
    [
        (ThroughputReached("x", code=130429), 1, TransientSendError, 1.0),
        (ThroughputReached("x", code=130429), 3, TransientSendError, 4.0),
        (PairRateLimited("x", code=131056), 1, TransientSendError, 6.0),
        (PairRateLimited("x", code=131056), 2, TransientSendError, 12.0),
        (GraphServerError("x", http_status=503), 1, TransientSendError, None),
        (AccessTokenInvalid("x", code=190), 1, TransientSendError, 300.0),
        (Undeliverable("x", code=131026), 1, PermanentSendError, None),
        (GraphError("x", code=131009), 1, PermanentSendError, None),
        (TemplateRejected("x", code=132001), 1, PermanentSendError, None),
    ],
)
def test_graph_errors_map_to_retry_or_failure(
    error: GraphError, attempts: int, expected: type[Exception], retry_after_s: float | None
) -> None:
    sender = WhatsAppSender(client=None)  # type: ignore[arg-type]
    mapped = sender._translate(error, attempts)
    assert type(mapped) is expected
    if isinstance(mapped, TransientSendError):
        assert mapped.retry_after_s == retry_after_s
    assert str(mapped) == error.reason
