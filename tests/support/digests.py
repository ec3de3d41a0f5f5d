"""The digests' week, settings and seeded data."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digests import DigestSettings
from reports.digest import week_of
from storage import Storage
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from survey_flows.types import SubmitResponse

WIT = ZoneInfo("Asia/Jayapura")


SETTINGS = DigestSettings(organisation="Pemerintah Kabupaten Mimika", zone=WIT)


# Monday 30 November 2026, 07:30 WIT: the digest for week 48 (23-29 November) is due.
DUE = datetime(2026, 11, 30, 7, 30, tzinfo=WIT)


WEEK_48 = week_of(date(2026, 11, 23))


DIRECTORY = (
    OpdSpec(
        code="disdukcapil",
        name="Dinas Kependudukan dan Pencatatan Sipil",
        recipients=(
            RecipientSpec("head", "telegram", "100000001", "Kepala (contoh)"),
            RecipientSpec("head", "telegram", "100000002", "Sekretaris (contoh)", "en"),
            RecipientSpec("officer", "telegram", "200000001", "Petugas (contoh)"),
        ),
        units=(
            UnitSpec("dukcapil-mpp", "Loket Disdukcapil MPP", ("KTP-el",)),
            UnitSpec("dukcapil-kantor", "Kantor Disdukcapil", ("KK",)),
        ),
    ),
    OpdSpec(
        code="rsud",
        name="RSUD Mimika",
        recipients=(RecipientSpec("head", "telegram", "300000001", "Direktur (contoh)"),),
        units=(UnitSpec("rsud-igd", "IGD RSUD Mimika", ("IGD",)),),
    ),
)


async def seed(
    storage: Storage, responses: dict[str, int], week: date = date(2026, 11, 24)
) -> None:
    """Directory plus ``responses[unit]`` responses on ``week`` (a Tuesday), seeded scores."""
    rng = random.Random(7)
    async with storage.transaction() as tx:
        await apply_directory(tx, DIRECTORY, DUE)
        for unit, count in responses.items():
            for n in range(count):
                moment = datetime.combine(week, datetime.min.time(), tzinfo=WIT) + timedelta(
                    hours=9
                )
                scores = {f"U{i}": rng.choice((2, 3, 3, 4)) for i in range(1, 10)}
                await tx.insert_response(
                    SubmitResponse(unit, None, scores, {}, "Antre lama, hubungi 081234567890"
                                   if n == 0 else None, "id", moment, moment, week),
                    channel="telegram",
                    respondent_key=f"r{unit}{n}",
                )  # fmt: skip
