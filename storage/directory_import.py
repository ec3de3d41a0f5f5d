"""Idempotent upsert of the service directory (OPDs, units, populations, recipients) by code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import TxBase
from storage.models import Opd, Recipient, Unit, UnitPopulation


@dataclass(frozen=True, slots=True)
class RecipientSpec:
    role: str
    channel: str
    address: str
    name: str
    language: str = "id"


@dataclass(frozen=True, slots=True)
class UnitSpec:
    code: str
    name: str
    service_types: tuple[str, ...]
    short_name: str | None = None
    active: bool = True
    population: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OpdSpec:
    code: str
    name: str
    units: tuple[UnitSpec, ...]
    short_name: str | None = None
    active: bool = True
    recipients: tuple[RecipientSpec, ...] = ()
    contact: str = ""  # a public phone number or office for citizens; "" when unknown


@dataclass(slots=True)
class ImportReport:
    """What an import changed, by kind and code."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.deactivated)


async def apply_directory(tx: TxBase, opds: tuple[OpdSpec, ...], now: datetime) -> ImportReport:
    """Make the database's directory match ``opds``.

    OPDs and units missing from the file are deactivated, never deleted: responses refer to
    them. Recipients are synchronised per OPD (missing ones deactivated).
    """
    session = tx.session
    report = ImportReport()
    existing_opds = {o.code: o for o in (await session.execute(select(Opd))).scalars()}
    existing_units = {u.code: u for u in (await session.execute(select(Unit))).scalars()}
    seen_opds: set[str] = set()
    seen_units: set[str] = set()

    for opd_position, spec in enumerate(opds):
        seen_opds.add(spec.code)
        opd = existing_opds.get(spec.code)
        values = {
            "name": spec.name,
            "short_name": spec.short_name,
            "contact": spec.contact or None,
            "active": spec.active,
            "position": opd_position,
        }
        if opd is None:
            opd = Opd(code=spec.code, updated_at=now, **values)
            session.add(opd)
            await session.flush()
            report.added.append(f"opd {spec.code}")
        elif _update(opd, values, now):
            report.changed.append(f"opd {spec.code}")
        else:
            report.unchanged += 1

        for unit_position, unit_spec in enumerate(spec.units):
            seen_units.add(unit_spec.code)
            unit = existing_units.get(unit_spec.code)
            unit_values = {
                "opd_id": opd.id,
                "name": unit_spec.name,
                "short_name": unit_spec.short_name,
                "service_types": list(unit_spec.service_types),
                "active": unit_spec.active,
                "position": unit_position,
            }
            if unit is None:
                unit = Unit(code=unit_spec.code, updated_at=now, **unit_values)
                session.add(unit)
                await session.flush()
                report.added.append(f"unit {unit_spec.code}")
                changed = False
            else:
                changed = _update(unit, unit_values, now)
            populations_changed = await _sync_populations(session, unit.id, unit_spec.population)
            if populations_changed and unit_spec.code in existing_units:
                changed = True
            if changed:
                report.changed.append(f"unit {unit_spec.code}")
            elif unit_spec.code in existing_units:
                report.unchanged += 1

        await _sync_recipients(session, opd.id, spec.code, spec.recipients, report)

    for code, opd in existing_opds.items():
        if code not in seen_opds and opd.active:
            opd.active = False
            opd.updated_at = now
            report.deactivated.append(f"opd {code}")
            await _sync_recipients(session, opd.id, code, (), report)
    for code, unit in existing_units.items():
        if code not in seen_units and unit.active:
            unit.active = False
            unit.updated_at = now
            report.deactivated.append(f"unit {code}")
    await session.flush()
    return report


def _update(row: Opd | Unit, values: Mapping[str, object], now: datetime) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.updated_at = now
    return changed


