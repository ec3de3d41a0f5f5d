"""Pure arithmetic of the SKM satisfaction index (IKM), PermenPANRB No. 14 Tahun 2017.

Implements PermenPANRB 14/2017's index and Krejcie & Morgan's sample size (docs/regulation.md).

* Elements (unsur) are keyed by code (``"U1"`` .. ``"U9"`` plus any unit-specific extra
  codes), never by position.
* NRR of element *i* = sum of its scores / number of respondents who answered element *i*.
  Every element has its own denominator; a skipped answer is not a zero.
* Weight per element = 1/k for k elements; nilai indeks = sum of NRR_i * 1/k (1-4 scale);
  IKM = nilai indeks * 25 (25-100 scale).
* All arithmetic is exact (:class:`fractions.Fraction`); rounding happens only at the end,
  half up, with integer arithmetic (never float rounding).

An element that nobody answered has no NRR. The index needs every element, so in that case
the nilai indeks and the IKM are ``None`` (not computable) and the element is listed in
:attr:`IkmResult.unanswered`; the NRRs of the answered elements are still reported.

This module uses the standard library only and performs no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

__all__ = [
    "CONVENTION_EXACT",
    "CONVENTION_LEGACY_0111",
    "KINERJA",
    "LEGACY_WEIGHT",
    "MAX_SCORE",
    "MIN_SCORE",
    "STANDARD_ELEMENTS",
    "ElementTally",
    "IkmResult",
    "Mutu",
    "compute_ikm",
    "grade_ikm",
    "grade_nrr",
    "round_half_up",
    "sample_size",
    "tally",
]

STANDARD_ELEMENTS: tuple[str, ...] = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")
"""The nine standard elements, in code order (not the questionnaire's asking order)."""

MIN_SCORE = 1
"""Worst answer score."""
MAX_SCORE = 4
"""Best answer score."""

CONVENTION_EXACT = "exact"
"""Label of the regulation-faithful computation with the exact weight 1/k."""
CONVENTION_LEGACY_0111 = "legacy_weight_0111"
"""Label of the old-spreadsheet computation with the printed weight 0,111."""

LEGACY_WEIGHT = Fraction(111, 1000)
"""The weight 1/9 as printed (rounded) in the regulation's worksheets."""

_IKM_FACTOR = 25

# Grade thresholds (lower bounds, inclusive), applied after rounding half up.
_IKM_PLACES = 2
_NRR_GRADE_PLACES = 4
_IKM_A = Decimal("88.31")
_IKM_B = Decimal("76.61")
_IKM_C = Decimal("65.00")
_NRR_A = Decimal("3.5324")
_NRR_B = Decimal("3.0644")
_NRR_C = Decimal("2.60")

# Krejcie & Morgan constants: chi-square (1 df, 95 %) 3,841, P = 0,5, d = 0,05.
_KM_CHI2 = Fraction(3841, 1000)
_KM_P = Fraction(1, 2)
_KM_D = Fraction(5, 100)


class Mutu(StrEnum):
    """Quality grade (mutu pelayanan) of the index or of one element."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def kinerja(self) -> str:
        """Indonesian label of the unit's performance (kinerja unit pelayanan)."""
        return KINERJA[self]


KINERJA: Mapping[Mutu, str] = {
    Mutu.A: "Sangat Baik",
    Mutu.B: "Baik",
    Mutu.C: "Kurang Baik",
    Mutu.D: "Tidak Baik",
}
"""Kinerja label for each grade, as in the regulation's table."""


@dataclass(frozen=True)
class ElementTally:
    """Aggregated answers of one element, as a SQL ``GROUP BY element`` returns them.

    Attributes:
        code: element code, e.g. ``"U4"``.
        score_sum: sum of the scores (1-4) given to this element.
        answered: number of respondents who answered this element (skips excluded).
    """

    code: str
    score_sum: int
    answered: int


def tally(responses: Iterable[Mapping[str, int]]) -> dict[str, ElementTally]:
    """Aggregate in-memory responses into per-element tallies.

    Each response maps element codes to scores; a skipped element is simply absent from
    the mapping. Elements appear in the result in order of first appearance.

    Raises:
        ValueError: a score is not an integer from 1 to 4.
    """
    sums: dict[str, int] = {}
    counts: dict[str, int] = {}
    for response in responses:
        for code, score in response.items():
            if isinstance(score, bool) or not isinstance(score, int):
                raise ValueError(f"score for {code!r} must be an int, got {score!r}")
            if not MIN_SCORE <= score <= MAX_SCORE:
                raise ValueError(
                    f"score for {code!r} must lie in [{MIN_SCORE}, {MAX_SCORE}], got {score}"
                )
            sums[code] = sums.get(code, 0) + score
            counts[code] = counts.get(code, 0) + 1
    return {code: ElementTally(code, sums[code], counts[code]) for code in sums}


def _to_fraction(value: Fraction | Decimal) -> Fraction:
    """Convert exactly to a Fraction; reject floats, bools and non-finite decimals."""
    if isinstance(value, bool | float):
        raise TypeError(f"expected Fraction, Decimal or int, got {type(value).__name__}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"value must be finite, got {value}")
        return Fraction(value)
    if isinstance(value, Fraction | int):
        return Fraction(value)
    raise TypeError(f"expected Fraction, Decimal or int, got {type(value).__name__}")


def round_half_up(value: Fraction | Decimal, places: int) -> Decimal:
    """Round exactly to ``places`` decimals, ties away from zero (``ROUND_HALF_UP``).

    The rounding is done with integer arithmetic on the exact rational value, so
    ``Fraction(100125, 1000)`` gives ``Decimal("100.13")``. The result is built digit by
    digit, independent of the ambient decimal context.

    Raises:
        ValueError: ``places`` is negative or the value is not finite.
        TypeError: the value is a float (or bool).
    """
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    exact = _to_fraction(value)
    sign = 1 if exact < 0 else 0
    scaled = abs(exact) * 10**places
    units = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    digits = tuple(int(d) for d in str(units))
    return Decimal((sign, digits, -places))


def grade_ikm(value: Decimal | Fraction) -> Mutu:
    """Grade an IKM (25-100 scale): round half up to 2 decimals, then apply the thresholds.

    ``>= 88.31`` A (Sangat Baik), ``>= 76.61`` B (Baik), ``>= 65.00`` C (Kurang Baik),
    otherwise D (Tidak Baik). The value is not range-checked.
    """
    rounded = round_half_up(value, _IKM_PLACES)
    if rounded >= _IKM_A:
        return Mutu.A
    if rounded >= _IKM_B:
        return Mutu.B
    if rounded >= _IKM_C:
        return Mutu.C
    return Mutu.D


def grade_nrr(value: Decimal | Fraction) -> Mutu:
    """Grade one element's NRR (1-4 scale): round half up to 4 decimals, then threshold.

    ``>= 3.5324`` A, ``>= 3.0644`` B, ``>= 2.60`` C, otherwise D. Not range-checked.
    """
    rounded = round_half_up(value, _NRR_GRADE_PLACES)
    if rounded >= _NRR_A:
        return Mutu.A
    if rounded >= _NRR_B:
        return Mutu.B
    if rounded >= _NRR_C:
        return Mutu.C
    return Mutu.D


_CODE_RE = re.compile(r"(\D*)(\d*)(.*)", re.DOTALL)


def _code_order(code: str) -> tuple[str, int, str]:
    """Natural sort key of an element code: ``U2`` before ``U10``."""
    match = _CODE_RE.fullmatch(code)
    assert match is not None  # the pattern matches every string
    prefix, number, rest = match.groups()
    return (prefix, int(number) if number else -1, rest)


@dataclass(frozen=True)
class IkmResult:
    """Result of :func:`compute_ikm`.

    Attributes:
        respondents: number of respondents, as given by the caller.
        elements: the k element codes counted in the index.
        nrr: exact NRR per answered element (unanswered elements are absent).
        answered: number of answers per element (0 for unanswered elements).
        unanswered: elements nobody answered; if non-empty the index is not computable.
        nilai_indeks: exact index on the 1-4 scale, or ``None`` if not computable.
        ikm: exact IKM on the 25-100 scale, or ``None`` if not computable.
        convention: ``"exact"`` (weight 1/k) or ``"legacy_weight_0111"`` (weight 0,111).
    """

    respondents: int
    elements: tuple[str, ...]
    nrr: dict[str, Fraction]
    answered: dict[str, int]
    unanswered: tuple[str, ...]
    nilai_indeks: Fraction | None
    ikm: Fraction | None
    convention: str = CONVENTION_EXACT

    @property
    def computable(self) -> bool:
        """True when every element has at least one answer, so the IKM exists."""
        return self.ikm is not None

    def ikm_display(self) -> Decimal | None:
        """IKM rounded half up to 2 decimals, or ``None`` if not computable."""
        if self.ikm is None:
            return None
        return round_half_up(self.ikm, _IKM_PLACES)

    def nilai_indeks_display(self, places: int = 4) -> Decimal | None:
        """Nilai indeks rounded half up (4 decimals by default), or ``None``."""
        if self.nilai_indeks is None:
            return None
        return round_half_up(self.nilai_indeks, places)

    def nrr_display(self, code: str, places: int = 2) -> Decimal:
        """NRR of ``code`` rounded half up (2 decimals; pass 4 for detailed reports).

        Raises:
            KeyError: the element is unknown or nobody answered it.
        """
        return round_half_up(self._nrr_of(code), places)

    @property
    def mutu(self) -> Mutu | None:
        """Grade of the IKM, or ``None`` if not computable."""
        if self.ikm is None:
            return None
        return grade_ikm(self.ikm)

    def element_mutu(self, code: str) -> Mutu:
        """Grade of one element from its exact NRR.

        Raises:
            KeyError: the element is unknown or nobody answered it.
        """
        return grade_nrr(self._nrr_of(code))

    def weakest(self, n: int = 3) -> list[str]:
        """Codes of the ``n`` answered elements with the lowest exact NRR, lowest first.

        Ties are broken by natural element code order (``U2`` before ``U10``).
        Unanswered elements are not included.

        Raises:
            ValueError: ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        ranked = sorted(self.nrr, key=lambda code: (self.nrr[code], _code_order(code)))
        return ranked[:n]

    def _nrr_of(self, code: str) -> Fraction:
        try:
            return self.nrr[code]
        except KeyError:
            if code in self.elements:
                raise KeyError(f"element {code!r} has no answers, so no NRR") from None
            raise KeyError(f"unknown element {code!r}") from None


def compute_ikm(
    tallies: Mapping[str, ElementTally],
    respondents: int,
    elements: Sequence[str] = STANDARD_ELEMENTS,
    *,
    legacy_weight_0111: bool = False,
) -> IkmResult:
    """Compute the NRRs, nilai indeks and IKM from per-element tallies.

    Args:
        tallies: per-element aggregates keyed by element code. An element of ``elements``
            that is missing from ``tallies`` counts as unanswered.
        respondents: number of respondents in the period (reported, and used to check that
            no element has more answers than respondents).
        elements: the k element codes of the survey (the 9 standard ones by default; a unit
            adds its extra codes here). Each weighs 1/k.
        legacy_weight_0111: reproduce the old spreadsheet convention for reconciliation
            with old reports: every exact NRR_i is multiplied by the printed weight
            0,111 (``Fraction(111, 1000)``) instead of 1/9, summed, times 25, and rounded
            only at the end (the NRRs themselves are not rounded). All 4s then give 99.90
            and all 1s 24.975 (24.98). Only defined for k = 9.

    Raises:
        ValueError: invalid input: empty or duplicate ``elements``; a tally for a code not
            in ``elements``; a tally keyed under another code; negative counts; a
            ``score_sum`` outside ``[answered, 4 * answered]``; more answers than
            respondents; ``legacy_weight_0111`` with k != 9.
    """
    codes = tuple(elements)
    k = len(codes)
    if k == 0:
        raise ValueError("elements must not be empty")
    if len(set(codes)) != k:
        raise ValueError(f"duplicate element codes in {codes!r}")
    if respondents < 0:
        raise ValueError(f"respondents must be >= 0, got {respondents}")
    if legacy_weight_0111 and k != len(STANDARD_ELEMENTS):
        raise ValueError(
            f"the 0,111 weight convention is only defined for {len(STANDARD_ELEMENTS)} "
            f"elements, got {k}"
        )
    unknown = [code for code in tallies if code not in codes]
    if unknown:
        raise ValueError(f"tallies for elements not in the survey: {unknown!r}")

    nrr: dict[str, Fraction] = {}
    answered: dict[str, int] = {}
    for code in codes:
        t = tallies.get(code)
        if t is None:
            answered[code] = 0
            continue
        if t.code != code:
            raise ValueError(f"tally keyed {code!r} is for element {t.code!r}")
        if t.answered < 0:
            raise ValueError(f"{code}: answered must be >= 0, got {t.answered}")
        if not MIN_SCORE * t.answered <= t.score_sum <= MAX_SCORE * t.answered:
            raise ValueError(
                f"{code}: score_sum {t.score_sum} outside [{MIN_SCORE * t.answered}, "
                f"{MAX_SCORE * t.answered}] for {t.answered} answers"
            )
        if t.answered > respondents:
            raise ValueError(f"{code}: {t.answered} answers but only {respondents} respondents")
        answered[code] = t.answered
        if t.answered:
            nrr[code] = Fraction(t.score_sum, t.answered)

    unanswered = tuple(code for code in codes if code not in nrr)
    nilai_indeks: Fraction | None = None
    ikm: Fraction | None = None
    if not unanswered:
        weight = LEGACY_WEIGHT if legacy_weight_0111 else Fraction(1, k)
        nilai_indeks = sum((nrr[code] * weight for code in codes), Fraction(0))
        ikm = nilai_indeks * _IKM_FACTOR

    return IkmResult(
        respondents=respondents,
        elements=codes,
        nrr=nrr,
        answered=answered,
        unanswered=unanswered,
        nilai_indeks=nilai_indeks,
        ikm=ikm,
        convention=CONVENTION_LEGACY_0111 if legacy_weight_0111 else CONVENTION_EXACT,
    )


@lru_cache(maxsize=4096, typed=True)  # exact Fractions, asked per unit by every report
def sample_size(population: int) -> int:
    """Minimum sample for a population, by Krejcie & Morgan (1970).

    s = chi2 * N * P(1-P) / (d^2 (N-1) + chi2 * P(1-P)) with chi2 = 3,841, P = 0,5,
    d = 0,05, computed exactly and rounded half up to an integer.

    Raises:
        ValueError: ``population`` < 1.
    """
    if isinstance(population, bool) or not isinstance(population, int):
        raise TypeError(f"population must be an int, got {type(population).__name__}")
    if population < 1:
        raise ValueError(f"population must be >= 1, got {population}")
    pq = _KM_P * (1 - _KM_P)
    s = _KM_CHI2 * population * pq / (_KM_D**2 * (population - 1) + _KM_CHI2 * pq)
    return int(round_half_up(s, 0))
