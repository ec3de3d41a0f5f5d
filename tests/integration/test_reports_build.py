"""The report's aggregation on SQLite and PostgreSQL, against hand-computed IKM arithmetic.

The data set (``PAPER_CSV``) is imported the way ``skm-bot responses import`` does it. Other
report test modules import it from here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import text

from reports.build import ReportError, build_report
from reports.json_report import report_json
from reports.model import NOT_ANSWERED, ReportRequest
from reports.period import parse_period
from storage import Storage
from storage.reports import Level, ReportScope, ReportStore
from survey_flows.ikm import STANDARD_ELEMENTS, Mutu, compute_ikm, tally
from tests.support.directory import load_small_directory
from tests.support.paper_reports import (
    MPP_IKM,
    ORGANISATION,
    POOLED_IKM,
    Q1_ANSWERS,
    RSUD_IKM,
    add_chat_response,
    import_paper,
)

Q1 = parse_period("2026-Q1")

"""Eight questionnaires; six fall in 2026-Q1 (the last two sit just outside it)."""

"""Q1's paper answers by unit, as :func:`survey_flows.ikm.tally` takes them."""


async def loaded(storage: Storage) -> Storage:
    await load_small_directory(storage)
    assert await import_paper(storage) == 8
    return storage


def reference(answers: list[dict[str, int]]) -> Fraction:
    result = compute_ikm(tally(answers), len(answers))
    assert result.ikm is not None
    return result.ikm


def test_hand_computed_values_agree_with_the_ikm_module() -> None:
    assert reference(Q1_ANSWERS["dukcapil-mpp"]) == MPP_IKM
    assert reference(Q1_ANSWERS["rsud-igd"]) == RSUD_IKM
    assert reference(Q1_ANSWERS["dukcapil-mpp"] + Q1_ANSWERS["rsud-igd"]) == POOLED_IKM


async def test_report_per_unit_opd_and_regency(storage: Storage) -> None:
    await loaded(storage)
    report = await build_report(storage, ReportRequest(Q1), organisation=ORGANISATION)

    units = {u.code: u for u in report.units}
    # The inactive OPD's unit has no responses, so it is left out; the others are listed.
    assert list(units) == ["dukcapil-mpp", "dukcapil-kantor", "rsud-igd"]
    mpp, kantor, igd = units["dukcapil-mpp"], units["dukcapil-kantor"], units["rsud-igd"]

    assert mpp.respondents == 4
    assert mpp.result.ikm == MPP_IKM
    assert mpp.ikm == Decimal("84.26") and mpp.mutu is Mutu.B and mpp.kinerja == "Baik"
    assert mpp.result.answered["U8"] == 3  # the skipped U8 is not a zero
    assert mpp.nrr("U8") == Decimal("3.33") and mpp.nrr("U8", 4) == Decimal("3.3333")
    assert mpp.nrr_table()["U4"] == Decimal("3.75")
    assert mpp.weakest() == ["U2", "U9", "U3"]
    assert (mpp.population, mpp.population_period, mpp.sample_required) == (24000, "2026", 378)
    assert mpp.sample_met is False

    assert igd.respondents == 2 and igd.result.ikm == RSUD_IKM
    assert igd.ikm == Decimal("54.17") and igd.mutu is Mutu.D and igd.kinerja == "Tidak Baik"
    assert igd.sample_required is None and igd.sample_met is None

    assert kantor.respondents == 0 and kantor.ikm is None and kantor.mutu is None
    assert kantor.result.unanswered == STANDARD_ELEMENTS

    opds = {o.code: o for o in report.opds}
    assert list(opds) == ["disdukcapil", "rsud"]
    assert opds["disdukcapil"].respondents == 4
    assert opds["disdukcapil"].result.ikm == MPP_IKM  # pooled over its units' responses
    assert [u.code for u in opds["disdukcapil"].units] == ["dukcapil-mpp", "dukcapil-kantor"]

    assert report.respondents == 6
    assert report.result.ikm == POOLED_IKM
    assert report.ikm == Decimal("73.98") and report.mutu is Mutu.C
    assert report.nrr("U8") == Decimal("2.80")  # 14 / 5 answers


