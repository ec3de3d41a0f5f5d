"""Reading and validating a directory YAML file (see ``examples/mimika.yaml``).

Validation is strict (unknown keys are errors) and every problem is reported with the line
and field at fault, so an operator can fix the file without guessing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec
from survey_flows.directory import CODE_PATTERN

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN.pattern)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ServiceType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)]
_PERIOD = re.compile(r"^\d{4}(-(S[12]|Q[1-4]|(0[1-9]|1[0-2])))?$")


class DirectoryFileError(Exception):
    """The file cannot be imported; ``problems`` lists each as ``line N: field: message``."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecipientEntry(_Strict):
    role: Literal["head", "officer"]
    channel: Literal["telegram", "whatsapp"]
    address: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z._-]{1,128}$")]
    name: Name
    language: Literal["id", "en"] = "id"


class UnitEntry(_Strict):
    code: Code
    name: Name
    short_name: ShortName | None = None
    service_types: Annotated[list[ServiceType], Field(min_length=1, max_length=50)]
    population: dict[str, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)
    active: bool = True

    @field_validator("service_types")
    @classmethod
    def _unique_services(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("service types must be unique within a unit")
        return value

    @field_validator("population")
    @classmethod
    def _periods(cls, value: dict[str, int]) -> dict[str, int]:
        for period in value:
            if not _PERIOD.match(str(period)):
                raise ValueError(
                    f"period {period!r} must look like 2026, 2026-S1, 2026-Q1 or 2026-03"
                )
        return value


class OpdEntry(_Strict):
    code: Code
    name: Name
    short_name: ShortName | None = None
    # Where a citizen reaches a person (a public phone number, an office's address); shown
    # under help. Empty or absent: help points to the unit's counter.
    contact: Contact = ""
    active: bool = True
    recipients: list[RecipientEntry] = Field(default_factory=list)
    units: Annotated[list[UnitEntry], Field(min_length=1)]


class DirectoryDocument(_Strict):
    opds: Annotated[list[OpdEntry], Field(min_length=1)]


def parse_directory(source: str, path: str = "<directory>") -> tuple[OpdSpec, ...]:
    """Validate a directory document; raises :class:`DirectoryFileError` on any problem."""
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise DirectoryFileError(path, [f"{line}not valid YAML ({exc})"]) from None
    specs, problems = _validate(data)
    if problems:
        raise DirectoryFileError(
            path,
            [f"line {_line_of(node, loc)}: {_field_name(loc)}: {msg}" for loc, _, msg in problems],
        )
    return specs


def check_directory(data: Any) -> tuple[tuple[OpdSpec, ...], list[tuple[str, str, str]]]:
    """Validate a directory given as data in the file's shape (the web console's editor):
    the specs, or every problem as (field, kind, message), e.g. (``opds[0].units[1].name``,
    ``string_too_short``, ...); a code used twice is named at each use. The same rules as a
    file: one validation for both."""
    specs, problems = _validate(data, every=True)
    return specs, [(_field_name(loc), kind, message) for loc, kind, message in problems]


Loc = tuple[int | str, ...]


def _validate(
    data: Any, *, every: bool = False
) -> tuple[tuple[OpdSpec, ...], list[tuple[Loc, str, str]]]:
    try:
        document = DirectoryDocument.model_validate(data)
    except ValidationError as exc:
        return (), [(tuple(err["loc"]), err["type"], err["msg"]) for err in exc.errors()]
    problems = _duplicates(document, every=every)
    if problems:
        return (), [(loc, "duplicate", message) for loc, message in problems]
    return _specs(document), []


def _specs(document: DirectoryDocument) -> tuple[OpdSpec, ...]:
    return tuple(
        OpdSpec(
            code=opd.code,
            name=opd.name,
            short_name=opd.short_name,
            contact=" ".join(opd.contact.split()),
            active=opd.active,
            recipients=tuple(
                RecipientSpec(r.role, r.channel, r.address, r.name, r.language)
                for r in opd.recipients
            ),
            units=tuple(
                UnitSpec(
                    code=u.code,
                    name=u.name,
                    short_name=u.short_name,
                    service_types=tuple(u.service_types),
                    active=u.active,
                    population={str(k): v for k, v in u.population.items()},
                )
                for u in opd.units
            ),
        )
        for opd in document.opds
    )


def read_directory_file(path: Path) -> tuple[OpdSpec, ...]:
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryFileError(str(path), [f"cannot read the file ({exc.strerror})"]) from None
    return parse_directory(source, str(path))


def _duplicates(document: DirectoryDocument, *, every: bool = False) -> list[tuple[Loc, str]]:
    """Codes used twice: each use after the first (``every``: each use, the first too, so an
    editor adding an entry hears of it by that entry whatever its place)."""
    opds: dict[str, list[Loc]] = {}
    units: dict[str, list[Loc]] = {}
    for i, opd in enumerate(document.opds):
        opds.setdefault(opd.code, []).append(("opds", i, "code"))
        for j, unit in enumerate(opd.units):
            units.setdefault(unit.code, []).append(("opds", i, "units", j, "code"))
    problems: list[tuple[Loc, str]] = []
    for what, uses in (("OPD", opds), ("unit", units)):
        for code, locs in uses.items():
            for loc in locs[0 if every else 1 :] if len(locs) > 1 else ():
                problems.append((loc, f"duplicate {what} code {code!r}"))
    return sorted(problems, key=lambda p: [str(part).zfill(6) for part in p[0]])


def _field_name(loc: tuple[int | str, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(document)"


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest YAML node along ``loc``."""
    if node is None:
        return 1
    current: Any = node
    for part in loc:
        child = None
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if key.value == part:
                    child = value
                    break
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(current.value)
        ):
            child = current.value[part]
        if child is None:
            break
        current = child
    return int(current.start_mark.line) + 1
