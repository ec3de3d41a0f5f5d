"""A database for the full report (the ``settings`` fixture) and reading PDFs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from pypdf import PdfReader

from bot.settings import Settings
from storage import Storage, db
from storage.complaints import apply_desk_effects
from survey_flows.desk import InsertComplaint
from tests.support.complaints import filed
from tests.support.directory import load_small_directory
from tests.support.paper_reports import PAPER_CSV
from tests.support.report_commands import run

# Two more questionnaires in 2026-Q1 with the same suggestion, holding a phone number.
EXTRA_CSV = """\
dukcapil-mpp,2026-02-11,KTP-el,17-25,L,SMA,PNS,4,4,4,4,4,4,4,4,4,Tolong hubungi 081234567890!
dukcapil-mpp,2026-02-12,KTP-el,17-25,L,SMA,PNS,4,4,4,4,4,4,4,4,4,tolong hubungi 081234567890
"""


@pytest_asyncio.fixture
async def settings(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Settings]:
    url = sqlite_url
    storage = Storage(db.create_engine(url))
    try:
        await load_small_directory(storage)
        filed_at = datetime(2026, 2, 10, 1, 0, tzinfo=UTC)
        complaint = replace(filed(), filed_at=filed_at, verify_by=filed_at + timedelta(days=3),
                            answer_by=filed_at + timedelta(days=8))  # fmt: skip
        async with storage.transaction() as tx:
            citizen = await tx.contact_for("whatsapp", "6281200000000", "id", filed_at)
            await apply_desk_effects(tx, [InsertComplaint(complaint, citizen.id, "whatsapp")],
                                     filed_at)  # fmt: skip
    finally:
        await storage.dispose()
    configured = Settings(database_url=url, organisation_name="Pemerintah Kabupaten Mimika")
    paper = tmp_path / "paper.csv"
    paper.write_text(PAPER_CSV + EXTRA_CSV, encoding="utf-8")
    assert await run(["responses", "import", str(paper)], configured) == 0
    yield configured


def pages_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]