async def _sync_populations(session: AsyncSession, unit_id: int, wanted: dict[str, int]) -> bool:
    current = {
        p.period: p.population
        for p in (
            await session.execute(select(UnitPopulation).where(UnitPopulation.unit_id == unit_id))
        ).scalars()
    }
    if current == wanted:
        return False
    await session.execute(delete(UnitPopulation).where(UnitPopulation.unit_id == unit_id))
    session.add_all(
        UnitPopulation(unit_id=unit_id, period=period, population=population)
        for period, population in wanted.items()
    )
    await session.flush()
    return True


async def _sync_recipients(
    session: AsyncSession,
    opd_id: int,
    opd_code: str,
    wanted: tuple[RecipientSpec, ...],
    report: ImportReport,
) -> None:
    rows = (
        (await session.execute(select(Recipient).where(Recipient.opd_id == opd_id))).scalars().all()
    )
    by_key = {(r.role, r.channel, r.address): r for r in rows}
    wanted_keys = set()
    for spec in wanted:
        key = (spec.role, spec.channel, spec.address)
        wanted_keys.add(key)
        row = by_key.get(key)
        label = f"recipient {opd_code}/{spec.role}/{spec.channel}"
        if row is None:
            session.add(
                Recipient(
                    opd_id=opd_id,
                    role=spec.role,
                    channel=spec.channel,
                    address=spec.address,
                    name=spec.name,
                    language=spec.language,
                    active=True,
                )
            )
            report.added.append(label)
        elif (row.name, row.language, row.active) != (spec.name, spec.language, True):
            row.name, row.language, row.active = spec.name, spec.language, True
            report.changed.append(label)
    for key, row in by_key.items():
        if key not in wanted_keys and row.active:
            row.active = False
            report.deactivated.append(f"recipient {opd_code}/{row.role}/{row.channel}")
    await session.flush()


async def current_directory(tx: TxBase) -> tuple[OpdSpec, ...]:
    """The database's directory as import specs, in its order (inactive OPDs and units
    included, with their flag; active recipients only): what the web editor changes and
    re-applies with :func:`apply_directory`, the import's own path."""
    session = tx.session
    opds = (await session.execute(select(Opd).order_by(Opd.position, Opd.code))).scalars().all()
    units = (await session.execute(select(Unit).order_by(Unit.position, Unit.code))).scalars()
    populations: dict[int, dict[str, int]] = {}
    for row in (await session.execute(select(UnitPopulation))).scalars():
        populations.setdefault(row.unit_id, {})[row.period] = row.population
    recipients = (
        (await session.execute(select(Recipient).where(Recipient.active).order_by(Recipient.id)))
        .scalars()
        .all()
    )
    units_of: dict[int, list[UnitSpec]] = {}
    for u in units:
        units_of.setdefault(u.opd_id, []).append(
            UnitSpec(
                u.code,
                u.name,
                tuple(u.service_types),
                u.short_name,
                u.active,
                dict(sorted(populations.get(u.id, {}).items())),
            )  # fmt: skip
        )
    return tuple(
        OpdSpec(
            o.code,
            o.name,
            tuple(units_of.get(o.id, ())),
            o.short_name,
            o.active,
            tuple(
                RecipientSpec(r.role, r.channel, r.address, r.name, r.language)
                for r in recipients
                if r.opd_id == o.id
            ),
        )  # fmt: skip
        for o in opds
    )


def as_document(specs: tuple[OpdSpec, ...]) -> dict[str, Any]:
    """Specs in the directory file's shape (``examples/mimika.yaml``), to validate again."""

    def unit(u: UnitSpec) -> dict[str, Any]:
        return {"code": u.code, "name": u.name, "short_name": u.short_name,
                "service_types": list(u.service_types), "population": dict(u.population),
                "active": u.active}  # fmt: skip

    return {
        "opds": [
            {
                "code": o.code,
                "name": o.name,
                "short_name": o.short_name,
                "active": o.active,
                "recipients": [
                    {
                        "role": r.role,
                        "channel": r.channel,
                        "address": r.address,
                        "name": r.name,
                        "language": r.language,
                    }
                    for r in o.recipients
                ],
                "units": [unit(u) for u in o.units],
            }  # fmt: skip
            for o in specs
        ]
    }
