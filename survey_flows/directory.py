"""The service directory as the engine sees it: OPDs and their service units.

A read-only snapshot handed to the engine with each step; storage builds it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

# Codes travel in Telegram deep links (``u_<code>``, 64 characters at most) and in the
# WhatsApp text ``SKM <code>``; lowercase letters, digits and hyphens survive both.
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """A public-service unit (unit pelayanan) citizens can rate."""

    code: str
    name: str
    opd_code: str
    service_types: tuple[str, ...]
    short_name: str | None = None
    active: bool = True

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True, slots=True)
class OpdInfo:
    """A regional government unit (Organisasi Perangkat Daerah) owning service units."""

    code: str
    name: str
    short_name: str | None = None
    active: bool = True
    # Where a citizen reaches a person (a phone number, an office); "" when unknown. Shown
    # under help (issue 14, item 18).
    contact: str = ""

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True, slots=True)
class Directory:
    """OPDs and units, in display order."""

    opds: tuple[OpdInfo, ...] = ()
    units: tuple[UnitInfo, ...] = ()
    _by_code: dict[str, UnitInfo] = field(default_factory=dict, compare=False, repr=False)
    _opd_by_code: dict[str, OpdInfo] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, opds: Iterable[OpdInfo], units: Iterable[UnitInfo]) -> Directory:
        opd_tuple = tuple(opds)
        unit_tuple = tuple(units)
        return cls(
            opds=opd_tuple,
            units=unit_tuple,
            _by_code={u.code: u for u in unit_tuple},
            _opd_by_code={o.code: o for o in opd_tuple},
        )

    def unit(self, code: str) -> UnitInfo | None:
        return self._by_code.get(code)

    def opd(self, code: str) -> OpdInfo | None:
        return self._opd_by_code.get(code)

    def is_open(self, unit: UnitInfo) -> bool:
        """A unit takes surveys when it and its OPD are active."""
        opd = self.opd(unit.opd_code)
        return unit.active and opd is not None and opd.active

    def open_opds(self) -> tuple[OpdInfo, ...]:
        open_opd_codes = {u.opd_code for u in self.units if self.is_open(u)}
        return tuple(o for o in self.opds if o.code in open_opd_codes)

    def open_units(self, opd_code: str) -> tuple[UnitInfo, ...]:
        return tuple(u for u in self.units if u.opd_code == opd_code and self.is_open(u))


# A typed name matches a word of a unit's name closely enough at this ratio ("dukcapl" for
# "dukcapil", "puskesmas timika jaya" for "Puskesmas Timika Jaya").
_WORD_RATIO = 0.8
_MIN_QUERY = 3


def _words(name: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch if ch.isalnum() else " " for ch in decomposed).split()


def match_names(query: str, names: Sequence[Iterable[str]]) -> list[int]:
    """Which entries a typed name means (issue 14, item 7): the indexes of ``names`` (each
    entry's names, e.g. its short and full name) that the query matches, tolerant of case,
    punctuation and small typos. An entry whose name is exactly the query wins alone."""
    wanted = _words(query)
    if len("".join(wanted)) < _MIN_QUERY:
        return []
    exact: list[int] = []
    close: list[int] = []
    for index, entry in enumerate(names):
        for name in entry:
            words = _words(name)
            if words == wanted:
                exact.append(index)
                break
            if all(_close_to_some(word, words) for word in wanted):
                close.append(index)
                break
    return exact or close


def _close_to_some(word: str, words: list[str]) -> bool:
    for candidate in words:
        if candidate.startswith(word) and len(word) >= _MIN_QUERY:
            return True
        if SequenceMatcher(None, word, candidate).ratio() >= _WORD_RATIO:
            return True
    return word.isdigit() and word in words
