"""Running ``python -m bot run --console`` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_console(
    database_url: str, lines: list[str], *extra: str, cwd: Path, secret: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env["DATABASE_URL"] = database_url
    if secret:
        env["PSEUDONYM_SECRET"] = secret
    else:
        env.pop("PSEUDONYM_SECRET", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--console", *extra],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
