"""The hot path's JSON codec (orjson, with the standard library for what orjson refuses)
reads and writes what the standard library did."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.web import parse_json_body
from handlers import json_codec

UPDATE = {
    "update_id": 10_000_001,
    "callback_query": {
        "id": "4382bfdwdsb323b2d9",
        "from": {"id": 777000100, "is_bot": False, "first_name": "Ibu Ségolène 😀"},
        "chat_instance": "-7223",
        "data": "v1|3|2",
        "message": {"message_id": 9, "date": 1_767_225_600, "chat": {"id": 777000100}},
    },
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_an_update_round_trips_compact_and_in_utf_8() -> None:
    body = json_codec.dumps(UPDATE)
    assert json_codec.loads(body) == UPDATE == json.loads(body)
    assert b", " not in body and b'": ' not in body  # compact separators
    assert "Ségolène 😀".encode() in body  # UTF-8, not \\u escapes


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_whatever_the_standard_library_writes_reads_the_same(value: Any) -> None:
    text = json.dumps(value)
    assert json_codec.loads(text.encode()) == json.loads(text)
    assert json.loads(json_codec.dumps(value)) == value


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"lone": "\\ud800x"}', {"lone": "\ud800x"}),  # kept for parse_json_body to clean
        ('{"a": "é"}'.encode("utf-16"), {"a": "é"}),
    ],
    ids=["lone surrogate escape", "UTF-16"],
)
def test_what_orjson_refuses_is_read_by_the_standard_library(body: bytes, expected: object) -> None:
    assert json_codec.loads(body) == expected


def test_an_integer_beyond_64_bits_is_never_read_as_an_integer() -> None:
    """It reads as a float, which the update parser refuses where an integer belongs."""
    for text in (b"[123456789012345678901234567890]", b"[-9223372036854775809]"):
        [value] = json_codec.loads(text)
        assert isinstance(value, float) and value == float(json.loads(text)[0])
    assert json_codec.loads(b"[18446744073709551615, -9223372036854775808]") == [
        2**64 - 1,
        -(2**63),
    ]


@pytest.mark.parametrize(
    "body", [b'{"a": NaN}', b"[Infinity]", b"-Infinity", b"{", b"", b"[" * 100_000]
)
def test_what_is_not_json_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        json_codec.loads(body)


def test_what_orjson_cannot_write_is_written_by_the_standard_library() -> None:
    assert json.loads(json_codec.dumps({"n": 2**70})) == {"n": 2**70}
    assert json.loads(json_codec.dumps({1: "one"})) == {"1": "one"}
    assert json_codec.dumps({"lone": "\ud800"}) == b'{"lone":"\\ud800"}'
    assert json_codec.dumps_str({"ok": True}) == '{"ok":true}'


def test_the_webhook_body_is_still_cleaned_of_what_postgresql_cannot_store() -> None:
    assert parse_json_body(b'{"text": "a\\u0000b\\udc00c"}') == {"text": "abc"}
    assert parse_json_body(json_codec.dumps(UPDATE)) == UPDATE
    with pytest.raises(ValueError):
        parse_json_body(b"[" * 40 + b"]" * 40)  # deeper than MAX_JSON_DEPTH
