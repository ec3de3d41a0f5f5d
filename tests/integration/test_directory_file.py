"""Directory files: strict validation with line numbers, and an idempotent import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import bundled_example, import_directory
from bot.directory_file import DirectoryFileError, parse_directory, read_directory_file
from storage import Storage

VALID = """\
opds:
  - code: disdukcapil
    name: Dinas Kependudukan dan Pencatatan Sipil
    units:
      - code: dukcapil-mpp
        name: Loket Disdukcapil MPP
        service_types: [KTP-el, Kartu Keluarga]
        population: {"2026": 24000}
"""


def test_the_example_directory_of_mimika_is_valid_and_realistic() -> None:
    opds = read_directory_file(bundled_example())
    units = [u for o in opds for u in o.units]
    assert len(opds) >= 10
    assert len(units) >= 30
    names = " ".join(o.name for o in opds)
    for expected in ("Kependudukan", "Penanaman Modal", "Rumah Sakit", "Kesehatan", "Distrik"):
        assert expected in names
    assert sum("Puskesmas" in u.name for u in units) >= 5
    assert all(u.service_types for u in units)


def test_a_valid_document_parses() -> None:
    [opd] = parse_directory(VALID)
    assert opd.units[0].service_types == ("KTP-el", "Kartu Keluarga")
    assert opd.units[0].population == {"2026": 24000}


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("code: dukcapil-mpp", "code: Dukcapil MPP", "line 5: opds[0].units[0].code"),
        ("    name: Dinas", "    nama: Dinas", "line 3: opds[0]"),
        ("service_types: [KTP-el, Kartu Keluarga]", "service_types: []", "line 7:"),
        ('{"2026": 24000}', '{"2026-Q5": 24000}', "line 8: opds[0].units[0].population"),
        ('{"2026": 24000}', '{"2026": -1}', "line 8:"),
    ],
)
def test_a_bad_file_names_the_line_and_field(replace: str, by: str, expected: str) -> None:
    with pytest.raises(DirectoryFileError) as error:
        parse_directory(VALID.replace(replace, by))
    assert any(problem.startswith(expected) for problem in error.value.problems), (
        error.value.problems
    )


def test_duplicate_unit_codes_are_refused_with_their_line() -> None:
    doubled = VALID + VALID.removeprefix("opds:\n").replace("code: disdukcapil", "code: dinas-2")
    with pytest.raises(DirectoryFileError) as error:
        parse_directory(doubled)
    assert error.value.problems == [
        "line 12: opds[1].units[0].code: duplicate unit code 'dukcapil-mpp'"
    ]


def test_broken_yaml_is_reported_with_its_line() -> None:
    with pytest.raises(DirectoryFileError) as error:
        parse_directory("opds:\n  - code: [unclosed\n")
    assert error.value.problems[0].startswith("line 3: not valid YAML")


async def test_import_is_idempotent_and_deactivates_what_disappeared(
    storage: Storage, tmp_path: Path
) -> None:
    path = tmp_path / "dir.yaml"
    path.write_text(VALID.replace("units:\n", "units:\n" + _unit("extra-unit")))
    first = await import_directory(storage, path)
    assert sorted(first.added) == ["opd disdukcapil", "unit dukcapil-mpp", "unit extra-unit"]
    again = await import_directory(storage, path)
    assert not again.touched
    path.write_text(VALID.replace("Loket Disdukcapil MPP", "Loket Dukcapil di MPP"))
    third = await import_directory(storage, path)
    assert third.changed == ["unit dukcapil-mpp"]
    assert third.deactivated == ["unit extra-unit"]
    directory = await storage.directory()
    extra = directory.unit("extra-unit")
    assert extra is not None and not extra.active


def _unit(code: str) -> str:
    return f"      - code: {code}\n        name: Unit {code}\n        service_types: [Layanan]\n"


@pytest.mark.slow  # a subprocess
def test_cli_import_prints_changes_and_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("dukcapil-mpp", "Bad Code").replace("Loket", "Loket baru"))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "units", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip

    added = cli("import", str(good))
    assert added.returncode == 0, added.stderr
    assert "added        unit dukcapil-mpp" in added.stdout
    assert "2 added, 0 changed, 0 deactivated" in added.stdout
    refused = cli("import", str(bad))
    assert refused.returncode == 1
    assert "nothing changed" in refused.stderr
    assert "line 5: opds[0].units[0].code" in refused.stderr
    listed = cli("list")
    assert "dukcapil-mpp" in listed.stdout
    assert "Loket Disdukcapil MPP" in listed.stdout
