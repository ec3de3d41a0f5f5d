"""Waiting for a `python -m bot run` process to serve: shared by the tests and the benches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp


async def wait_ready(
    port: int,
    process: asyncio.subprocess.Process,
    why_it_stopped: Callable[[], str],
    timeout_s: float = 30.0,
) -> None:
    """Until ``GET /readyz`` on ``port`` answers 200 (the database is reachable and migrated).

    AssertionError with ``why_it_stopped()`` (say, the process's log) if the process exits
    first; TimeoutError after ``timeout_s``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            if process.returncode is not None:
                raise AssertionError(why_it_stopped())
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the bot on port {port} did not become ready in {timeout_s:.0f} s")
