"""The public results pages: a console config, a client and responses."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient

from handlers.web import ConsoleConfig
from storage import Storage
from storage.reports import PaperResponse, ReportStore
from tests.support.dispatcher import T0

# T0 is 25 November 2026: the latest complete quarter is 2026-Q3.
CONFIG = ConsoleConfig(secret=b"s" * 32, clock=lambda: T0, min_respondents=5)


Client = TestClient[web.Request, web.Application]


SECRET_SUGGESTION = "Petugas Budi kasar, hubungi saya 081298765432 rahasia-unik"


def quarter_rows(
    first: date, mpp: int, igd: int, suggestion: str, low: int = 1
) -> list[PaperResponse]:
    """``mpp`` responses in the MPP desk from ``first`` on (the first with ``suggestion``;
    scores from ``low`` to 4), ``igd`` in the IGD."""
    rows = [
        PaperResponse(
            "dukcapil-mpp",
            first + timedelta(days=n),
            "KTP-el",
            {"gender": "P"},
            {f"U{k}": low + (n * k + k) % (5 - low) for k in range(1, 10)},
            suggestion if n == 0 else None,
        )  # fmt: skip
        for n in range(mpp)
    ]
    return rows + [
        PaperResponse("rsud-igd", first, "IGD", {}, {f"U{k}": 3 for k in range(1, 10)}, None)
        for _ in range(igd)
    ]


async def add_responses(storage: Storage) -> None:
    """Q3: six in the MPP desk (one with a suggestion), two in the IGD (below the minimum);
    Q2: five in the MPP desk, all 4 (the trend)."""
    rows = quarter_rows(date(2026, 7, 1), 6, 2, SECRET_SUGGESTION)
    rows += [
        PaperResponse(
            "dukcapil-mpp", date(2026, 5, 2), "KTP-el", {}, {f"U{k}": 4 for k in range(1, 10)}, None
        )  # fmt: skip
        for _ in range(5)
    ]
    await ReportStore(storage).insert_paper_responses(rows, T0)
