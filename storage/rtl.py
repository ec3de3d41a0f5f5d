"""The follow-up plan's reads and writes (issue 17): proposals after a quarter closes, an
OPD's items, one item (locked for a change), the change itself, its evidence files, overdue
counts for the digest, and a unit's done items for the public page (``done_items``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from storage.base import TxBase
from storage.models import Contact, Opd, Unit
from storage.rtl_models import FollowUpOptIn, RtlEvidence, RtlItem
from survey_flows.rtl import FINAL, Evidence, Proposal, RtlChange, RtlState, RtlStatus

OPEN_STATUSES = tuple(s.value for s in RtlStatus if s not in FINAL)


@dataclass(frozen=True, slots=True)
class RtlRow:
    id: int
    unit_code: str
    unit_name: str
    opd_code: str
    opd_name: str
    period: str
    element_code: str
    nrr: str | None
    state: RtlState
    approved_by: str | None
    updated_at: datetime
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class DoneItem:
    """A finished follow-up as the public "you said, we did" block shows it (no names)."""

    period: str
    element_code: str
    action: str
    done_on: datetime
    evidence_link: str | None


def _query() -> Any:
    return (
        select(RtlItem, Unit.code, Unit.name, Opd.code, Opd.name)
        .join(Unit, Unit.id == RtlItem.unit_id)
        .join(Opd, Opd.id == Unit.opd_id)
    )


def _row(item: RtlItem, unit_code: str, unit_name: str, opd_code: str, opd_name: str) -> RtlRow:
    state = RtlState(
        status=RtlStatus(item.status),
        action=item.action,
        responsible=item.responsible,
        due_date=item.due_date,
        approved=item.approved_at is not None,
        evidence_link=item.evidence_link,
        evidence_note=item.evidence_note,
        reason=item.reason,
    )
    return RtlRow(item.id, unit_code, unit_name, opd_code, opd_name, item.period,
                  item.element_code, item.nrr, state, item.approved_by, item.updated_at,
                  item.done_at)  # fmt: skip


async def propose(tx: TxBase, period: str, proposed: list[Proposal], now: datetime) -> int:
    """Add the proposed items a unit does not have yet for ``period``; returns how many."""
    codes = {p.unit_code for p in proposed}
    if not codes:
        return 0
    units = dict((await tx.session.execute(
        select(Unit.code, Unit.id).where(Unit.code.in_(codes)))).all())  # fmt: skip
    existing = {
        (unit_id, element)
        for unit_id, element in await tx.session.execute(
            select(RtlItem.unit_id, RtlItem.element_code).where(RtlItem.period == period)
        )
    }
    added = 0
    for p in proposed:
        unit_id = units.get(p.unit_code)
        if unit_id is None or (unit_id, p.element_code) in existing:
            continue
        tx.session.add(RtlItem(unit_id=unit_id, period=period, element_code=p.element_code,
                               nrr=p.nrr, status=RtlStatus.DIRENCANAKAN.value,
                               created_at=now, updated_at=now))  # fmt: skip
        existing.add((unit_id, p.element_code))
        added += 1
    await tx.session.flush()
    return added


async def rtl_rows(tx: TxBase, opd_code: str | None = None) -> list[RtlRow]:
    """Every item (of one OPD, or all), newest quarter first, in directory order."""
    query = _query().order_by(RtlItem.period.desc(), Opd.position, Opd.code, Unit.position,
                              Unit.code, RtlItem.id)  # fmt: skip
    if opd_code is not None:
        query = query.where(Opd.code == opd_code)
    return [_row(*r) for r in (await tx.session.execute(query)).all()]


async def rtl_row(tx: TxBase, item_id: int, *, lock: bool = False) -> RtlRow | None:
    """One item; ``lock``: held until the transaction ends (two changes cannot cross)."""
    query = _query().where(RtlItem.id == item_id)
    if lock and tx.dialect == "postgresql":
        query = query.with_for_update(of=RtlItem)
    found = (await tx.session.execute(query)).first()
    return _row(*found) if found is not None else None


async def apply_change(tx: TxBase, item_id: int, change: RtlChange, by: str, now: datetime) -> None:
    """Write a change the rules allowed (the caller audits it in the same transaction)."""
    after = change.after
    values: dict[str, Any] = {
        "status": after.status.value, "action": after.action,
        "responsible": after.responsible, "due_date": after.due_date,
        "evidence_link": after.evidence_link, "evidence_note": after.evidence_note,
        "reason": after.reason, "updated_at": now,
    }  # fmt: skip
    if change.approved_now:
        values |= {"approved_at": now, "approved_by": by[:120]}
    elif not after.approved:
        values |= {"approved_at": None, "approved_by": None}
    if after.status in FINAL:
        values["done_at"] = now
    await tx.session.execute(update(RtlItem).where(RtlItem.id == item_id).values(**values))


def _overdue(today: date) -> Any:
    return (RtlItem.status.in_(OPEN_STATUSES)) & (RtlItem.due_date < today)


async def overdue_count(tx: TxBase, opd_code: str, today: date) -> int:
    """The OPD's items past their due date and neither done nor dropped (for the digest)."""
    count = await tx.session.scalar(
        select(func.count(RtlItem.id))
        .join(Unit, Unit.id == RtlItem.unit_id)
        .join(Opd, Opd.id == Unit.opd_id)
        .where(Opd.code == opd_code, _overdue(today))
    )
    return int(count or 0)


