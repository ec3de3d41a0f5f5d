"""Operations: SQL parameters never reach an error or a log; an unreachable database at start is
one line; NUL and control characters typed in the console or in a paper import are dropped."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Storage, db
from storage.errors import StorageError, translated
from tests.support.console import run_console

BODY = "Rahasia warga: NIK 9401010101010001, HP 081234567890"


async def test_a_failing_statement_never_carries_its_parameters(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.create_engine(pg_url, echo=False)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(StorageError) as error:
            async with translated(), engine.connect() as connection:
                await connection.execute(
                    text("SELECT 1 / 0 WHERE CAST(:body AS text) IS NOT NULL"), {"body": BODY}
                )
    finally:
        await engine.dispose()
    cause = error.value.__cause__
    assert cause is not None and "hidden due to hide_parameters" in str(cause)
    everything = " ".join([str(error.value), str(cause), caplog.text])
    assert "9401010101010001" not in everything and "Rahasia" not in everything


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(DATABASE_URL=database_url, PSEUDONYM_SECRET="operations-pseudonym-key")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("args", [("db", "upgrade"), ("run", "--console")])
def test_an_unreachable_database_at_start_is_one_line(args: tuple[str, ...]) -> None:
    result = run_cli(*args, database_url="postgresql://postgres@127.0.0.1:1/skm")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("skm-bot: the database is not reachable")


async def test_nul_and_controls_in_the_console_on_postgres(
    pg_storage: Storage, pg_url: str, tmp_path: Path
) -> None:
    # consent, skip age, Perempuan, SMA, skip occupation, first service type, nine 4s,
    # a suggestion full of control characters, send.
    script = ["1", "6", "2", "3", "8", "1", *["4"] * 9, "Antre\x00an\x01 lama\x1b[31m", "1"]
    script.insert(0, "\x00\x07")  # a stray paste before anything
    result = run_console(
        pg_url, script, "--unit", "rsud-igd", cwd=tmp_path, secret="console-pseudonym-key"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [response] = await pg_storage.responses()
    assert response.suggestion == "Antrean lama[31m"


async def test_nul_and_controls_in_a_paper_import_on_postgres(
    pg_storage: Storage, pg_url: str, tmp_path: Path
) -> None:
    from tests.support.directory import load_small_directory

    await load_small_directory(pg_storage)
    paper = tmp_path / "paper.csv"
    paper.write_bytes(
        b"unit,date,service_type,age,gender,education,occupation,"
        b"U1,U2,U3,U4,U5,U6,U7,U8,U9,suggestion\r\n"
        b"rsud-igd,2026-01-05,,,,,,4,4,4,4,4,4,4,4,4,Ruang\x00 tunggu\x01 panas\r\n"
    )
    result = run_cli("responses", "import", str(paper), database_url=pg_url)
    assert result.returncode == 0, result.stderr
    [response] = await pg_storage.responses()
    assert response.suggestion == "Ruang tunggu panas"
