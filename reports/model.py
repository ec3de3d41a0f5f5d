"""The SKM report as immutable data: per unit, per OPD and for the regency.

Every figure is derived from :class:`survey_flows.ikm.IkmResult` (exact fractions); the
display values (2 decimals, half up) are computed here once so that every output format
prints the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from reports.period import Period
from survey_flows.ikm import CONVENTION_LEGACY_0111, LEGACY_WEIGHT, IkmResult, Mutu, round_half_up

__all__ = [
    "DIMENSION_TITLES",
    "ELEMENT_NAMES",
    "NOT_ANSWERED",
    "Figures",
    "OpdReport",
    "RegencyReport",
    "ReportRequest",
    "Suggestion",
    "UnitReport",
    "id_decimal",
]

NOT_ANSWERED = "-"
"""Breakdown key for a skipped profile item (or an unrecorded service type)."""

ELEMENT_NAMES: Mapping[str, str] = {
    "U1": "Persyaratan",
    "U2": "Sistem, Mekanisme, dan Prosedur",
    "U3": "Waktu Penyelesaian",
    "U4": "Biaya/Tarif",
    "U5": "Produk Spesifikasi Jenis Pelayanan",
    "U6": "Kompetensi Pelaksana",
    "U7": "Perilaku Pelaksana",
    "U8": "Penanganan Pengaduan, Saran dan Masukan",
    "U9": "Sarana dan prasarana",
}
"""The regulation's element names (SKM.md 1.1), by code."""

DIMENSION_TITLES: Mapping[str, str] = {
    "age": "Umur",
    "gender": "Jenis kelamin",
    "education": "Pendidikan",
    "occupation": "Pekerjaan",
    "service_type": "Jenis layanan",
    "channel": "Saluran",
}
"""Indonesian titles of the breakdown dimensions."""


def id_decimal(value: Decimal | None) -> str:
    """A displayed number the Indonesian way (``88,31``); ``-`` for no value."""
    return "-" if value is None else str(value).replace(".", ",")


NRR_PLACES = 2
NRR_DETAIL_PLACES = 4
IKM_PLACES = 2
WEAKEST = 3


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What the user asked for: the period and the filters.

    Attributes:
        period: the local-date range.
        unit_codes: only these units (empty: all).
        opd_codes: only these OPDs' units (empty: all).
        service_type: only responses about this service type.
        channel: only responses from this channel (``paper`` for imported questionnaires).
        profile: ``(field, value)`` pairs the respondents must match (``("gender", "P")``).
        suggestion_limit: newest suggestions kept per unit (``None``: all).
        legacy_weight_0111: compute with the old spreadsheets' weight 0,111 (labelled).
    """

    period: Period
    unit_codes: tuple[str, ...] = ()
    opd_codes: tuple[str, ...] = ()
    service_type: str | None = None
    channel: str | None = None
    profile: tuple[tuple[str, str], ...] = ()
    suggestion_limit: int | None = 100
    legacy_weight_0111: bool = False

    def filters(self) -> dict[str, str]:
        """The filters in force, for printing on every output (empty when none)."""
        shown: dict[str, str] = {}
        if self.opd_codes:
            shown["opd"] = ", ".join(self.opd_codes)
        if self.unit_codes:
            shown["unit"] = ", ".join(self.unit_codes)
        if self.service_type is not None:
            shown["service_type"] = self.service_type
        if self.channel is not None:
            shown["channel"] = self.channel
        for name, value in self.profile:
            shown[name] = value
        return shown


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggestion (saran) a respondent wrote."""

    unit_code: str
    local_date: date
    text: str


