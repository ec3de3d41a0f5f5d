"""Tests for survey_flows.ikm: the SKM index arithmetic (SKM.md sections 1.4 and 1.5)."""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey_flows.ikm import (
    KINERJA,
    STANDARD_ELEMENTS,
    ElementTally,
    IkmResult,
    Mutu,
    compute_ikm,
    grade_ikm,
    grade_nrr,
    round_half_up,
    sample_size,
    tally,
)

RANK = {Mutu.D: 0, Mutu.C: 1, Mutu.B: 2, Mutu.A: 3}


def uniform(
    score: int, respondents: int, elements: tuple[str, ...] = STANDARD_ELEMENTS
) -> dict[str, ElementTally]:
    """Tallies for `respondents` people giving `score` to every element."""
    return {code: ElementTally(code, score * respondents, respondents) for code in elements}


def result_from(responses: list[dict[str, int]], **kwargs: object) -> IkmResult:
    return compute_ikm(tally(responses), len(responses), **kwargs)  # type: ignore[arg-type]


# --- SKM.md examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("respondents", "score", "ikm", "mutu", "kinerja"),
    [
        (3, 4, Decimal("100.00"), Mutu.A, "Sangat Baik"),
        (3, 1, Decimal("25.00"), Mutu.D, "Tidak Baik"),
        (2, 3, Decimal("75.00"), Mutu.C, "Kurang Baik"),
    ],
)
def test_skm_examples(respondents: int, score: int, ikm: Decimal, mutu: Mutu, kinerja: str) -> None:
    responses = [dict.fromkeys(STANDARD_ELEMENTS, score) for _ in range(respondents)]
    result = result_from(responses)
    assert result.ikm == Fraction(score * 25)
    assert result.nilai_indeks == Fraction(score)
    assert result.ikm_display() == ikm
    assert str(result.ikm_display()) == str(ikm)
    assert result.mutu is mutu
    assert result.mutu is not None and result.mutu.kinerja == kinerja
    assert result.convention == "exact"
    assert result.computable
    assert result.unanswered == ()


@pytest.mark.parametrize(
    ("mutu", "label"),
    [(Mutu.A, "Sangat Baik"), (Mutu.B, "Baik"), (Mutu.C, "Kurang Baik"), (Mutu.D, "Tidak Baik")],
)
def test_kinerja_labels(mutu: Mutu, label: str) -> None:
    assert mutu.kinerja == label
    assert KINERJA[mutu] == label
    assert mutu == mutu.name  # StrEnum value is the letter


def test_hand_computed_mixed_example() -> None:
    # U1: answers 4 and 3 -> NRR 3.5; others 3 and 3 -> NRR 3.
    responses = [dict.fromkeys(STANDARD_ELEMENTS, 3) for _ in range(2)]
    responses[0]["U1"] = 4
    result = result_from(responses)
    assert result.nrr["U1"] == Fraction(7, 2)
    assert result.nilai_indeks == Fraction(55, 18)  # (3.5 + 8 * 3) / 9
    assert result.ikm == Fraction(55 * 25, 18)  # 76.3888...
    assert result.ikm_display() == Decimal("76.39")
    assert result.nilai_indeks_display() == Decimal("3.0556")
    assert result.mutu is Mutu.C
    assert result.element_mutu("U1") is Mutu.B
    assert result.element_mutu("U2") is Mutu.C


# --- own denominators, keyed by code ------------------------------------------------------


def test_skipped_answer_is_not_a_zero() -> None:
    # Three respondents answer 4 everywhere; the fourth answers 1 everywhere but skips U4.
    responses = [dict.fromkeys(STANDARD_ELEMENTS, 4) for _ in range(3)]
    fourth = dict.fromkeys(STANDARD_ELEMENTS, 1)
    del fourth["U4"]
    responses.append(fourth)
    result = result_from(responses)
    assert result.respondents == 4
    assert result.answered["U4"] == 3
    assert result.answered["U1"] == 4
    assert result.nrr["U4"] == Fraction(4)  # 12 / 3, not 12 / 4
    assert result.nrr["U1"] == Fraction(13, 4)
    assert result.nilai_indeks == (8 * Fraction(13, 4) + 4) / 9 == Fraction(10, 3)
    assert result.ikm_display() == Decimal("83.33")
    assert result.mutu is Mutu.B