async def overdue_by_opd(tx: TxBase, today: date) -> dict[str, int]:
    """Overdue items per OPD code (only OPDs that have some), in one query: the overview."""
    rows = await tx.session.execute(
        select(Opd.code, func.count(RtlItem.id))
        .join(Unit, Unit.id == RtlItem.unit_id)
        .join(Opd, Opd.id == Unit.opd_id)
        .where(_overdue(today))
        .group_by(Opd.code)
    )
    return {code: int(count) for code, count in rows.all()}


async def done_items(tx: TxBase, unit_code: str, limit: int = 20) -> list[DoneItem]:
    """A unit's finished follow-ups, newest first: the public page's "you said, we did"
    block (issue 17 item 1). Only the action, the element, the quarter, the day and the
    evidence link: no staff names, notes or reasons."""
    rows = await tx.session.execute(
        select(RtlItem.period, RtlItem.element_code, RtlItem.action, RtlItem.done_at,
               RtlItem.evidence_link)
        .join(Unit, Unit.id == RtlItem.unit_id)
        .where(Unit.code == unit_code, RtlItem.status == RtlStatus.SELESAI.value)
        .order_by(RtlItem.done_at.desc(), RtlItem.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [DoneItem(p, e, a or "", d, link) for p, e, a, d, link in rows.all() if d is not None]


# --- evidence files ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """An evidence file without its bytes (listings, the pack's names)."""

    id: int
    item_id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str

    @property
    def image(self) -> bool:
        return self.content_type.startswith("image/")


_EVIDENCE_COLUMNS = (RtlEvidence.id, RtlEvidence.item_id, RtlEvidence.name,
                     RtlEvidence.content_type, RtlEvidence.size, RtlEvidence.sha256,
                     RtlEvidence.uploaded_at, RtlEvidence.uploaded_by)  # fmt: skip


async def evidence_rows(tx: TxBase, item_ids: Sequence[int]) -> dict[int, list[EvidenceRow]]:
    """The files of each item (without their bytes), oldest first; an item without files is
    not in the answer."""
    if not item_ids:
        return {}
    rows = await tx.session.execute(
        select(*_EVIDENCE_COLUMNS)
        .where(RtlEvidence.item_id.in_(item_ids))
        .order_by(RtlEvidence.item_id, RtlEvidence.id)
    )
    found: dict[int, list[EvidenceRow]] = {}
    for row in rows.all():
        found.setdefault(row.item_id, []).append(EvidenceRow(*row))
    return found


async def add_evidence(
    tx: TxBase, item_id: int, files: Sequence[Evidence], by: str, now: datetime
) -> list[int]:
    """Store files the rules accepted (the caller audits them in the same transaction)."""
    added = [
        RtlEvidence(
            item_id=item_id,
            content_type=f.type.content_type,
            size=len(f.data),
            sha256=f.sha256,
            name=f.name,
            uploaded_at=now,
            uploaded_by=by[:120],
            data=f.data,
        )  # fmt: skip
        for f in files
    ]
    tx.session.add_all(added)
    await tx.session.flush()
    return [row.id for row in added]


async def remove_evidence(tx: TxBase, item_id: int, evidence_id: int) -> bool:
    """Remove one file of the item; False when the item holds no such file."""
    result = await tx.session.execute(
        delete(RtlEvidence).where(RtlEvidence.id == evidence_id, RtlEvidence.item_id == item_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def evidence_data(
    tx: TxBase, item_id: int, evidence_id: int
) -> tuple[EvidenceRow, bytes] | None:
    """One file of the item with its bytes (to serve it), or None."""
    found = (await tx.session.execute(
        select(*_EVIDENCE_COLUMNS, RtlEvidence.data)
        .where(RtlEvidence.id == evidence_id, RtlEvidence.item_id == item_id))).first()  # fmt: skip
    if found is None:
        return None
    return EvidenceRow(*found[:-1]), bytes(found[-1])


# --- "you said, we did" (issue 17 item 3) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FollowUpReader:
    """An opted-in citizen to tell that an item of their unit and quarter is done."""

    contact_id: int
    channel: str
    language: str


async def opt_in(tx: TxBase, contact_id: int, unit_code: str, period: str, now: datetime) -> bool:
    """Remember that the citizen wants the unit's follow-up news for ``period`` (once)."""
    unit_id = await tx.session.scalar(select(Unit.id).where(Unit.code == unit_code))
    if unit_id is None:
        return False
    found = await tx.session.scalar(
        select(FollowUpOptIn.id).where(FollowUpOptIn.contact_id == contact_id,
                                       FollowUpOptIn.unit_id == unit_id,
                                       FollowUpOptIn.period == period)
    )  # fmt: skip
    if found is None:
        tx.session.add(FollowUpOptIn(contact_id=contact_id, unit_id=unit_id, period=period,
                                     created_at=now))  # fmt: skip
        await tx.session.flush()
    return found is None


async def followup_readers(tx: TxBase, item_id: int) -> list[FollowUpReader]:
    """The citizens opted in for the item's unit and quarter who can still be reached."""
    rows = await tx.session.execute(
        select(Contact.id, Contact.channel, Contact.language)
        .join(FollowUpOptIn, FollowUpOptIn.contact_id == Contact.id)
        .join(RtlItem, (RtlItem.unit_id == FollowUpOptIn.unit_id)
              & (RtlItem.period == FollowUpOptIn.period))
        .where(RtlItem.id == item_id, Contact.blocked_at.is_(None),
               Contact.erase_requested_at.is_(None))
        .order_by(Contact.id)
    )  # fmt: skip
    return [FollowUpReader(c, ch, lang) for c, ch, lang in rows.all()]
