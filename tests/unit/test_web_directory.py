"""The directory editor's pure part, and the file's validation as the editor calls it."""

from __future__ import annotations

from bot.directory_file import check_directory
from survey_flows.web_directory import (
    field_of,
    lines,
    parse_population,
    population_text,
    problems_by_field,
)


def test_service_types_are_one_a_line() -> None:
    assert lines(" KTP-el \r\n\r\nKartu Keluarga\n") == ["KTP-el", "Kartu Keluarga"]


def test_populations_are_period_and_number_lines() -> None:
    assert parse_population("2026: 24.000\n2026-S1 = 12,000\n") == (
        {"2026": 24000, "2026-S1": 12000}, None)  # fmt: skip
    assert parse_population("") == ({}, None)
    assert parse_population("2026 banyak") == ({}, "web.dir.error.population_line")
    assert parse_population("2026: 1\n2026: 2") == ({}, "web.dir.error.population_twice")
    assert population_text({"2026-S1": 5, "2026": 9}) == "2026: 9\n2026-S1: 5"


def test_problems_go_to_the_field_they_belong_to() -> None:
    assert field_of("opds[0].units[1].population.2026", "opds[0].units[1]") == "population"
    assert field_of("opds[0].units[1].service_types[2]", "opds[0].units[1]") == "service_types"
    assert field_of("opds[0].units[10].name", "opds[0].units[1]") is None
    mine, rest = problems_by_field(
        [("opds[0].units[1].name", "string_too_short", "short"),
         ("opds[0].units[1].name", "other", "second"),
         ("opds[2].recipients[0].channel", "literal_error", "bad")],
        "opds[0].units[1]", ("name", "population"),
    )  # fmt: skip
    assert mine == {"name": ("string_too_short", "short")}
    assert rest == [("opds[2].recipients[0].channel", "literal_error", "bad")]


def test_the_editor_checks_with_the_files_own_rules() -> None:
    unit = {"code": "a-1", "name": "Loket", "service_types": ["KTP-el", "KTP-el"]}
    document = {"opds": [{"code": "opd-a", "name": "OPD A", "units": [unit, dict(unit)]}]}
    specs, problems = check_directory(document)
    assert specs == ()
    assert ("opds[0].units[0].service_types", "value_error") in {(p, k) for p, k, _ in problems}
    unit["service_types"] = ["KTP-el"]
    document["opds"][0]["units"] = [unit, {**unit, "code": "a-1"}]
    _, problems = check_directory(document)
    assert [(p, k) for p, k, _ in problems] == [  # each use, so an editor hears of it
        ("opds[0].units[0].code", "duplicate"),
        ("opds[0].units[1].code", "duplicate"),
    ]
    document["opds"][0]["units"] = [unit]
    specs, problems = check_directory(document)
    assert problems == [] and specs[0].units[0].service_types == ("KTP-el",)
