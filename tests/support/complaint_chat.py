"""Driving the pure complaint flow (survey_flows) as a chat, and its directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from survey_flows import skm
from survey_flows.complaints import ComplaintKind, ComplaintStatus, ComplaintView
from survey_flows.directory import Directory, OpdInfo, UnitInfo
from survey_flows.engine import FlowSettings, StepContext
from survey_flows.types import (
    Channel,
    Inbound,
    InboundKind,
    StepResult,
)

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


DIRECTORY = Directory.build(
    [OpdInfo("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil")],
    [UnitInfo("dukcapil-mpp", "Loket Disdukcapil MPP", "disdukcapil", ("KTP-el",))],
)


TICKET = "ADU-7KQ4-P9XM"


DESCRIPTION = "Loket tutup sebelum jam pelayanan berakhir, padahal antrean masih panjang."


def view(status: ComplaintStatus, **extra: Any) -> ComplaintView:
    return ComplaintView(TICKET, "Loket Disdukcapil MPP", ComplaintKind.PENGADUAN, status,
                         NOW, NOW, NOW, **extra)  # fmt: skip


class Chat:
    def __init__(self, complaints: tuple[ComplaintView, ...] = ()) -> None:
        self.state: dict[str, Any] | None = None
        self.complaints = complaints
        self.n = 0

    def send(self, kind: InboundKind, **fields: Any) -> StepResult:
        self.n += 1
        inbound = Inbound(Channel.TELEGRAM, "42", f"e{self.n}", kind, NOW, **fields)
        context = StepContext(NOW, DIRECTORY, "id", settings=FlowSettings(),
                              fresh_ticket=TICKET, complaints=self.complaints)  # fmt: skip
        result = skm.step(self.state, inbound, context)
        self.state = json.loads(json.dumps(result.state))
        return result

    def say(self, text: str) -> StepResult:
        return self.send(InboundKind.TEXT, text=text)


def inbound(kind: InboundKind, **fields: Any) -> Inbound:
    return Inbound(Channel.TELEGRAM, "7", "e", kind, NOW, **fields)