def test_each_element_has_its_own_denominator_from_tallies() -> None:
    tallies = uniform(3, 10)
    tallies["U2"] = ElementTally("U2", 7, 2)  # only 2 of 10 answered
    result = compute_ikm(tallies, 10)
    assert result.nrr["U2"] == Fraction(7, 2)
    assert result.nrr["U3"] == Fraction(3)


def test_u8_and_u9_keyed_by_code_not_position() -> None:
    # The questionnaire asks U9 (facilities) before U8 (complaints): insertion order differs.
    asked_order = ["U1", "U2", "U3", "U4", "U5", "U6", "U7", "U9", "U8"]
    scores = {"U8": 1, "U9": 4}
    response = {code: scores.get(code, 3) for code in asked_order}
    assert list(response) == asked_order
    result = result_from([response, dict(response)])
    assert result.nrr["U8"] == 1
    assert result.nrr["U9"] == 4
    assert result.element_mutu("U8") is Mutu.D
    assert result.element_mutu("U9") is Mutu.A
    assert result.weakest(1) == ["U8"]
    # Reversing the tallies' order changes nothing.
    reversed_tallies = dict(reversed(list(tally([response]).items())))
    assert compute_ikm(reversed_tallies, 1).nrr == compute_ikm(tally([response]), 1).nrr


def test_tally_aggregates_by_code() -> None:
    responses = [{"U1": 4, "U9": 2}, {"U9": 1, "U1": 3, "U8": 4}, {}]
    assert tally(responses) == {
        "U1": ElementTally("U1", 7, 2),
        "U9": ElementTally("U9", 3, 2),
        "U8": ElementTally("U8", 4, 1),
    }
    assert tally([]) == {}


# --- exact 1/k versus the 0,111 spreadsheet convention -------------------------------------


@pytest.mark.parametrize(
    ("score", "exact_ikm", "exact_display", "legacy_ikm", "legacy_display"),
    [
        (4, Fraction(100), Decimal("100.00"), Fraction(9990, 100), Decimal("99.90")),
        (1, Fraction(25), Decimal("25.00"), Fraction(24975, 1000), Decimal("24.98")),
        (3, Fraction(75), Decimal("75.00"), Fraction(74925, 1000), Decimal("74.93")),
    ],
)
def test_exact_versus_legacy_weight(
    score: int,
    exact_ikm: Fraction,
    exact_display: Decimal,
    legacy_ikm: Fraction,
    legacy_display: Decimal,
) -> None:
    exact = compute_ikm(uniform(score, 5), 5)
    legacy = compute_ikm(uniform(score, 5), 5, legacy_weight_0111=True)
    assert exact.ikm == exact_ikm
    assert exact.ikm_display() == exact_display
    assert exact.convention == "exact"
    assert legacy.ikm == legacy_ikm
    assert legacy.ikm_display() == legacy_display
    assert legacy.convention == "legacy_weight_0111"
    assert legacy.nrr == exact.nrr  # NRRs are not rounded under either convention


def test_legacy_all_four_is_graded_a_and_all_one_below_table_floor() -> None:
    assert compute_ikm(uniform(4, 1), 1, legacy_weight_0111=True).mutu is Mutu.A
    low = compute_ikm(uniform(1, 1), 1, legacy_weight_0111=True)
    assert low.ikm is not None and low.ikm < 25
    assert low.mutu is Mutu.D


def test_legacy_weight_rejected_for_extra_elements() -> None:
    elements = (*STANDARD_ELEMENTS, "U10")
    with pytest.raises(ValueError, match="0,111"):
        compute_ikm(uniform(4, 1, elements), 1, elements, legacy_weight_0111=True)


