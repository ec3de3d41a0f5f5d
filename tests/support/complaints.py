"""A filed complaint and its desk effects, applied through storage."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage import Storage
from storage.complaints import (
    apply_desk_effects,
)
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from survey_flows.complaints import Action, Actor, ComplaintStatus
from survey_flows.desk import (
    MoveComplaint,
)
from survey_flows.types import FileComplaint

WIT = ZoneInfo("Asia/Jayapura")


T0 = datetime(2026, 3, 16, 10, 0, tzinfo=WIT)


TICKET = "ADU-ABCD-EFGH"


OFFICER, HEAD, LEAVER, CITIZEN = "200000001", "100000001", "200000009", "610000001"


def directory(*, with_leaver: bool) -> tuple[OpdSpec, ...]:
    people = [
        RecipientSpec("head", "whatsapp", HEAD, "Kepala"),
        RecipientSpec("officer", "whatsapp", OFFICER, "Petugas", language="en"),
    ]
    if with_leaver:
        people.append(RecipientSpec("officer", "whatsapp", LEAVER, "Petugas lama"))
    return (
        OpdSpec(
            code="disdukcapil",
            name="Dinas Kependudukan dan Pencatatan Sipil",
            recipients=tuple(people),
            units=(UnitSpec("dukcapil-mpp", "Loket Disdukcapil MPP", ("KTP-el",)),),
        ),
        OpdSpec(
            code="rsud",
            name="RSUD Mimika",
            # The same person also serves another OPD, as its head.
            recipients=(RecipientSpec("head", "whatsapp", OFFICER, "Kepala RS"),),
            units=(UnitSpec("rsud-igd", "IGD RSUD Mimika", ("IGD",)),),
        ),
    )


async def prepared(storage: Storage) -> int:
    """The directory (one officer has left since), and the citizen's contact id."""
    for with_leaver in (True, False):
        async with storage.transaction() as tx:
            await apply_directory(tx, directory(with_leaver=with_leaver), T0)
    async with storage.transaction() as tx:
        return (await tx.contact_for("whatsapp", CITIZEN, "id", T0)).id


def filed(ticket: str = TICKET) -> FileComplaint:
    return FileComplaint(
        ticket=ticket,
        unit_code="dukcapil-mpp",
        kind="pengaduan",
        description="Antrean perekaman KTP-el sangat panjang.",
        photos=("AgAD-1", "AgAD-2"),
        location=(-4.54, 136.88),
        anonymous=False,
        confidential=True,
        language="id",
        filed_at=T0,
        verify_by=T0 + timedelta(days=3),
        answer_by=T0 + timedelta(days=8),
    )


async def apply(storage: Storage, *effects: object) -> set[str]:
    async with storage.transaction() as tx:
        return await apply_desk_effects(tx, effects, T0)  # type: ignore[arg-type]


def move(
    action: Action, source: ComplaintStatus, to: ComplaintStatus, **kwargs: object
) -> MoveComplaint:
    return MoveComplaint(TICKET, action, Actor.OFFICER, source, to, T0, **kwargs)  # type: ignore[arg-type]