@dataclass(frozen=True)
class Figures:
    """Respondents, breakdown and index of one group of responses.

    Attributes:
        respondents: responses counted.
        result: the exact IKM arithmetic over the group's element tallies.
        breakdown: respondents by dimension (``age``, ``gender``...) and value; a skipped
            item counts under :data:`NOT_ANSWERED`.
    """

    respondents: int
    result: IkmResult
    breakdown: Mapping[str, Mapping[str, int]]

    @property
    def elements(self) -> tuple[str, ...]:
        return self.result.elements

    @property
    def ikm(self) -> Decimal | None:
        """IKM rounded half up to 2 decimals; ``None`` when an element has no answer."""
        return self.result.ikm_display()

    @property
    def mutu(self) -> Mutu | None:
        return self.result.mutu

    @property
    def kinerja(self) -> str | None:
        mutu = self.result.mutu
        return None if mutu is None else mutu.kinerja

    def nrr(self, code: str, places: int = NRR_PLACES) -> Decimal | None:
        """NRR of one element rounded half up; ``None`` when nobody answered it."""
        if code not in self.result.nrr:
            return None
        return self.result.nrr_display(code, places)

    def nrr_table(self, places: int = NRR_PLACES) -> dict[str, Decimal | None]:
        """NRR of every element, in element order."""
        return {code: self.nrr(code, places) for code in self.elements}

    def weighted_nrr(self, code: str, places: int = NRR_DETAIL_PLACES) -> Decimal | None:
        """NRR x weight (1/k, or 0,111 in the legacy convention), rounded for display."""
        nrr = self.result.nrr.get(code)
        if nrr is None:
            return None
        return round_half_up(nrr * self.weight, places)

    @property
    def weight(self) -> Fraction:
        """The weight of every element: exactly 1/k, or 0,111 in the legacy convention."""
        if self.result.convention == CONVENTION_LEGACY_0111:
            return LEGACY_WEIGHT
        return Fraction(1, len(self.elements))

    def element_mutu(self, code: str) -> Mutu | None:
        if code not in self.result.nrr:
            return None
        return self.result.element_mutu(code)

    def weakest(self, n: int = WEAKEST) -> list[str]:
        return self.result.weakest(n)


@dataclass(frozen=True, kw_only=True)
class UnitReport(Figures):
    """One service unit's SKM result for the period.

    Attributes:
        code, name: the unit.
        opd_code, opd_name: its OPD.
        active: whether the unit (and its OPD) currently takes surveys.
        population: the service population configured for the smallest configured period
            covering the report's period, if any.
        population_period: the label of that configured period.
        sample_required: the Krejcie & Morgan minimum sample for ``population``.
        suggestions: the newest suggestions (up to the request's limit).
        suggestion_total: all suggestions received in the period.
    """

    code: str
    name: str
    opd_code: str
    opd_name: str
    active: bool = True
    population: int | None = None
    population_period: str | None = None
    sample_required: int | None = None
    suggestions: tuple[Suggestion, ...] = ()
    suggestion_total: int = 0

    @property
    def sample_met(self) -> bool | None:
        """Whether the respondents reach the required sample (``None``: no population)."""
        if self.sample_required is None:
            return None
        return self.respondents >= self.sample_required


@dataclass(frozen=True, kw_only=True)
class OpdReport(Figures):
    """One OPD: the pooled index of all its units' responses, and each unit's own."""

    code: str
    name: str
    units: tuple[UnitReport, ...]


@dataclass(frozen=True, kw_only=True)
class RegencyReport(Figures):
    """The whole report: the pooled regency index, each OPD and each unit.

    With unit or OPD filters, the "regency" figures are those of everything in scope.
    """

    organisation: str
    request: ReportRequest
    opds: tuple[OpdReport, ...]
    suggestion_total: int = 0

    @property
    def period(self) -> Period:
        return self.request.period

    @property
    def units(self) -> tuple[UnitReport, ...]:
        """Every unit in the report, OPD by OPD, in directory order."""
        return tuple(unit for opd in self.opds for unit in opd.units)

    @property
    def convention(self) -> str:
        return self.result.convention

    @property
    def element_columns(self) -> tuple[str, ...]:
        """Every element of any unit (the nine standard ones first, then extras)."""
        seen = list(self.elements)
        for unit in self.units:
            seen.extend(code for code in unit.elements if code not in seen)
        return tuple(seen)
