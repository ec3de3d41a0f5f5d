"""The layout is the architecture: each package imports only what its layer may.

Read from the source (``ast``), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"bot", "handlers", "reports", "storage", "survey_flows"}


def imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level module names imported by each file of ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", ["bot", "handlers", "survey_flows", "reports"])
def test_only_storage_speaks_sql(package: str) -> None:
    offenders = {
        path: sorted(names & {"sqlalchemy", "asyncpg", "aiosqlite", "alembic"})
        for path, names in imported_modules(package).items()
        if names & {"sqlalchemy", "asyncpg", "aiosqlite", "alembic"}
    }
    assert offenders == {}


def test_survey_flows_is_pure() -> None:
    """Standard library and its own package only: no platform, no SQL, no clock of its own."""
    allowed = set(sys.stdlib_module_names) | {"survey_flows", "__future__"}
    offenders = {
        path: sorted(names - allowed)
        for path, names in imported_modules("survey_flows").items()
        if names - allowed
    }
    assert offenders == {}


def test_the_checker_sees_imports() -> None:
    """The scan is not vacuous: storage itself does import SQLAlchemy."""
    storage = imported_modules("storage")
    assert any("sqlalchemy" in names for names in storage.values())
    assert FIRST_PARTY & set().union(*imported_modules("bot").values())


def test_the_project_never_points_to_the_founders_notes() -> None:
    """Users do not have the maintainers' shared notes: facts and sources live in docs/."""
    pattern = "shared" + "/"  # spelled apart so this file does not match itself
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".json", ".env"}
        and not {".git", ".venv", ".ci-venv", "node_modules"} & set(path.parts)
        and any(
            marker in path.read_text(errors="replace")
            for marker in ("../" + pattern, "/work/" + pattern, " " + pattern + "SKM")
        )
    ]
    assert offenders == []
