"""One webhook delivery from a WhatsApp citizen, as Meta sends it."""

from __future__ import annotations

import json
from typing import Any

from tests.support.fakes.graph_api import Citizen

KELLY = Citizen(user_id="ID.5512093384410076", wa_id="6285511112222", name="Kelly")


def one_delivery(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several citizens' messages in one delivery, as Meta batches them."""
    batch = json.loads(json.dumps(payloads[0]))
    value = batch["entry"][0]["changes"][0]["value"]
    for payload in payloads[1:]:
        other = payload["entry"][0]["changes"][0]["value"]
        value["contacts"] += other["contacts"]
        value["messages"] += other["messages"]
    return batch
