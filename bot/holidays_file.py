"""Reading a holiday calendar file (see ``examples/holidays-2026.yaml``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import bot


class HolidayFileError(Exception):
    """The file cannot be imported; the message says where and why."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    name: str = Field(min_length=2, max_length=120)


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int | None = None
    holidays: list[_Entry] = Field(min_length=1)


def read_holidays(path: Path) -> list[tuple[date, str]]:
    """(day, name) pairs, validated; the whole file or nothing."""
    try:
        document = _Document.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise HolidayFileError(f"{path}: cannot read ({exc})") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise HolidayFileError(f"{path}: {where}: {error['msg']}") from None
    if document.year is not None:
        stray = [h.date for h in document.holidays if h.date.year != document.year]
        if stray:
            raise HolidayFileError(f"{path}: {stray[0]} is not in {document.year}")
    return [(h.date, h.name) for h in document.holidays]


def bundled_holidays() -> list[Path]:
    """The calendars shipped with the project (``examples/holidays-*.yaml``)."""
    package_dir = Path(bot.__file__).parent
    for folder in (package_dir / "examples", package_dir.parent / "examples"):
        found = sorted(folder.glob("holidays-*.yaml"))
        if found:
            return found
    return []
