"""Paper questionnaires and the IKM figures they give, for the report tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

from reports.paper_import import parse_paper_csv
from storage import Storage
from storage.reports import ReportStore
from survey_flows.ikm import STANDARD_ELEMENTS
from survey_flows.types import SubmitResponse

ORGANISATION = "Pemerintah Kabupaten Mimika"


TODAY = date(2026, 11, 25)


PAPER_CSV = """\
unit,date,service_type,age,gender,education,occupation,U1,U2,U3,U4,U5,U6,U7,U8,U9,suggestion
dukcapil-mpp,2026-01-05,KTP-el,17-25,L,SMA,PNS,4,4,4,4,4,4,4,4,4,Antrean cepat
dukcapil-mpp,2026-01-20,Kartu Keluarga,26-35,P,D4-S1,SWASTA,3,3,3,3,3,3,3,3,3,
dukcapil-mpp,2026-02-10,,,P,,,3,2,3,4,3,3,4,,2,
dukcapil-mpp,2026-03-31,KTP-el,56+,L,SD,LAINNYA,4,3,3,4,4,3,4,3,3,"Ruang tunggu panas,
kipas angin rusak"
rsud-igd,2026-02-01,IGD,36-45,P,SMP,WIRAUSAHA,2,2,1,4,2,2,3,2,2,Dokter jaga kurang
rsud-igd,2026-03-15,,46-55,L,S2,TNI,1,2,2,4,2,1,2,2,3,
dukcapil-kantor,2026-04-01,KTP-el,17-25,L,SMA,PNS,1,1,1,1,1,1,1,1,1,Di luar triwulan
dukcapil-mpp,2025-12-31,KTP-el,17-25,L,SMA,PNS,1,1,1,1,1,1,1,1,1,Tahun lalu
"""


# The same answers as plain dicts (a skipped answer is absent), for the reference arithmetic.
_ROWS = {
    "dukcapil-mpp": [
        (4, 4, 4, 4, 4, 4, 4, 4, 4),
        (3, 3, 3, 3, 3, 3, 3, 3, 3),
        (3, 2, 3, 4, 3, 3, 4, None, 2),
        (4, 3, 3, 4, 4, 3, 4, 3, 3),
    ],
    "rsud-igd": [(2, 2, 1, 4, 2, 2, 3, 2, 2), (1, 2, 2, 4, 2, 1, 2, 2, 3)],
}


Q1_ANSWERS: dict[str, list[dict[str, int]]] = {
    unit: [
        {code: score for code, score in zip(STANDARD_ELEMENTS, row, strict=True) if score}
        for row in rows
    ]
    for unit, rows in _ROWS.items()
}


# Worked by hand (SKM.md 1.4): dukcapil-mpp's NRRs sum to 91/3, so IKM = 91/3 / 9 * 25.
MPP_IKM = Fraction(2275, 27)  # 84.259... -> 84.26, B


RSUD_IKM = Fraction(325, 6)  # NRRs sum to 19.5 -> 54.1666... -> 54.17, D


POOLED_IKM = Fraction(3995, 54)  # all six: 73.981... -> 73.98, C


async def import_paper(storage: Storage, text: str = PAPER_CSV) -> int:
    """Validate and store ``text`` as ``skm-bot responses import`` does."""
    checked = parse_paper_csv(text, await storage.directory(), TODAY)
    assert checked.errors == ()
    return await ReportStore(storage).insert_paper_responses(
        checked.responses, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    )


async def add_chat_response(
    storage: Storage,
    unit: str,
    scores: dict[str, int],
    *,
    day: date = date(2026, 2, 2),
    profile: dict[str, str] | None = None,
    service_type: str | None = "KTP-el",
    channel: str = "telegram",
) -> None:
    """A response as the chat survey stores it (through the dispatcher's repository call)."""
    at = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    async with storage.transaction() as tx:
        await tx.insert_response(
            SubmitResponse(
                unit_code=unit,
                service_type=service_type,
                scores=scores,
                profile=profile if profile is not None else {"gender": "P"},
                suggestion=None,
                language="id",
                started_at=at,
                submitted_at=at,
                local_date=day,
            ),
            channel=channel,
            respondent_key=f"key-{unit}-{day}",
        )
