"""The supply chain: bounded ranges, hashed locks that satisfy them, a pinned base image.

A dependency added to pyproject.toml without re-running `scripts/lock` fails here, before CI
installs from a lock that lacks it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
TEST_EXTRA = [Requirement(text) for text in PYPROJECT["project"]["optional-dependencies"]["test"]]


def locked(path: Path) -> dict[str, list[tuple[Requirement, list[str]]]]:
    """A hashed lock file's pins by canonical name (one name may have a pin per marker)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins: dict[str, list[tuple[Requirement, list[str]]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        hashes = re.findall(r"--hash=(sha256:[0-9a-f]{64})", line)
        requirement = Requirement(re.sub(r"\s*--hash=\S+", "", line).strip())
        pins.setdefault(canonicalize_name(requirement.name), []).append((requirement, hashes))
    return pins


@pytest.mark.parametrize("requirement", RUNTIME + TEST_EXTRA, ids=str)
def test_every_direct_dependency_has_an_upper_bound(requirement: Requirement) -> None:
    assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), (
        f"{requirement} has no upper bound: a new major release could break installs"
    )


@pytest.mark.parametrize(
    ("lock_name", "direct"),
    [("requirements.lock", RUNTIME), ("requirements-dev.lock", RUNTIME + TEST_EXTRA)],
)
def test_lock_pins_every_direct_dependency_inside_its_range_with_hashes(
    lock_name: str, direct: list[Requirement]
) -> None:
    pins = locked(ROOT / lock_name)
    for requirement in direct:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is missing from {lock_name}: run scripts/lock"
        for pin, _ in pins[name]:
            (version,) = (spec.version for spec in pin.specifier if spec.operator == "==")
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock_name} pins {pin.name}=={version}, outside {requirement.specifier}"
            )
    for entries in pins.values():
        for pin, hashes in entries:
            assert [spec.operator for spec in pin.specifier] == ["=="], f"{pin} is not pinned"
            assert hashes, f"{pin} has no hash in {lock_name}"


def test_runtime_lock_carries_no_test_tool() -> None:
    runtime_names = {canonicalize_name(r.name) for r in RUNTIME}
    pins = locked(ROOT / "requirements.lock")
    for requirement in TEST_EXTRA:
        name = canonicalize_name(requirement.name)
        if name not in runtime_names:
            assert name not in pins, f"{requirement.name} (a test tool) is in requirements.lock"


def test_image_and_ci_install_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", base), f"base image {base} not pinned"
    assert "--require-hashes -r requirements.lock" in dockerfile
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-dev.lock" in ci