async def test_profile_breakdown_and_suggestions(storage: Storage) -> None:
    await loaded(storage)
    report = await build_report(storage, ReportRequest(Q1), organisation=ORGANISATION)
    mpp = {u.code: u for u in report.units}["dukcapil-mpp"]
    assert mpp.breakdown == {
        "age": {"17-25": 1, "26-35": 1, "56+": 1, NOT_ANSWERED: 1},
        "gender": {"L": 2, "P": 2},
        "education": {"SMA": 1, "D4-S1": 1, "SD": 1, NOT_ANSWERED: 1},
        "occupation": {"PNS": 1, "SWASTA": 1, "LAINNYA": 1, NOT_ANSWERED: 1},
        "service_type": {"KTP-el": 2, "Kartu Keluarga": 1, NOT_ANSWERED: 1},
        "channel": {"paper": 4},
    }
    assert report.breakdown["gender"] == {"L": 3, "P": 3}
    # A unit with one service type records it even when the form leaves it blank.
    assert report.breakdown["service_type"]["IGD"] == 2
    assert [(s.local_date, s.text) for s in mpp.suggestions] == [
        (date(2026, 3, 31), "Ruang tunggu panas,\nkipas angin rusak"),
        (date(2026, 1, 5), "Antrean cepat"),
    ]
    assert report.suggestion_total == 3  # the two of dukcapil-mpp, one of rsud-igd

    limited = await build_report(
        storage, ReportRequest(Q1, suggestion_limit=1), organisation=ORGANISATION
    )
    mpp = {u.code: u for u in limited.units}["dukcapil-mpp"]
    assert [s.text for s in mpp.suggestions] == ["Ruang tunggu panas,\nkipas angin rusak"]
    assert mpp.suggestion_total == 2


FILTER_CASES: list[tuple[dict[str, object], dict[str, int]]] = [
    # request options -> {unit code: respondents} for the units with responses in scope
    ({}, {"dukcapil-mpp": 5, "rsud-igd": 2}),
    ({"unit_codes": ("rsud-igd",)}, {"rsud-igd": 2}),
    ({"opd_codes": ("disdukcapil",)}, {"dukcapil-mpp": 5}),
    ({"channel": "paper"}, {"dukcapil-mpp": 4, "rsud-igd": 2}),
    ({"channel": "telegram"}, {"dukcapil-mpp": 1}),
    ({"service_type": "KTP-el"}, {"dukcapil-mpp": 3}),
    ({"profile": (("gender", "P"),)}, {"dukcapil-mpp": 3, "rsud-igd": 1}),
    ({"profile": (("gender", "L"), ("age", "17-25"))}, {"dukcapil-mpp": 1}),
    ({"profile": (("education", "S3"),)}, {}),
]


async def test_filters(storage: Storage) -> None:
    """Each row of FILTER_CASES, on the same data (loaded once per database)."""
    await loaded(storage)
    await add_chat_response(storage, "dukcapil-mpp", dict.fromkeys(STANDARD_ELEMENTS, 2))
    for options, expected in FILTER_CASES:
        report = await build_report(
            storage,
            ReportRequest(Q1, **options),  # type: ignore[arg-type]
            organisation=ORGANISATION,
        )
        with_responses = {u.code: u.respondents for u in report.units if u.respondents}
        assert with_responses == expected, options
        assert report.respondents == sum(expected.values()), options


async def test_paper_and_chat_combine_in_one_index(storage: Storage) -> None:
    await loaded(storage)
    chat = dict.fromkeys(STANDARD_ELEMENTS, 2)
    await add_chat_response(storage, "dukcapil-mpp", chat)
    report = await build_report(
        storage, ReportRequest(Q1, unit_codes=("dukcapil-mpp",)), organisation=ORGANISATION
    )
    (mpp,) = report.units
    assert mpp.respondents == 5
    assert mpp.result.ikm == reference([*Q1_ANSWERS["dukcapil-mpp"], chat])
    assert mpp.breakdown["channel"] == {"paper": 4, "telegram": 1}


async def test_period_boundaries_are_local_dates(storage: Storage) -> None:
    await loaded(storage)
    for label, respondents in (("2026-03", 2), ("2026-04", 1), ("2025-12", 1), ("2026", 7)):
        report = await build_report(
            storage, ReportRequest(parse_period(label)), organisation=ORGANISATION
        )
        assert report.respondents == respondents, label


async def test_unknown_codes_are_refused(storage: Storage) -> None:
    await loaded(storage)
    with pytest.raises(ReportError, match="unknown unit code"):
        await build_report(
            storage, ReportRequest(Q1, unit_codes=("nope",)), organisation=ORGANISATION
        )
    with pytest.raises(ReportError, match="unknown OPD code"):
        await build_report(storage, ReportRequest(Q1, opd_codes=("nope",)), organisation="x")


async def test_profile_values_outside_the_code_lists_are_still_counted(storage: Storage) -> None:
    await loaded(storage)
    await add_chat_response(
        storage,
        "rsud-igd",
        dict.fromkeys(STANDARD_ELEMENTS, 3),
        profile={"age": "99-100"},
        channel="sms",
    )
    report = await build_report(
        storage, ReportRequest(Q1, unit_codes=("rsud-igd",)), organisation=ORGANISATION
    )
    (igd,) = report.units
    assert igd.respondents == 3
    assert igd.breakdown["age"] == {"36-45": 1, "46-55": 1, "99-100": 1}
    assert igd.breakdown["gender"] == {"L": 1, "P": 1, NOT_ANSWERED: 1}
    assert igd.breakdown["channel"] == {"paper": 2, "sms": 1}


