"""Responses for the figures pages, and the local date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from reports.period import quarter_of
from storage import Storage
from storage.complaints import apply_desk_effects
from storage.reports import PaperResponse, ReportStore
from survey_flows.desk import InsertComplaint
from tests.support.complaints import filed

PHONE_SUGGESTION = "Antrean panjang, hubungi saya 081298765432"


def local_today() -> datetime:
    return datetime.now(UTC) + timedelta(hours=9)  # Asia/Jayapura, the tests' zone


async def add_responses(storage: Storage) -> None:
    """Responses this quarter in one unit of Disdukcapil, one of RSUD, none in the other."""
    today = local_today().date()
    first = quarter_of(today).start
    rows = [
        PaperResponse(
            "dukcapil-mpp",
            first + timedelta(days=n % max(1, (today - first).days)),
            "KTP-el",
            {"gender": "P"},
            {f"U{k}": 1 + (n + k) % 4 for k in range(1, 10)},
            PHONE_SUGGESTION if n == 0 else None,
        )  # fmt: skip
        for n in range(12)
    ]
    rows += [
        PaperResponse("rsud-igd", today, "IGD", {}, {f"U{k}": 3 for k in range(1, 10)}, None)
        for _ in range(4)
    ]
    await ReportStore(storage).insert_paper_responses(rows, datetime.now(UTC))
    # One complaint filed this quarter about the MPP desk, never verified: overdue.
    filed_at = datetime.now(UTC) - timedelta(days=5)
    complaint = replace(filed(), filed_at=filed_at, verify_by=filed_at + timedelta(days=1),
                        answer_by=filed_at + timedelta(days=3))  # fmt: skip
    async with storage.transaction() as tx:
        citizen = await tx.contact_for("whatsapp", "6281200000000", "id", filed_at)
        await apply_desk_effects(tx, [InsertComplaint(complaint, citizen.id, "whatsapp")],
                                 filed_at)  # fmt: skip
