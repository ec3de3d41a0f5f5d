"""What the WhatsApp channel keeps: delivery statuses, the 24-hour window, migration 0003,
and the settings that must come together. Storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import ConfigError, load_settings
from storage import Storage, db
from storage.models import DeliveryStatus
from storage.outbox import ClaimFor
from tests.support.dispatcher import T0
from tests.support.migrations import _downgrade, columns, indexes

WAMID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEkE4QjcyRjlFNTQzMkQwQTEwQgA="
BSUID = "ID.1349120865530274"


async def sent_message(storage: Storage, wamid: str = WAMID, address: str = BSUID) -> int:
    """A contact with one message sent as ``wamid``; returns the contact id."""
    async with storage.transaction() as tx:
        contact = await tx.contact_for("whatsapp", address, "id", T0)
        [row] = await tx.enqueue(
            channel="whatsapp",
            messages=[("message", {"text": "Halo", "choices": [], "prompt_token": "3"})],
            dedupe_prefix=f"in:whatsapp:{wamid}",
            now=T0,
            contact_id=contact.id,
            claim=ClaimFor(address=address),
        )
    await storage.mark_sent([(row.id, wamid)], T0)
    return contact.id


async def delivery(storage: Storage) -> tuple[str | None, str | None]:
    async with storage.sessions() as session:
        row = (
            await session.execute(sa.text("SELECT delivery_status, delivery_error FROM outbox"))
        ).one()
    return row[0], row[1]


@pytest.mark.parametrize(
    ("order", "expected", "reason_kept"),
    [
        (["sent", "delivered", "read"], "read", False),
        (["read", "delivered", "sent"], "read", False),
        (["delivered", "sent"], "delivered", False),
        (["sent", "failed"], "failed", True),
        (["failed", "delivered"], "delivered", True),
        (["read", "failed"], "read", False),  # a late failure after "read" is not believed
        (["delivered", "delivered"], "delivered", False),
    ],
)
async def test_the_highest_delivery_status_is_kept(
    storage: Storage, order: list[str], expected: str, reason_kept: bool
) -> None:
    await sent_message(storage)
    for status in order:
        async with storage.transaction() as tx:
            error = "131026: Message undeliverable" if status == "failed" else None
            record = await tx.record_delivery("whatsapp", WAMID, DeliveryStatus(status), T0, error)
        assert record is not None
    status, error = await delivery(storage)
    assert status == expected
    assert (error is not None) == reason_kept


async def test_a_failure_keeps_its_reason_and_unknown_ids_are_ignored(storage: Storage) -> None:
    contact_id = await sent_message(storage)
    async with storage.transaction() as tx:
        failed = await tx.record_delivery(
            "whatsapp", WAMID, DeliveryStatus.FAILED, T0, "131026: Message undeliverable"
        )
        unknown = await tx.record_delivery("whatsapp", "wamid.other", DeliveryStatus.READ, T0)
        other_channel = await tx.record_delivery("telegram", WAMID, DeliveryStatus.READ, T0)
    assert failed is not None and failed.applied and failed.contact_id == contact_id
    assert unknown is None and other_channel is None
    assert await delivery(storage) == ("failed", "131026: Message undeliverable")


async def test_a_prompt_is_found_by_its_token_only_for_its_own_contact(
    storage: Storage,
) -> None:
    contact_id = await sent_message(storage)
    async with storage.transaction() as tx:
        stranger = await tx.contact_for("whatsapp", "ID.999", "id", T0)
        mine = await tx.prompt_payload("whatsapp", contact_id, "3")
        theirs = await tx.prompt_payload("whatsapp", stranger.id, "3")
        stale = await tx.prompt_payload("whatsapp", contact_id, "2")
    assert mine is not None and mine["text"] == "Halo"
    assert theirs is None and stale is None


async def test_the_window_is_the_last_inbound_and_the_template_is_remembered(
    storage: Storage,
) -> None:
    contact_id = await sent_message(storage)
    window = await storage.contact_window(contact_id)
    assert window is not None
    assert window.last_inbound_at == T0 and window.template_sent_at is None
    await storage.mark_template_sent(contact_id, T0 + timedelta(hours=30))
    await storage.note_outbox(1, "sent the approved template instead")
    window = await storage.contact_window(contact_id)
    assert window is not None and window.template_sent_at == T0 + timedelta(hours=30)
    assert await storage.contact_window(contact_id + 100) is None
    async with storage.sessions() as session:
        note = await session.scalar(sa.text("SELECT last_error FROM outbox"))
    assert note == "sent the approved template instead"


# --- migration 0003 --------------------------------------------------------------------------


def down_revision() -> str:
    script = ScriptDirectory.from_config(db.alembic_config()).get_revision("0003")
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


def test_0003_follows_0002_when_present_else_0001() -> None:
    versions = Path(db.MIGRATIONS_DIR) / "versions"
    has_0002 = any(p.name.startswith("0002_") for p in versions.glob("*.py"))
    assert down_revision() == ("0002" if has_0002 else "0001")


async def test_migration_0003_up_down_up_on_sqlite(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        await run_up_down_up(engine)
    finally:
        await engine.dispose()


async def test_migration_0003_up_down_up_on_postgresql(scratch_pg: str) -> None:
    engine = db.create_engine(scratch_pg)
    try:
        await run_up_down_up(engine)
    finally:
        await engine.dispose()


async def run_up_down_up(engine: AsyncEngine) -> None:
    await db.upgrade(engine, "0003")
    async with engine.begin() as connection:
        outbox = await connection.run_sync(columns, "outbox")
        contacts = await connection.run_sync(columns, "contacts")
        assert all(outbox[c] for c in ("delivery_status", "delivery_status_at", "delivery_error"))
        assert contacts["template_sent_at"] is True
        assert "ix_outbox_platform_message_id" in await connection.run_sync(indexes, "outbox")
        await connection.execute(
            sa.text(
                "INSERT INTO contacts (channel, address, language, created_at) "
                "VALUES ('whatsapp', :a, 'id', :t)"
            ),
            {"a": BSUID, "t": T0},
        )
        await connection.execute(
            sa.text(
                "INSERT INTO conversations (contact_id, updated_at) SELECT id, :t FROM contacts"
            ),
            {"t": T0},
        )
    await _downgrade(engine, down_revision())
    async with engine.begin() as connection:
        assert "delivery_status" not in await connection.run_sync(columns, "outbox")
        assert "template_sent_at" not in await connection.run_sync(columns, "contacts")
        assert "ix_outbox_platform_message_id" not in await connection.run_sync(indexes, "outbox")
        # Dropping the column kept the contact and, through it, the conversation.
        assert await connection.scalar(sa.text("SELECT count(*) FROM conversations")) == 1
    await db.upgrade(engine, "0003")
    async with engine.begin() as connection:
        assert "delivery_status" in await connection.run_sync(columns, "outbox")


# --- settings --------------------------------------------------------------------------------

FULL = {
    "whatsapp_access_token": "EAAG",
    "whatsapp_phone_number_id": "106540352242922",
    "whatsapp_app_secret": "meta-app-secret-of-tests",
    "whatsapp_verify_token": "verify-token-of-tests",
}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_URL", "PSEUDONYM")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("missing", sorted(FULL))
def test_whatsapp_settings_come_together(missing: str) -> None:
    partial = {k: v for k, v in FULL.items() if k != missing}
    with pytest.raises(ConfigError) as error:
        load_settings(**partial)
    assert str(error.value).startswith(f"{missing.upper()}:")


@pytest.mark.usefixtures("clean_environment")
def test_whatsapp_settings_and_their_defaults() -> None:
    settings = load_settings(**FULL, whatsapp_api_base_url="http://127.0.0.1:9/")
    assert settings.has_whatsapp and settings.has_platform_channel
    assert settings.whatsapp_graph_version == "v25.0"
    assert settings.whatsapp_api_base_url == "http://127.0.0.1:9"
    assert settings.whatsapp_template_name is None
    assert settings.whatsapp_template_language == "id"
    assert not load_settings().has_whatsapp


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("whatsapp_graph_version", "25.0"),
        ("whatsapp_graph_version", "latest"),
        ("whatsapp_template_name", "SKM Lanjutkan"),
        ("whatsapp_api_base_url", "graph.facebook.com"),
    ],
)
def test_bad_whatsapp_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(**FULL, **{name: value})
    assert str(error.value).startswith(f"{name.upper()}:")
