"""The small directory of OPDs and units that most tests load."""

from __future__ import annotations

from storage import Storage
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from tests.support.dispatcher import T0

SMALL_DIRECTORY: tuple[OpdSpec, ...] = (
    OpdSpec(
        code="disdukcapil",
        name="Dinas Kependudukan dan Pencatatan Sipil",
        short_name="Disdukcapil",
        recipients=(RecipientSpec("head", "telegram", "100000001", "Kepala (contoh)"),),
        units=(
            UnitSpec(
                code="dukcapil-mpp",
                name="Loket Disdukcapil MPP",
                service_types=("KTP-el", "Kartu Keluarga", "Akta kelahiran"),
                population={"2026": 24000},
            ),
            UnitSpec(code="dukcapil-kantor", name="Kantor Disdukcapil", service_types=("KTP-el",)),
        ),
    ),
    OpdSpec(
        code="rsud",
        name="RSUD Mimika",
        units=(UnitSpec(code="rsud-igd", name="IGD RSUD Mimika", service_types=("IGD",)),),
    ),
    OpdSpec(
        code="dishub",
        name="Dinas Perhubungan",
        active=False,
        units=(UnitSpec(code="dishub-kir", name="Uji KIR", service_types=("Uji KIR",)),),
    ),
)


async def load_small_directory(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await apply_directory(tx, SMALL_DIRECTORY, T0)
