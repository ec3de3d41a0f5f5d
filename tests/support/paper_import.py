"""The paper import's directory and CSV header."""

from __future__ import annotations

from datetime import date

from survey_flows.directory import Directory, OpdInfo, UnitInfo

TODAY = date(2026, 11, 25)


DIRECTORY = Directory.build(
    [OpdInfo("disdukcapil", "Disdukcapil")],
    [
        UnitInfo("dukcapil-mpp", "MPP", "disdukcapil", ("KTP-el", "Kartu Keluarga")),
        UnitInfo("dukcapil-kantor", "Kantor", "disdukcapil", ("KTP-el",)),
    ],
)


HEADER = (
    "unit,date,service_type,age,gender,education,occupation,U1,U2,U3,U4,U5,U6,U7,U8,U9,suggestion"
)
