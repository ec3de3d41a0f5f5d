"""The web directory editor's pure part (issue 16): form text to the directory file's values,
and validation problems back to the form's fields.

The rules themselves are the directory file's (``bot/directory_file.py``, the same check as
``skm-bot units import``): this module only turns what a form sends into the file's shape
and says which field a problem belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_POPULATION_LINE = re.compile(r"^\s*([^:=\s]+)\s*[:=]\s*([\d.,\s]+)$")
# Problems the console explains in the page's language; others keep the validator's words.
KNOWN_PROBLEMS = frozenset(
    {
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "too_short",
        "too_long",
        "greater_than",
        "value_error",
        "literal_error",
        "duplicate",
        "missing",
    }
)


def lines(text: str) -> list[str]:
    """One value a line (service types); blank lines dropped, spaces trimmed."""
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def parse_population(text: str) -> tuple[dict[str, int], str | None]:
    """``2026: 24000`` a line (``=`` works too, thousands may be grouped: ``24.000``) ->
    {period: population}; or the catalogue key of what is wrong. The periods themselves are
    checked by the directory's validation."""
    found: dict[str, int] = {}
    for line in lines(text):
        match = _POPULATION_LINE.match(line)
        digits = re.sub(r"[.,\s]", "", match[2]) if match else ""
        if match is None or not digits.isdigit():
            return {}, "web.dir.error.population_line"
        if match[1] in found:
            return {}, "web.dir.error.population_twice"
        found[match[1]] = int(digits)
    return found, None


def population_text(population: Mapping[str, int]) -> str:
    return "\n".join(f"{period}: {value}" for period, value in sorted(population.items()))


def field_of(path: str, prefix: str) -> str | None:
    """The form field a problem at ``path`` belongs to, when it is under ``prefix``:
    ``opds[0].units[1].population.2026`` under ``opds[0].units[1]`` -> ``population``."""
    if not path.startswith(prefix + ".") and not path.startswith(prefix + "["):
        return None
    rest = path[len(prefix) :].lstrip(".")
    return re.split(r"[.\[]", rest, maxsplit=1)[0] or None


def problems_by_field(
    problems: Iterable[tuple[str, str, str]], prefix: str, fields: Iterable[str]
) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """Split (path, kind, message) problems into those of the form's fields (the first per
    field, as (kind, message)) and the rest (elsewhere in the directory)."""
    wanted = set(fields)
    mine: dict[str, tuple[str, str]] = {}
    rest: list[tuple[str, str, str]] = []
    for path, kind, message in problems:
        name = field_of(path, prefix)
        if name in wanted:
            mine.setdefault(name, (kind, message))
        else:
            rest.append((path, kind, message))
    return mine, rest
