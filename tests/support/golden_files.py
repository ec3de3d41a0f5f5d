"""Golden files: compare a transcript with its recorded copy, or rewrite it (UPDATE_GOLDEN=1)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path


def match_golden(path: Path, actual: str) -> None:
    """Fail with a unified diff when ``actual`` differs from ``path``; with ``UPDATE_GOLDEN=1``
    write ``actual`` there instead (read the diff before committing it)."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_text(encoding="utf-8")
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "golden", "actual", lineterm=""
        )
    )
    assert actual == expected, f"transcript differs from {path.name}:\n{diff}"