# --- grade boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("100.00"), Mutu.A),
        (Decimal("88.31"), Mutu.A),
        (Decimal("88.30"), Mutu.B),
        (Decimal("88.305"), Mutu.A),  # rounds half up to 88.31
        (Decimal("88.3049999"), Mutu.B),
        (Decimal("76.61"), Mutu.B),
        (Decimal("76.60"), Mutu.C),
        (Decimal("76.605"), Mutu.B),
        (Decimal("65.00"), Mutu.C),
        (Decimal("64.99"), Mutu.D),
        (Decimal("64.995"), Mutu.C),
        (Decimal("64.9949"), Mutu.D),
        (Decimal("25.00"), Mutu.D),
        (Fraction(8831, 100), Mutu.A),
        (Fraction(8830, 100), Mutu.B),
        (Fraction(6499, 100), Mutu.D),
        (Fraction(6500, 100), Mutu.C),
        (65, Mutu.C),
    ],
)
def test_grade_ikm_boundaries(value: Decimal | Fraction, expected: Mutu) -> None:
    assert grade_ikm(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("4"), Mutu.A),
        (Decimal("3.5324"), Mutu.A),
        (Decimal("3.5323"), Mutu.B),
        (Decimal("3.53235"), Mutu.A),  # rounds half up to 3.5324
        (Decimal("3.532349"), Mutu.B),
        (Decimal("3.0644"), Mutu.B),
        (Decimal("3.0643"), Mutu.C),
        (Decimal("2.60"), Mutu.C),
        (Decimal("2.5999"), Mutu.D),
        (Decimal("2.59995"), Mutu.C),
        (Decimal("1"), Mutu.D),
        (Fraction(53, 15), Mutu.A),  # 3.53333...
        (Fraction(13, 5), Mutu.C),  # 2.6
    ],
)
def test_grade_nrr_boundaries(value: Decimal | Fraction, expected: Mutu) -> None:
    assert grade_nrr(value) is expected


def test_grade_rejects_float() -> None:
    with pytest.raises(TypeError):
        grade_ikm(88.31)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        grade_nrr(3.5)  # type: ignore[arg-type]


# --- rounding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(100125, 1000), 2, "100.13"),  # half-even would give 100.12
        (Decimal("2.675"), 2, "2.68"),  # float rounding would give 2.67
        (Decimal("0.125"), 2, "0.13"),
        (Fraction(5, 1000), 2, "0.01"),
        (Decimal("0.0049999"), 2, "0.00"),
        (Fraction(-125, 1000), 2, "-0.13"),  # ties away from zero, like ROUND_HALF_UP
        (Fraction(5, 2), 0, "3"),
        (Fraction(1, 3), 4, "0.3333"),
        (Fraction(2, 3), 4, "0.6667"),
        (Fraction(100), 2, "100.00"),
        (Fraction(0), 2, "0.00"),
    ],
)
def test_round_half_up(value: Fraction | Decimal, places: int, expected: str) -> None:
    rounded = round_half_up(value, places)
    assert rounded == Decimal(expected)
    assert str(rounded) == expected


def test_round_half_up_ignores_ambient_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        assert str(round_half_up(Fraction(123456789, 1000), 2)) == "123456.79"
        assert str(round_half_up(Decimal("123456.785"), 2)) == "123456.79"


def test_round_half_up_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        round_half_up(Fraction(1), -1)
    with pytest.raises(ValueError):
        round_half_up(Decimal("NaN"), 2)
    with pytest.raises(TypeError):
        round_half_up(2.675, 2)  # type: ignore[arg-type]


def test_ikm_exactly_on_a_half_rounds_up() -> None:
    # k = 10: nine elements all 4, U10 = 57/20 = 2.85 -> IKM = 2.5 * 38.85 = 97.125.
    elements = (*STANDARD_ELEMENTS, "U10")
    tallies = uniform(4, 20, elements)
    tallies["U10"] = ElementTally("U10", 57, 20)
    result = compute_ikm(tallies, 20, elements)
    assert result.ikm == Fraction(97125, 1000)
    assert result.ikm_display() == Decimal("97.13")


def test_nrr_display_rounds_half_up() -> None:
    tallies = uniform(3, 8)
    tallies["U5"] = ElementTally("U5", 17, 8)  # 2.125
    tallies["U6"] = ElementTally("U6", 26, 8)  # 3.25
    result = compute_ikm(tallies, 8)
    assert result.nrr_display("U5") == Decimal("2.13")
    assert result.nrr_display("U5", places=4) == Decimal("2.1250")
    assert str(result.nrr_display("U6", 4)) == "3.2500"
    assert str(result.nrr_display("U1")) == "3.00"


# --- extra elements -----------------------------------------------------------------------


def test_extra_element_counts_with_weight_one_over_k() -> None:
    elements = (*STANDARD_ELEMENTS, "U10")
    tallies = uniform(4, 3, elements)
    tallies["U10"] = ElementTally("U10", 3, 3)  # NRR 1
    result = compute_ikm(tallies, 3, elements)
    assert result.elements == elements
    assert result.nilai_indeks == Fraction(37, 10)
    assert result.ikm == Fraction(185, 2)
    assert result.ikm_display() == Decimal("92.50")
    assert result.mutu is Mutu.A
    assert result.weakest(1) == ["U10"]