async def test_extra_elements_count_in_the_unit_index_only(storage: Storage) -> None:
    await loaded(storage)
    scores = {**dict.fromkeys(STANDARD_ELEMENTS, 4), "U10": 1}
    await add_chat_response(storage, "rsud-igd", scores, service_type="IGD")
    report = await build_report(storage, ReportRequest(Q1), organisation=ORGANISATION)
    igd = {u.code: u for u in report.units}["rsud-igd"]
    assert igd.elements == (*STANDARD_ELEMENTS, "U10")
    answers = [*Q1_ANSWERS["rsud-igd"], scores]
    # U10 answered once (score 1); the other two respondents skipped it.
    assert igd.result.ikm == compute_ikm(tally(answers), 3, igd.elements).ikm
    assert report.elements == STANDARD_ELEMENTS
    expected = [
        *Q1_ANSWERS["dukcapil-mpp"],
        *Q1_ANSWERS["rsud-igd"],
        dict.fromkeys(STANDARD_ELEMENTS, 4),
    ]
    assert report.result.ikm == reference(expected)
    assert report.element_columns == (*STANDARD_ELEMENTS, "U10")


async def test_legacy_0111_convention(storage: Storage) -> None:
    await loaded(storage)
    report = await build_report(
        storage, ReportRequest(Q1, legacy_weight_0111=True), organisation=ORGANISATION
    )
    mpp = {u.code: u for u in report.units}["dukcapil-mpp"]
    assert report.convention == "legacy_weight_0111"
    assert mpp.result.ikm == Fraction(91, 3) * Fraction(111, 1000) * 25
    assert mpp.ikm == Decimal("84.18")


async def test_rollup_equals_a_grouped_query_per_level(storage: Storage) -> None:
    """The report rolls unit tallies up to OPD and regency; so does one GROUP BY per level."""
    await loaded(storage)
    store = ReportStore(storage)
    scope = ReportScope(Q1.start, Q1.end)
    by_level = {level: await store.score_tallies(scope, level) for level in Level}
    opd_of = {"dukcapil-mpp": "disdukcapil", "dukcapil-kantor": "disdukcapil", "rsud-igd": "rsud"}
    rolled: dict[tuple[str | None, str], tuple[int, int]] = {}
    regency: dict[tuple[str | None, str], tuple[int, int]] = {}
    for row in by_level[Level.UNIT]:
        assert row.group is not None
        for table, key in (
            (rolled, (opd_of[row.group], row.element_code)),
            (regency, (None, row.element_code)),
        ):
            total, answered = table.get(key, (0, 0))
            table[key] = (total + row.score_sum, answered + row.answered)
    assert {
        (r.group, r.element_code): (r.score_sum, r.answered) for r in by_level[Level.OPD]
    } == rolled
    assert {
        (r.group, r.element_code): (r.score_sum, r.answered) for r in by_level[Level.REGENCY]
    } == regency
    assert regency[(None, "U8")] == (14, 5)


async def test_sqlite_and_postgresql_give_identical_reports(
    sqlite_storage: Storage, pg_storage: Storage
) -> None:
    texts = []
    for storage in (sqlite_storage, pg_storage):
        await loaded(storage)
        await add_chat_response(storage, "dukcapil-mpp", dict.fromkeys(STANDARD_ELEMENTS, 2))
        await add_chat_response(
            storage, "rsud-igd", dict.fromkeys(STANDARD_ELEMENTS, 3), profile={"age": "odd"}
        )
        report = await build_report(storage, ReportRequest(parse_period("2026")), organisation="M")
        texts.append(report_json(report))
    assert texts[0] == texts[1]
    assert '"odd": 1' in texts[0]


async def test_a_report_reads_one_snapshot(storage: Storage) -> None:
    """A response committed while a report is reading is not half-counted."""
    await loaded(storage)
    store = ReportStore(storage)
    count = text("SELECT count(*) FROM survey_responses")
    async with store.snapshot() as connection:
        before = (await connection.execute(count)).scalar_one()
        await add_chat_response(storage, "rsud-igd", dict.fromkeys(STANDARD_ELEMENTS, 4))
        assert (await connection.execute(count)).scalar_one() == before == 8
    async with store.snapshot() as connection:
        assert (await connection.execute(count)).scalar_one() == 9


async def test_a_second_connection_shares_the_exported_snapshot(pg_storage: Storage) -> None:
    """PostgreSQL reads scores and responses side by side, both in the first snapshot."""
    await loaded(pg_storage)
    store = ReportStore(pg_storage)
    count = text("SELECT count(*) FROM survey_responses")
    async with store.snapshot() as first:
        exported = (await first.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
        await add_chat_response(pg_storage, "rsud-igd", dict.fromkeys(STANDARD_ELEMENTS, 4))
        async with store.snapshot(shared=exported) as second:
            assert (await second.execute(count)).scalar_one() == 8
        async with store.snapshot() as fresh:
            assert (await fresh.execute(count)).scalar_one() == 9
    with pytest.raises(ValueError, match="not a snapshot id"):
        async with store.snapshot(shared="x'; DROP TABLE units; --"):
            pass
