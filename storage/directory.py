"""The service directory as the bot reads it (OPDs and units), its recipients (heads and
officers: found by chat address, the digest's heads, and registered by hand with
``skm-bot recipients``), and the holiday calendar. The YAML import is
``storage.directory_import``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import StorageBase, TxBase
from storage.complaint_models import Holiday
from storage.models import Opd, Recipient, Unit
from survey_flows.directory import Directory, OpdInfo, UnitInfo


class DirectoryStorage(StorageBase):
    """The directory, read outside a transaction."""

    async def directory(self) -> Directory:
        async with self.sessions() as session:
            return await load_directory(session)


async def load_directory(session: AsyncSession) -> Directory:
    """The whole directory, in display order."""
    opds = (await session.execute(select(Opd).order_by(Opd.position, Opd.id))).scalars().all()
    codes = {o.id: o.code for o in opds}
    units = (
        (await session.execute(select(Unit).order_by(Unit.opd_id, Unit.position, Unit.id)))
        .scalars()
        .all()
    )
    by_opd_position = {o.id: index for index, o in enumerate(opds)}
    units = sorted(units, key=lambda u: (by_opd_position[u.opd_id], u.position, u.id))
    return Directory.build(
        (OpdInfo(o.code, o.name, o.short_name, o.active, o.contact or "") for o in opds),
        (
            UnitInfo(
                code=u.code,
                name=u.name,
                opd_code=codes[u.opd_id],
                service_types=tuple(u.service_types),
                short_name=u.short_name,
                active=u.active,
            )
            for u in units
        ),
    )


async def directory_in(tx: TxBase) -> Directory:
    """The whole directory, read in ``tx``."""
    return await load_directory(tx.session)


async def list_units(tx: TxBase) -> list[tuple[str, str, str, bool, int]]:
    """(OPD code, unit code, unit name, active, number of service types) in display order."""
    rows = await tx.session.execute(
        select(Opd.code, Unit.code, Unit.name, Unit.active, Unit.service_types)
        .join(Opd, Opd.id == Unit.opd_id)
        .order_by(Opd.position, Unit.position)
    )
    return [(o, u, n, bool(a), len(s)) for o, u, n, a, s in rows.all()]


# --- recipients --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """A registered officer or head of an OPD."""

    id: int
    opd_id: int
    opd_code: str
    role: str
    channel: str
    address: str
    language: str


async def recipients_by_address(
    tx: TxBase,
    channel: str,
    address: str,
    *,
    phone: str | None = None,
    remember: bool = True,
) -> list[RecipientRecord]:
    """Every active registration of this chat address (one person may serve several OPDs).

    ``address`` is the sender's key (``Inbound.contact``: on WhatsApp the business-scoped
    user id when the payload has one) and ``phone`` the phone number the payload shows
    (``Inbound.phone``). Staff registered by phone number are found by ``phone``, or by the
    BSUID remembered from an earlier payload that showed both; the BSUID is remembered here
    (unless ``remember`` is False: a read outside a write transaction).
    """
    same_person = [Recipient.address == address, Recipient.bsuid == address]
    if phone is not None and phone != address:
        same_person.append(Recipient.address == phone)
    if phone is not None and phone != address and remember:
        await tx.session.execute(
            update(Recipient)
            .where(
                Recipient.channel == channel,
                Recipient.address == phone,
                or_(Recipient.bsuid.is_(None), Recipient.bsuid != address),
            )
            .values(bsuid=address)
            .execution_options(synchronize_session=False)
        )
    rows = await tx.session.execute(
        select(Recipient, Opd.code)
        .join(Opd, Opd.id == Recipient.opd_id)
        .where(Recipient.channel == channel, or_(*same_person), Recipient.active)
        .order_by(Recipient.id)
    )
    return [_recipient(r, code) for r, code in rows.all()]


def _recipient(r: Recipient, opd_code: str) -> RecipientRecord:
    return RecipientRecord(r.id, r.opd_id, opd_code, r.role, r.channel, r.address, r.language)


async def digest_recipients(tx: TxBase, opd_code: str | None) -> list[RecipientRecord]:
    """Heads of active OPDs (or of one OPD), who receive the weekly digest."""
    query = (
        select(Recipient, Opd.code)
        .join(Opd, Opd.id == Recipient.opd_id)
        .where(Recipient.role == "head", Recipient.active, Opd.active)
        .order_by(Opd.position, Recipient.id)
    )
    if opd_code is not None:
        query = query.where(Opd.code == opd_code)
    return [_recipient(r, code) for r, code in (await tx.session.execute(query)).all()]


# --- registering recipients by hand ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecipientListing:
    opd_code: str
    role: str
    channel: str
    address: str
    name: str
    active: bool


class UnknownOpd(LookupError):
    """No OPD has the code given."""


async def list_recipients(tx: TxBase) -> list[RecipientListing]:
    """Every recipient, active or not, in directory order."""
    rows = await tx.session.execute(
        select(Opd.code, Recipient.role, Recipient.channel, Recipient.address, Recipient.name,
               Recipient.active)
        .join(Opd, Opd.id == Recipient.opd_id)
        .order_by(Opd.position, Recipient.role, Recipient.id)
    )  # fmt: skip
    return [RecipientListing(*row) for row in rows.all()]


async def _find(
    tx: TxBase, opd_code: str, role: str, channel: str, address: str
) -> tuple[int, Recipient | None]:
    opd_id = await tx.session.scalar(select(Opd.id).where(Opd.code == opd_code))
    if opd_id is None:
        raise UnknownOpd(opd_code)
    existing = await tx.session.scalar(
        select(Recipient).where(
            Recipient.opd_id == opd_id,
            Recipient.role == role,
            Recipient.channel == channel,
            Recipient.address == address,
        )
    )
    return opd_id, existing


async def add_recipient(
    tx: TxBase, *, opd_code: str, role: str, channel: str, address: str, name: str, language: str
) -> None:
    """Register (or re-activate and rename) a head or officer of an OPD."""
    opd_id, existing = await _find(tx, opd_code, role, channel, address)
    if existing is None:
        tx.session.add(Recipient(opd_id=opd_id, role=role, channel=channel, address=address,
                                 name=name, language=language, active=True))  # fmt: skip
    else:
        existing.name, existing.language, existing.active = name, language, True


async def deactivate_recipient(
    tx: TxBase, *, opd_code: str, role: str, channel: str, address: str
) -> bool:
    """Deactivate an active recipient; False when there is none."""
    _, existing = await _find(tx, opd_code, role, channel, address)
    if existing is None or not existing.active:
        return False
    existing.active = False
    return True


# --- holidays ----------------------------------------------------------------------------------


async def holidays(tx: TxBase) -> frozenset[date]:
    return frozenset((await tx.session.execute(select(Holiday.day))).scalars())


async def upsert_holidays(tx: TxBase, days: Sequence[tuple[date, str]]) -> int:
    """Add or rename holidays; returns how many were new."""
    session = tx.session
    existing = {h.day: h for h in (await session.execute(select(Holiday))).scalars()}
    added = 0
    for day, name in days:
        if day in existing:
            existing[day].name = name
        else:
            session.add(Holiday(day=day, name=name))
            added += 1
    await session.flush()
    return added