def test_extra_element_not_declared_is_rejected() -> None:
    tallies = uniform(4, 3)
    tallies["U10"] = ElementTally("U10", 12, 3)
    with pytest.raises(ValueError, match="U10"):
        compute_ikm(tallies, 3)


# --- weakest ------------------------------------------------------------------------------


def test_weakest_orders_by_nrr_then_code() -> None:
    elements = (*STANDARD_ELEMENTS, "U10")
    tallies = uniform(4, 4, elements)
    tallies["U10"] = ElementTally("U10", 8, 4)  # 2.0
    tallies["U2"] = ElementTally("U2", 8, 4)  # 2.0, ties with U10; U2 first
    tallies["U9"] = ElementTally("U9", 5, 4)  # 1.25, lowest
    tallies["U4"] = ElementTally("U4", 11, 4)  # 2.75
    tallies["U3"] = ElementTally("U3", 11, 4)  # 2.75, ties with U4; U3 first
    result = compute_ikm(tallies, 4, elements)
    assert result.weakest() == ["U9", "U2", "U10"]
    assert result.weakest(5) == ["U9", "U2", "U10", "U3", "U4"]
    assert result.weakest(0) == []
    assert len(result.weakest(100)) == 10
    with pytest.raises(ValueError):
        result.weakest(-1)


def test_weakest_ties_use_code_order_not_input_order() -> None:
    elements = ("U9", "U8", "U7", "U6", "U5", "U4", "U3", "U2", "U1")
    result = compute_ikm(uniform(2, 1, elements), 1, elements)
    assert result.weakest(3) == ["U1", "U2", "U3"]


# --- unanswered elements ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["zero_tally", "missing"])
def test_unanswered_element_makes_ikm_not_computable(how: str) -> None:
    tallies = uniform(4, 2)
    if how == "zero_tally":
        tallies["U8"] = ElementTally("U8", 0, 0)
    else:
        del tallies["U8"]
    result = compute_ikm(tallies, 2)
    assert result.unanswered == ("U8",)
    assert not result.computable
    assert result.ikm is None
    assert result.nilai_indeks is None
    assert result.ikm_display() is None
    assert result.nilai_indeks_display() is None
    assert result.mutu is None
    assert "U8" not in result.nrr
    assert result.answered["U8"] == 0
    assert result.nrr["U9"] == 4  # the answered elements still have their NRR
    assert "U8" not in result.weakest(9)
    with pytest.raises(KeyError, match="no answers"):
        result.nrr_display("U8")
    with pytest.raises(KeyError, match="no answers"):
        result.element_mutu("U8")
    with pytest.raises(KeyError, match="unknown"):
        result.nrr_display("U42")


