"""Shared fixtures: the real PostgreSQL (TEST_DATABASE_URL) and a SQLite file per test.

The PostgreSQL test database is created fresh once per session and migrated with the same
Alembic migrations as production; each test then starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from storage import Storage, db
from storage.models import Base
from tests.support.databases import TEST_DATABASE_URL, admin_dsn
from tests.support.dispatcher import (
    Bot,
    make_bot,
)

# The web console's browser fixtures (``console``, ``chromium``, tests/support/browser.py) and
# WhatsApp's (``graph_api``, ``whatsapp_service``, tests/support/whatsapp_fixtures.py).
pytest_plugins = ["tests.support.browser", "tests.support.whatsapp_fixtures"]


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


@pytest_asyncio.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A freshly created and migrated PostgreSQL database for this test session."""
    dsn, database = admin_dsn(TEST_DATABASE_URL)
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
    dsn, database = admin_dsn(TEST_DATABASE_URL)
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


async def _empty(storage: Storage) -> None:
    """Every table emptied and every sequence restarted, as TRUNCATE ... RESTART IDENTITY
    would, in one script: DELETE on tables this small costs ~4 ms where TRUNCATE of all of them
    costs ~67 ms (new files for each table), and the suite does this before every test."""
    deletes = "".join(f'DELETE FROM "{t.name}";' for t in reversed(Base.metadata.sorted_tables))
    # A multi-statement simple query runs as one implicit transaction.
    async with storage.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        sequences = await raw.fetch(
            "SELECT quote_ident(sequencename) AS name FROM pg_sequences"
            " WHERE schemaname = current_schema()"
        )
        restarts = "".join(f"SELECT setval('{row['name']}', 1, false);" for row in sequences)
        await raw.execute(deletes + restarts)


@pytest_asyncio.fixture
async def pg_storage(pg_url: str) -> AsyncIterator[Storage]:
    storage = Storage(db.create_engine(pg_url, pool_size=10))
    await _empty(storage)
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


@pytest.fixture
def bot_factory() -> Callable[..., Bot]:
    return make_bot
