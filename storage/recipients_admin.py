"""Registering heads and officers by hand (``skm-bot recipients list|add|remove``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.models import Opd, Recipient
from storage.repository import Tx


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


async def list_recipients(tx: Tx) -> list[RecipientListing]:
    """Every recipient, active or not, in directory order."""
    rows = await tx.session.execute(
        select(Opd.code, Recipient.role, Recipient.channel, Recipient.address, Recipient.name,
               Recipient.active)
        .join(Opd, Opd.id == Recipient.opd_id)
        .order_by(Opd.position, Recipient.role, Recipient.id)
    )  # fmt: skip
    return [RecipientListing(*row) for row in rows.all()]


async def _find(
    tx: Tx, opd_code: str, role: str, channel: str, address: str
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
    tx: Tx, *, opd_code: str, role: str, channel: str, address: str, name: str, language: str
) -> None:
    """Register (or re-activate and rename) a head or officer of an OPD."""
    opd_id, existing = await _find(tx, opd_code, role, channel, address)
    if existing is None:
        tx.session.add(Recipient(opd_id=opd_id, role=role, channel=channel, address=address,
                                 name=name, language=language, active=True))  # fmt: skip
    else:
        existing.name, existing.language, existing.active = name, language, True


async def deactivate_recipient(
    tx: Tx, *, opd_code: str, role: str, channel: str, address: str
) -> bool:
    """Deactivate an active recipient; False when there is none."""
    _, existing = await _find(tx, opd_code, role, channel, address)
    if existing is None or not existing.active:
        return False
    existing.active = False
    return True
