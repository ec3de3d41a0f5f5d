"""Composition root: creates and closes every engine, client and channel."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import bot
from bot.directory_file import read_directory_file
from bot.settings import Settings
from handlers.console import ConsoleChannel, ConsoleSender
from handlers.dispatcher import Dispatcher, utc_now
from handlers.outbox import OutboxWorker, Sender
from storage import db
from storage.directory_import import ImportReport, apply_directory
from storage.repository import Storage

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_storage(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Storage]:
    """The database, migrated to the newest schema unless told otherwise; disposed on exit."""
    storage = Storage(db.create_engine(settings.database_url))
    try:
        if migrate:
            await db.upgrade(storage.engine)
        yield storage
    finally:
        await storage.dispose()


def bundled_example() -> Path:
    """``examples/mimika.yaml``: in the source tree, or packaged inside the wheel."""
    package_dir = Path(bot.__file__).parent
    for candidate in (
        package_dir / "examples" / "mimika.yaml",
        package_dir.parent / "examples" / "mimika.yaml",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("examples/mimika.yaml is not installed")


async def import_directory(storage: Storage, path: Path) -> ImportReport:
    """Validate ``path`` completely, then upsert it in one transaction."""
    specs = read_directory_file(path)
    async with storage.transaction() as tx:
        return await apply_directory(tx.session, specs, utc_now())


async def seed_if_empty(storage: Storage, settings: Settings) -> ImportReport | None:
    """Load the example directory into an empty database so a first run has units."""
    if (await storage.directory()).units:
        return None
    path = settings.directory_seed_file or bundled_example()
    report = await import_directory(storage, path)
    print(f"Loaded the example directory from {path}.", file=sys.stderr)  # noqa: T201
    return report


@dataclass
class ConsoleOptions:
    contact: str = "local"
    unit: str | None = None


async def run_console(
    settings: Settings,
    options: ConsoleOptions,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    """The survey in the terminal, on the configured database."""
    out = stdout or sys.stdout
    async with open_storage(settings) as storage:
        await seed_if_empty(storage, settings)
        senders: dict[str, Sender] = {"console": ConsoleSender(out)}
        outbox = OutboxWorker(storage, senders, utc_now)
        dispatcher = Dispatcher(storage, settings.flow_settings(), settings.pseudonym_key(), outbox)
        channel = ConsoleChannel(dispatcher, contact=options.contact, stdin=stdin, stdout=out)
        first = f"/start u_{options.unit}" if options.unit else "/start"
        await channel.run(first_command=first)
