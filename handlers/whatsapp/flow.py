"""WhatsApp Flows: the questionnaire's Flow JSON and the message that opens it.

:func:`flow_json` turns the pure form definition (``survey_flows.form``) into Meta's Flow JSON:
screens of a ``SingleColumnLayout`` (the questionnaire has one) with the full question as
text, each element as a ``RadioButtonsGroup`` labelled with its number and name (ids
``"1"``..``"4"``), the profile as optional radio groups, the suggestion as a ``TextArea``, the
consent line as a ``TextCaption``; a screen's ``Footer`` navigates to the next one carrying
what was entered so far, and the last one runs ``complete`` with every field. No endpoint: the
answers come back as one ``nfm_reply`` message (docs/whatsapp.md, "Flows").

:func:`flow_message` is the ``interactive`` message of type ``flow`` that opens it.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.whatsapp.render import BODY_MAX, clip, cut
from survey_flows.form import (
    FIRST_SCREEN,
    SERVICE_OPTIONS,
    SERVICE_SHOWN,
    FormDefinition,
    FormField,
    FormScreen,
)
from survey_flows.types import FormOffer

FLOW_JSON_VERSION = "7.3"
FLOW_MESSAGE_VERSION = "3"

# Meta's component limits (Flow JSON reference; docs/whatsapp.md cites the pages used).
RADIO_LABEL_MAX = 30
OPTION_TITLE_MAX = 30
TEXT_AREA_LABEL_MAX = 20
TEXT_AREA_MAX_LENGTH = 600  # the longest a TextArea accepts
HELPER_TEXT_MAX = 80
FOOTER_LABEL_MAX = 35
HEADING_MAX = 80
CTA_MAX = 20


# The data the message gives the first screen: the unit's service types and whether to show them.
_PER_UNIT_DATA: dict[str, Any] = {
    SERVICE_OPTIONS: {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "title": {"type": "string"}},
        },
        "__example__": [{"id": "s:0", "title": "Perekaman KTP-el"}],
    },
    SERVICE_SHOWN: {"type": "boolean", "__example__": True},
}


def _input(field: FormField) -> dict[str, Any]:
    if field.per_unit:
        # Options sent with the message that opens the form; shown only when there are several.
        return {
            "type": "RadioButtonsGroup",
            "name": field.name,
            "label": cut(field.label, RADIO_LABEL_MAX),
            "required": False,
            "data-source": f"${{data.{SERVICE_OPTIONS}}}",
            "visible": f"${{data.{SERVICE_SHOWN}}}",
        }
    if not field.options:
        area: dict[str, Any] = {
            "type": "TextArea",
            "name": field.name,
            "label": cut(field.label, TEXT_AREA_LABEL_MAX),
            "required": field.required,
            "max-length": min(field.max_chars or TEXT_AREA_MAX_LENGTH, TEXT_AREA_MAX_LENGTH),
        }
        return area
    return {
        "type": "RadioButtonsGroup",
        "name": field.name,
        "label": cut(field.label, RADIO_LABEL_MAX),
        "required": field.required,
        "data-source": [
            {"id": option.id, "title": cut(option.title, OPTION_TITLE_MAX)}
            for option in field.options
        ],
    }


def _screen(screen: FormScreen, earlier: list[str], next_screen: str | None) -> dict[str, Any]:
    children: list[dict[str, Any]] = [{"type": "TextBody", "text": screen.intro}]
    for field in screen.fields:
        if field.heading:
            children.append({"type": "TextSubheading", "text": cut(field.heading, HEADING_MAX)})
        question: dict[str, Any] = {"type": "TextBody", "text": field.question}
        if field.per_unit:
            question["visible"] = f"${{data.{SERVICE_SHOWN}}}"
        children.append(question)
        children.append(_input(field))
    if screen.notice:
        children.append({"type": "TextCaption", "text": screen.notice})
    carried = {name: f"${{data.{name}}}" for name in earlier}
    entered = {field.name: f"${{form.{field.name}}}" for field in screen.fields}
    if next_screen is None:
        action: dict[str, Any] = {"name": "complete", "payload": {**carried, **entered}}
    else:
        action = {
            "name": "navigate",
            "next": {"type": "screen", "name": next_screen},
            "payload": {**carried, **entered},
        }
    children.append(
        {
            "type": "Footer",
            "label": cut(screen.button, FOOTER_LABEL_MAX),
            "on-click-action": action,
        }
    )
    declared: dict[str, Any] = {name: {"type": "string", "__example__": "1"} for name in earlier}
    if any(field.per_unit for field in screen.fields):
        declared.update(_PER_UNIT_DATA)
    body: dict[str, Any] = {
        "id": screen.id,
        "title": screen.title,
        "data": declared,
        "layout": {"type": "SingleColumnLayout", "children": children},
    }
    if next_screen is None:
        body["terminal"] = True
    return body


def flow_json(definition: FormDefinition) -> dict[str, Any]:
    """The Flow JSON of the questionnaire in ``definition.language``."""
    screens = []
    earlier: list[str] = []
    for index, screen in enumerate(definition.screens):
        following = (
            definition.screens[index + 1].id if index + 1 < len(definition.screens) else None
        )
        screens.append(_screen(screen, list(earlier), following))
        earlier.extend(field.name for field in screen.fields)
    return {"version": FLOW_JSON_VERSION, "screens": screens}


def flow_json_bytes(definition: FormDefinition) -> bytes:
    """The file uploaded as the Flow's asset (stable: its hash tells a change)."""
    return json.dumps(flow_json(definition), ensure_ascii=False, indent=2, sort_keys=True).encode()


def _first_data(offer: FormOffer) -> dict[str, Any]:
    return {
        SERVICE_OPTIONS: [
            {"id": option_id, "title": cut(title, OPTION_TITLE_MAX)}
            for option_id, title in offer.services
        ],
        SERVICE_SHOWN: len(offer.services) > 1,
    }


def flow_message(offer: FormOffer, flow_id: str, body: str) -> dict[str, Any]:
    """The ``interactive`` message of type ``flow`` that opens the form at its first screen."""
    return {
        "type": "interactive",
        "interactive": {
            "type": "flow",
            "body": {"text": clip(body, BODY_MAX)},
            "action": {
                "name": "flow",
                "parameters": {
                    "flow_message_version": FLOW_MESSAGE_VERSION,
                    "flow_token": offer.token,
                    "flow_id": flow_id,
                    "flow_cta": cut(offer.cta, CTA_MAX),
                    "flow_action": "navigate",
                    "flow_action_payload": {"screen": FIRST_SCREEN, "data": _first_data(offer)},
                },
            },
        },
    }
