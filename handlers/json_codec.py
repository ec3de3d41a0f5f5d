"""The JSON codec of the hot path: updates and payloads in, Bot API and Graph calls out.

orjson parses and writes JSON in C, faster than the standard library. It is stricter on input,
so a document it refuses (a lone UTF-16 surrogate escape, UTF-16 or UTF-32 text) is read again
by the standard library, and whatever that accepts means what it meant before. One difference
stays: an integer beyond 64 bits reads as a float, which every reader here refuses where an
integer belongs (Telegram's ids have at most 52 bits; such an update is ignored or refused, as
before). The rest of the code imports only this module.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """The JSON document in ``data``; ``ValueError`` when there is none.

    ``NaN`` and ``Infinity`` are refused (RFC 8259 has no such values).
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (not ASCII-escaped: the Bot API and the Graph API read UTF-8)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits, a lone surrogate, a key not a string
        return json.dumps(value, separators=(",", ":")).encode()


def dumps_str(value: Any) -> str:
    """:func:`dumps` as text, for aiohttp's ``json_serialize`` and ``json_response``."""
    return dumps(value).decode()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


__all__ = ["dumps", "dumps_str", "loads"]
