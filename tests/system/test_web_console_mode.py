"""The README's first command serves the web console too: `skm-bot run` on SQLite with the
console channel, and `skm-bot web login-link` prints a link that signs an administrator in."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.support.telegram_service import free_port

pytestmark = pytest.mark.slow


async def test_the_console_mode_serves_the_console_and_the_printed_link_signs_in(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'skm.sqlite3'}",
               HTTP_PORT=str(port))  # fmt: skip
    env.pop("PSEUDONYM_SECRET", None)
    env.pop("WEB_SESSION_SECRET", None)
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert bot.stderr is not None and bot.stdin is not None
    try:
        said = ""
        while "Web console:" not in said:
            line = await asyncio.wait_for(bot.stderr.readline(), timeout=30)
            assert line, f"the bot stopped: {said}"
            said += line.decode()
        assert f"http://127.0.0.1:{port}/konsol/" in said
        assert "WEB_SESSION_SECRET is not set" in said  # said once, in the log
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "web", "login-link", "--admin", "Ibu Admin",
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(cli.communicate(), timeout=30)
        link = out.decode().splitlines()[0]
        assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/konsol/masuk/[\w-]+", link)
        # unsafe: the jar keeps cookies of an IP address (127.0.0.1), as browsers do.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(link) as page:
                form = await page.text()
            csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', form)
            assert page.status == 200 and csrf is not None
            async with session.post(link, data={"_csrf": csrf[1]}) as signed_in:
                assert signed_in.status == 200  # followed to the admin's first page
                assert signed_in.url.path == "/konsol/ikhtisar"
                assert "Ikhtisar semua OPD" in await signed_in.text()
    finally:
        bot.stdin.close()
        await asyncio.wait_for(bot.wait(), timeout=30)
