"""Shared fixtures: the real PostgreSQL (TEST_DATABASE_URL) and a SQLite file per test.

The PostgreSQL test database is created fresh once per session and migrated with the same
Alembic migrations as production; each test then starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url

from handlers.dispatcher import DirectoryCache, Dispatcher
from handlers.outbox import OutboxWorker, Sender, SendReceipt
from storage import Storage, db
from storage.directory_import import OpdSpec, RecipientSpec, UnitSpec, apply_directory
from storage.models import Base
from storage.outbox import PendingMessage
from survey_flows.engine import FlowSettings
from survey_flows.types import Channel, Inbound, InboundKind

# The web console's browser fixtures (``console``, ``chromium``): see tests/support/browser.py.
pytest_plugins = ["tests.support.browser"]

# One database per test process, so that two test runs on one machine never collide.
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/skm_test_{os.getpid()}"
)
PSEUDONYM_SECRET = b"test-secret-not-for-production"
# 10:00 WIT on a Wednesday.
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

SMALL_DIRECTORY: tuple[OpdSpec, ...] = (
    OpdSpec(
        code="disdukcapil",
        name="Dinas Kependudukan dan Pencatatan Sipil",
        short_name="Disdukcapil",
        recipients=(RecipientSpec("head", "telegram", "100000001", "Kepala (contoh)"),),
        units=(
            UnitSpec(
                code="dukcapil-mpp",
                name="Loket Disdukcapil MPP",
                service_types=("KTP-el", "Kartu Keluarga", "Akta kelahiran"),
                population={"2026": 24000},
            ),
            UnitSpec(code="dukcapil-kantor", name="Kantor Disdukcapil", service_types=("KTP-el",)),
        ),
    ),
    OpdSpec(
        code="rsud",
        name="RSUD Mimika",
        units=(UnitSpec(code="rsud-igd", name="IGD RSUD Mimika", service_types=("IGD",)),),
    ),
    OpdSpec(
        code="dishub",
        name="Dinas Perhubungan",
        active=False,
        units=(UnitSpec(code="dishub-kir", name="Uji KIR", service_types=("Uji KIR",)),),
    ),
)


def pytest_configure(config: pytest.Config) -> None:
    # Kept here rather than in pyproject.toml beside the others: tests/system/test_faults.py
    # owns it.
    config.addinivalue_line(
        "markers", "pgrestart: restarts PostgreSQL (a private cluster the test starts itself)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers that follow from where a test lives and what it uses, so that they stay true:
    every test of tests/system/ starts subprocesses (``slow``; elsewhere a subprocess test is
    marked by hand), and every test on the shared PostgreSQL is ``postgres``."""
    system = Path(__file__).parent / "system"
    for item in items:
        if system in item.path.parents:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        on_both = callspec is not None and "postgres" in callspec.params.values()
        if on_both or "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``python -m pytest`` runs in worker processes (pytest-xdist ``-n auto``) unless ``-n``
    is given. Set here rather than in pyproject's addopts so that ``-p no:xdist`` still
    parses. Each worker has its own PostgreSQL database (``TEST_DATABASE_URL``: per pid)."""
    if hasattr(config, "workerinput"):
        return  # a worker: xdist sets its -n to None, and a worker must never start workers
    if config.pluginmanager.has_plugin("xdist") and config.option.numprocesses is None:
        config.option.numprocesses = "auto"
        if config.option.dist == "no":
            # Stealing evens out the few tests of many seconds (faults, workers, browser).
            config.option.dist = "worksteal"


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; absent under -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): a process per core, at most 4, as the suite's
    subprocess tests start bots of their own; none for a run of named files or test ids,
    where starting workers would cost more than it saves."""
    args = [a for a in config.args if not a.startswith("-")]
    if args and all("::" in a or a.endswith(".py") for a in args):
        return 0
    return max(1, min(os.cpu_count() or 1, 4))


def _admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    database = parsed.database or "skm_test"
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), database


