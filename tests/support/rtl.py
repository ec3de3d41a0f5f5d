"""A follow-up (RTL) item done with its evidence."""

from __future__ import annotations

from datetime import date, timedelta

from storage import Storage
from storage.rtl import RtlRow, apply_change, propose, rtl_rows
from survey_flows.rtl import Proposal, step
from tests.support.dispatcher import T0

TODAY = date(2026, 11, 25)


DONE_ACTION = "Tambah dua loket perekaman KTP-el"


RESPONSIBLE = "Budi Santoso (Kasi Pelayanan)"


EVIDENCE = "https://mimikakab.go.id/berita/loket-baru"


async def follow_up(storage: Storage, period: str, unit: str, element: str, *, action: str,
                    done: bool) -> None:  # fmt: skip
    """Propose an item, plan it with ``action``, approve it and, when ``done``, finish it."""
    async with storage.transaction() as tx:
        await propose(tx, period, [Proposal(unit, element, None)], T0)
    rows = await all_rtl_rows(storage)
    [row] = [r for r in rows if (r.period, r.element_code) == (period, element)]
    forms = [
        ({"op": "plan", "action": action, "responsible": RESPONSIBLE,
          "due_date": "2026-12-31"}, "officer"),
        ({"op": "approve"}, "head"),
    ]  # fmt: skip
    if done:
        forms.append(({"op": "progress", "status": "selesai", "evidence_link": EVIDENCE}, "head"))
    for form, role in forms:
        async with storage.transaction() as tx:
            current = [r for r in await rtl_rows(tx) if r.id == row.id][0]
            change, errors = step(current.state, role, form, TODAY)
            assert change is not None, errors
            await apply_change(tx, row.id, change, "Kepala (contoh)", T0 + timedelta(hours=1))


async def all_rtl_rows(storage: Storage) -> list[RtlRow]:
    async with storage.reading() as tx:
        return await rtl_rows(tx)