def test_no_respondents_at_all() -> None:
    result = compute_ikm({}, 0)
    assert result.unanswered == STANDARD_ELEMENTS
    assert result.ikm is None
    assert result.weakest() == []


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tallies", "respondents", "elements", "match"),
    [
        ({"U1": ElementTally("U1", 2, 3)}, 3, STANDARD_ELEMENTS, "score_sum"),
        ({"U1": ElementTally("U1", 13, 3)}, 3, STANDARD_ELEMENTS, "score_sum"),
        ({"U1": ElementTally("U1", 1, 0)}, 3, STANDARD_ELEMENTS, "score_sum"),
        ({"U1": ElementTally("U1", 0, -1)}, 3, STANDARD_ELEMENTS, "answered"),
        ({"U1": ElementTally("U1", 16, 4)}, 3, STANDARD_ELEMENTS, "respondents"),
        ({"X1": ElementTally("X1", 4, 1)}, 3, STANDARD_ELEMENTS, "not in the survey"),
        ({"U1": ElementTally("U2", 4, 1)}, 3, STANDARD_ELEMENTS, "keyed"),
        ({}, -1, STANDARD_ELEMENTS, "respondents"),
        ({}, 1, (), "empty"),
        ({}, 1, ("U1", "U1"), "duplicate"),
    ],
)
def test_compute_ikm_validation(
    tallies: dict[str, ElementTally], respondents: int, elements: tuple[str, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        compute_ikm(tallies, respondents, elements)


@pytest.mark.parametrize("bad", [0, 5, -1, True, "3", 3.0])
def test_tally_rejects_bad_scores(bad: object) -> None:
    with pytest.raises(ValueError):
        tally([{"U1": bad}])  # type: ignore[dict-item]


def test_score_sum_bounds_are_inclusive() -> None:
    tallies = uniform(3, 3)
    tallies["U1"] = ElementTally("U1", 3, 3)  # all 1: lower bound
    tallies["U2"] = ElementTally("U2", 12, 3)  # all 4: upper bound
    result = compute_ikm(tallies, 3)
    assert result.nrr["U1"] == 1
    assert result.nrr["U2"] == 4


# --- Krejcie & Morgan ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "sample"),
    [(10, 10), (50, 44), (100, 80), (300, 169), (1000, 278), (2000, 322), (10000, 370)],
)
def test_krejcie_morgan_published_rows(population: int, sample: int) -> None:
    assert sample_size(population) == sample


@pytest.mark.parametrize("population", [0, -1, -1000])
def test_sample_size_rejects_empty_population(population: int) -> None:
    with pytest.raises(ValueError):
        sample_size(population)


def test_sample_size_small_population_is_everyone() -> None:
    assert sample_size(1) == 1
    assert sample_size(2) == 2


@given(st.integers(min_value=1, max_value=10**7))
def test_sample_size_bounded_and_monotone(population: int) -> None:
    s = sample_size(population)
    assert 1 <= s <= population
    assert s <= 384  # the infinite-population limit, 3.841 * 0.25 / 0.0025 = 384.1
    assert sample_size(population + 1) >= s


# --- properties ---------------------------------------------------------------------------

scores = st.integers(min_value=1, max_value=4)
partial_response = st.dictionaries(st.sampled_from(STANDARD_ELEMENTS), scores)
full_response = st.fixed_dictionaries({code: scores for code in STANDARD_ELEMENTS})


@given(full_response, st.lists(partial_response, max_size=30))
def test_ikm_always_within_25_and_100(first: dict[str, int], rest: list[dict[str, int]]) -> None:
    responses = [first, *rest]
    result = result_from(responses)
    assert result.ikm is not None
    assert 25 <= result.ikm <= 100
    display = result.ikm_display()
    assert display is not None and Decimal("25.00") <= display <= Decimal("100.00")
    assert result.mutu is grade_ikm(result.ikm)
    # Exact definition: mean of the per-element NRRs, times 25.
    assert result.ikm == sum(result.nrr.values(), Fraction(0)) / 9 * 25
    legacy = result_from(responses, legacy_weight_0111=True)
    assert legacy.ikm is not None
    assert Fraction(24975, 1000) <= legacy.ikm <= Fraction(999, 10)
    assert legacy.ikm == result.ikm * Fraction(999, 1000)  # 0.111 * 9 = 0.999


@given(st.lists(full_response, min_size=1, max_size=20))
def test_full_answers_nrr_in_range_and_weakest_sorted(responses: list[dict[str, int]]) -> None:
    result = result_from(responses)
    assert all(1 <= v <= 4 for v in result.nrr.values())
    ordered = [result.nrr[c] for c in result.weakest(9)]
    assert ordered == sorted(ordered)


ikm_values = st.fractions(min_value=25, max_value=100, max_denominator=10**6)
nrr_values = st.fractions(min_value=1, max_value=4, max_denominator=10**6)


@given(ikm_values, ikm_values)
def test_ikm_grade_is_monotone(a: Fraction, b: Fraction) -> None:
    low, high = min(a, b), max(a, b)
    assert RANK[grade_ikm(low)] <= RANK[grade_ikm(high)]


@given(nrr_values, nrr_values)
def test_nrr_grade_is_monotone(a: Fraction, b: Fraction) -> None:
    low, high = min(a, b), max(a, b)
    assert RANK[grade_nrr(low)] <= RANK[grade_nrr(high)]


@given(ikm_values)
def test_round_half_up_matches_decimal_quantize(value: Fraction) -> None:
    ctx = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_UP)
    as_decimal = ctx.divide(Decimal(value.numerator), Decimal(value.denominator))
    # With denominators <= 10**6 a 50-digit quotient is far closer than any tie distance.
    expected = as_decimal.quantize(Decimal("0.01"), context=ctx)
    assert round_half_up(value, 2) == expected
