"""`skm-bot run --workers N`: several service processes on one port, supervised together.

Real processes: the supervisor (`python -m bot run --workers 2`) and its workers in webhook
mode, the fake Bot API, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.workers import WorkerRole
from storage import Storage
from tests.support.directory import load_small_directory
from tests.support.fakes.telegram_api import FakeTelegramApi
from tests.support.processes import wait_ready
from tests.support.telegram_service import SECRET, TOKEN, free_port

pytestmark = pytest.mark.slow

FIRST_CHAT = 888000100


def test_the_workers_split_the_platforms_send_limit() -> None:
    """TELEGRAM_OVERALL_PER_S and WHATSAPP_MESSAGES_PER_S are the bot's: N workers pacing at
    the whole rate each would send N times what the platform allows."""
    assert WorkerRole().share(25.0) == 25.0
    assert [WorkerRole(index, 4).share(80.0) for index in range(4)] == [20.0] * 4


def service_env(api: FakeTelegramApi, database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_WEBHOOK_URL="https://skm.example.go.id/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_PER_CHAT_INTERVAL_S="0.02",
        TELEGRAM_OVERALL_PER_S="500",
        PSEUDONYM_SECRET="worker-tests-pseudonym",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        DIGEST_ENABLED="false",
    )
    return env


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(token=TOKEN) as fake:
        yield fake


async def start(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *args, env=env, stdout=out, stderr=out
        )


def worker_pids(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children]


def processed(metrics: str) -> float:
    found = re.search(
        r'^skm_inbound_total\{channel="telegram",outcome="processed"\} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_two_workers_share_the_port_and_their_metrics_add_up(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str, tmp_path: Path
) -> None:
    await load_small_directory(pg_storage)
    port = free_port()
    log = tmp_path / "service.log"
    supervisor = await start(service_env(api, pg_url, port), log, "--workers", "2")
    try:
        await wait_ready(port, supervisor, log.read_text)
        workers = worker_pids(supervisor.pid)
        assert len(workers) == 2
        chats = [FIRST_CHAT + n for n in range(40)]
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        # A new connection per update: the kernel spreads connections over the workers.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            for chat in chats:
                update = api.make_message_update(chat, "/start")
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 200
            await api.wait_for(lambda: all(api.sent_messages(c) for c in chats), timeout=20)
            scrapes = []
            for _ in range(6):  # whichever worker answers, the figure is the service's
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    scrapes.append(processed(await response.text()))
        assert scrapes == [40.0] * 6
        # setMyCommands is sent once, by worker 0, not by every worker.
        assert len(api.calls_to("setMyCommands")) == 2  # Indonesian and English
    finally:
        if supervisor.returncode is None:
            supervisor.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(supervisor.wait(), timeout=20)
    assert code == 0, log.read_text()
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        ), "every worker stopped with the supervisor"


async def test_a_worker_that_dies_stops_the_service(
    api: FakeTelegramApi, pg_storage: Storage, pg_url: str, tmp_path: Path
) -> None:
    await load_small_directory(pg_storage)
    port = free_port()
    log = tmp_path / "service.log"
    supervisor = await start(service_env(api, pg_url, port), log, "--workers", "2")
    try:
        await wait_ready(port, supervisor, log.read_text)
        first, _second = worker_pids(supervisor.pid)
        os.kill(first, signal.SIGKILL)
        # The service manager restarts the whole set: the supervisor stops and says why.
        code = await asyncio.wait_for(supervisor.wait(), timeout=20)
    finally:
        if supervisor.returncode is None:
            supervisor.kill()
            await supervisor.wait()
    assert code == 128 + signal.SIGKILL


async def test_workers_need_webhook_mode(api: FakeTelegramApi, pg_url: str, tmp_path: Path) -> None:
    env = service_env(api, pg_url, free_port())
    del env["TELEGRAM_WEBHOOK_URL"]
    log = tmp_path / "service.log"
    process = await start(env, log, "--workers", "2")
    code = await asyncio.wait_for(process.wait(), timeout=30)
    assert code == 2
    assert "TELEGRAM_WEBHOOK_URL" in log.read_text()
    assert api.calls_to("getUpdates") == [], "no worker was started"


def test_the_worker_role_comes_from_the_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKM_WORKER", raising=False)
    assert WorkerRole.from_environment() == WorkerRole(0, 1)
    assert WorkerRole.from_environment().primary and not WorkerRole().shares_port
    monkeypatch.setenv("SKM_WORKER", "1/3")
    role = WorkerRole.from_environment()
    assert role == WorkerRole(1, 3) and role.shares_port and not role.primary


@pytest.mark.parametrize("worker_handles_sigterm", [False, True])
def test_a_stop_asked_while_workers_start_is_a_clean_stop(worker_handles_sigterm: bool) -> None:
    """Under load a worker may still be importing when the service manager stops the set.

    It then dies of the forwarded SIGTERM itself (no handler yet): the supervisor must still
    report a clean stop, or the service manager records a failure for an ordinary restart.
    """
    worker = (
        "import os, signal, sys, time; "
        + (
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
            if worker_handles_sigterm
            else ""
        )
        + "os.write(1, b'up\\n'); time.sleep(60)"  # one write: lines never interleave
    )
    supervisor_code = (
        "import sys; from bot.workers import supervise; "
        f"sys.exit(supervise(2, [sys.executable, '-c', {worker!r}], poll_s=0.05))"
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", supervisor_code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert supervisor.stdout is not None
        for _ in range(2):  # both workers running before the stop
            assert supervisor.stdout.readline().strip() == "up"
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()


def test_a_worker_that_fails_still_stops_the_set_with_its_code() -> None:
    supervisor_code = (
        "import sys; from bot.workers import supervise; "
        "sys.exit(supervise(2, [sys.executable, '-c', 'import sys, time; "
        'sys.exit(3) if __import__("os").environ["SKM_WORKER"].startswith("1/") '
        "else time.sleep(60)'], poll_s=0.05))"
    )
    result = subprocess.run([sys.executable, "-c", supervisor_code], timeout=30, check=False)
    assert result.returncode == 3