@pytest_asyncio.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A freshly created and migrated PostgreSQL database for this test session."""
    dsn, database = _admin_dsn(TEST_DATABASE_URL)
    try:
        connection = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {TEST_DATABASE_URL}: {exc}")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    engine = db.create_engine(TEST_DATABASE_URL)
    await db.upgrade(engine)
    await engine.dispose()
    yield TEST_DATABASE_URL
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest_asyncio.fixture
async def scratch_pg() -> AsyncIterator[str]:
    """An empty PostgreSQL database of its own, not migrated (for migration tests)."""
    dsn, database = _admin_dsn(TEST_DATABASE_URL)
    scratch = f"{database}_scratch"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{scratch}"')
    finally:
        await connection.close()
    yield TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{scratch}"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    finally:
        await connection.close()


async def _truncate(storage: Storage) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with storage.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest_asyncio.fixture
async def pg_storage(pg_url: str) -> AsyncIterator[Storage]:
    storage = Storage(db.create_engine(pg_url, pool_size=10))
    await _truncate(storage)
    try:
        yield storage
    finally:
        await storage.dispose()


@pytest_asyncio.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests start from copies of it.

    Running Alembic costs ~0.2 s per database, more than most tests; a copy costs ~0.3 ms.
    Migration tests that need Alembic itself make their own files.
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "skm.sqlite3"
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    await db.upgrade(engine)
    await engine.dispose()  # closes the file (and folds any journal into it) before copies
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The URL of this test's own migrated SQLite file (``tmp_path / "skm.sqlite3"``)."""
    path = tmp_path / "skm.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest_asyncio.fixture
async def sqlite_storage(sqlite_url: str) -> AsyncIterator[Storage]:
    storage = Storage(db.create_engine(sqlite_url))
    try:
        yield storage
    finally:
        await storage.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest) -> Storage:
    """The same contract on both backends."""
    name = "sqlite_storage" if request.param == "sqlite" else "pg_storage"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


async def load_small_directory(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await apply_directory(tx, SMALL_DIRECTORY, T0)


class RecordingSender:
    """A sender that keeps what it was given, in order."""

    def __init__(self, channel: str = "console") -> None:
        self.channel = channel
        self.sent: list[PendingMessage] = []

    async def send(self, message: PendingMessage) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(platform_message_id=str(len(self.sent)))

    def texts(self) -> list[str]:
        return [str(m.payload.get("text", "")) for m in self.sent if m.kind == "message"]


class Clock:
    """A settable clock for the dispatcher."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Bot:
    """A dispatcher wired to a storage, a recording sender and a fixed clock."""

    storage: Storage
    dispatcher: Dispatcher
    sender: RecordingSender
    clock: Clock


def make_bot(
    storage: Storage,
    *,
    clock: Clock | None = None,
    settings: FlowSettings | None = None,
    sender: RecordingSender | None = None,
) -> Bot:
    clock = clock or Clock()
    sender = sender or RecordingSender()
    senders: dict[str, Sender] = {sender.channel: sender}
    outbox = OutboxWorker(storage, senders, clock)
    dispatcher = Dispatcher(
        storage,
        settings or FlowSettings(),
        PSEUDONYM_SECRET,
        outbox,
        clock=clock,
        directory_cache=DirectoryCache(ttl=timedelta(0)),
    )
    return Bot(storage, dispatcher, sender, clock)


@pytest.fixture
def bot_factory() -> Callable[..., Bot]:
    return make_bot


_event_counter = iter(range(1, 10**9))


def text_in(contact: str, body: str, *, event_id: str | None = None, at: datetime = T0) -> Inbound:
    """A console text message from ``contact``."""
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id or f"ev-{next(_event_counter)}",
        kind=InboundKind.TEXT,
        received_at=at,
        text=body,
    )


def command_in(contact: str, command: str, *args: str, event_id: str | None = None) -> Inbound:
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id or f"ev-{next(_event_counter)}",
        kind=InboundKind.COMMAND,
        received_at=T0,
        command=command,
        command_args=args,
    )
