"""The desk's reads on both databases: the order (overdue first, then the nearest limit,
then the rest, newest first), the filters, and another OPD's complaints never listed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage import Storage
from storage.complaint_models import Complaint
from storage.web_desk import desk_detail, desk_rows
from survey_flows.complaints import ComplaintStatus
from survey_flows.web_desk import DeskFilter
from tests.support.desk import file
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0


async def test_overdue_first_then_the_nearest_limit_then_the_rest(storage: Storage) -> None:
    await load_small_directory(storage)
    a, b, c, d = await file(storage, 4)
    day = timedelta(days=1)
    changes = {
        a: {"status": "DITINDAKLANJUTI", "created_at": T0 - day},  # no running limit
        b: {"status": "DIVERIFIKASI", "answer_by": T0 + 5 * day},  # due later
        c: {"verify_by": T0 - 2 * day},  # overdue the longest
        d: {"verify_by": T0 - day},  # overdue
    }
    async with storage.transaction() as tx:
        for ticket, values in changes.items():
            await tx.session.execute(
                sa.update(Complaint).where(Complaint.ticket == ticket).values(**values)
            )
    async with storage.reading() as tx:
        every = await desk_rows(tx, "disdukcapil", statuses=None, unit_code=None, overdue_at=None)
        late = await desk_rows(tx, "disdukcapil", statuses=DeskFilter().statuses,
                               unit_code="dukcapil-mpp", overdue_at=T0)  # fmt: skip
        verified = await desk_rows(tx, "disdukcapil", statuses=(ComplaintStatus.DIVERIFIKASI,),
                                   unit_code=None, overdue_at=None)  # fmt: skip
        other_unit = await desk_rows(tx, "disdukcapil", statuses=None,
                                     unit_code="dukcapil-kantor", overdue_at=None)  # fmt: skip
        elsewhere = await desk_rows(tx, "rsud", statuses=None, unit_code=None, overdue_at=None)
        detail = await desk_detail(tx, c)
    assert [r.ticket for r in every] == [c, d, b, a]
    assert [r.ticket for r in late] == [c, d]
    assert [r.ticket for r in verified] == [b]
    assert other_unit == [] and elsewhere == []
    assert detail is not None and detail.opd_code == "disdukcapil"
    assert [e.action for e in detail.events] == ["file"] and detail.events[0].by is None
