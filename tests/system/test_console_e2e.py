"""End to end: `skm-bot run --console` as a subprocess, then the database read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import Storage, db
from tests.support.console import run_console

pytestmark = pytest.mark.slow

# Menu path: survey, first OPD (Disdukcapil), first unit (its main office), consent, profile
# (age 26-35, skip sex, D4/S1, Wirausaha), service type 2, nine answers, a suggestion, send.
MENU_SCRIPT = [
    "1", "1", "1", "1",
    "2", "3", "5", "5",
    "2",
    "4", "3", "3", "4", "4", "3", "4", "2", "1",
    "Antrean perlu nomor urut 🙏",
    "1",
]  # fmt: skip
SCORES = {"U1": 4, "U2": 3, "U3": 3, "U4": 4, "U5": 4, "U6": 3, "U7": 4, "U9": 2, "U8": 1}


async def read_back(url: str) -> Storage:
    return Storage(db.create_engine(url))


async def test_console_survey_on_sqlite_lands_keyed_by_code(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    result = run_console(url, MENU_SCRIPT, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Selamat datang" in result.stdout
    assert "Pertanyaan 9 dari 9" in result.stdout
    assert "Terima kasih!" in result.stdout
    assert "Loaded the example directory" in result.stderr
    storage = await read_back(url)
    try:
        [response] = await storage.responses()
    finally:
        await storage.dispose()
    assert response.unit_code == "dukcapil-kantor"
    assert response.scores == SCORES
    assert response.profile == {"age": "26-35", "education": "D4-S1", "occupation": "WIRAUSAHA"}
    assert response.suggestion == "Antrean perlu nomor urut 🙏"
    assert response.respondent_key and "local" not in response.respondent_key
    # The pseudonym key was generated beside the database, private to its owner.
    key_file = tmp_path / "bot.sqlite3.pseudonym-key"
    assert key_file.stat().st_mode & 0o077 == 0


async def test_console_survey_on_postgres_with_unit_deep_link(
    pg_storage: Storage, pg_url: str, tmp_path: Path
) -> None:
    # --unit opens the unit's survey directly, as scanning its QR code does.
    # consent, skip age, Perempuan, SMA, skip occupation, first service type, nine 4s,
    # skip the suggestion, send.
    script = ["1", "6", "2", "3", "12", "1", *["4"] * 9, "1", "1"]
    result = run_console(
        pg_url,
        script,
        "--unit",
        "rsud-igd",
        "--contact",
        "warga-1",
        cwd=tmp_path,
        secret="s3-console-pseudonym",
    )
    assert result.returncode == 0, result.stderr
    assert "Terima kasih!" in result.stdout
    [response] = await pg_storage.responses()
    assert response.unit_code == "rsud-igd"
    assert response.service_type == "Pelayanan gawat darurat 24 jam"
    assert response.scores == {code: 4 for code in SCORES}
    assert response.profile == {"gender": "P", "education": "SMA"}


async def test_a_restart_mid_survey_continues_where_the_citizen_was(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    first = run_console(url, MENU_SCRIPT[:12], cwd=tmp_path)  # up to the third question
    assert first.returncode == 0, first.stderr
    assert "Pertanyaan 4 dari 9" in first.stdout
    second = run_console(url, MENU_SCRIPT[12:], cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Bapak/Ibu sedang mengisi survei" in second.stdout
    assert "Terima kasih!" in second.stdout
    storage = await read_back(url)
    try:
        [response] = await storage.responses()
    finally:
        await storage.dispose()
    assert response.scores == SCORES


async def test_a_second_survey_of_the_same_unit_on_the_same_day_is_refused_kindly(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    assert run_console(url, MENU_SCRIPT, cwd=tmp_path).returncode == 0
    again = run_console(url, ["1", "1", "1"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "sudah mengisi survei" in again.stdout
    other_contact = run_console(url, MENU_SCRIPT, "--contact", "tetangga", cwd=tmp_path)
    assert "Terima kasih!" in other_contact.stdout
    storage = await read_back(url)
    try:
        assert len(await storage.responses()) == 2
    finally:
        await storage.dispose()
