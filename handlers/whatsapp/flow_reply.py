"""A WhatsApp Flow's answer (``interactive.nfm_reply``) read defensively.

Meta returns the completed form as ``response_json``, a JSON *string* holding the
``flow_token`` we sent and the fields of the final ``complete`` payload. It comes through the
client, so it is never trusted: too large, not JSON, nested too deep, not a flat object of
plain values, all give ``fields=None`` (the engine refuses it politely and the chat goes on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from survey_flows.form import TOKEN_FIELD

# A complete SKM form is well under 2 KB (nine ids, four codes, a suggestion of at most a
# thousand characters, which JSON may escape to six bytes each).
RESPONSE_JSON_MAX = 8 * 1024


@dataclass(frozen=True, slots=True)
class FlowReply:
    token: str | None
    fields: dict[str, Any] | None  # without the token; None when unreadable


def read_flow_reply(reply: dict[str, Any]) -> FlowReply:
    raw = reply.get("response_json")
    if not isinstance(raw, str) or len(raw) > RESPONSE_JSON_MAX:
        return FlowReply(None, None)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return FlowReply(None, None)
    if not isinstance(data, dict):
        return FlowReply(None, None)
    token = data.pop(TOKEN_FIELD, None)
    token = token if isinstance(token, str) and 0 < len(token) <= 256 else None
    if not all(_plain(value) for value in data.values()):
        return FlowReply(token, None)
    return FlowReply(token, data)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
