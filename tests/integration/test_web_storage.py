"""The console's records on both databases: single-use links, sessions, the audit log, and
migration 0008 matching the models."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import Storage, db
from storage.directory import deactivate_recipient
from storage.models import Base
from storage.web import (
    audit_entries,
    create_login_link,
    end_session,
    ensure_admin,
    login_link_state,
    prune,
    record_audit,
    redeem_login_link,
    session_principal,
    start_session,
)
from survey_flows.web_access import LOGIN_LINK_TTL, LinkState, PrincipalKind, Role
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0
from tests.support.migrations import _downgrade

IDLE = timedelta(minutes=30)
WEB_TABLES = {"web_admins", "web_login_links", "web_sessions", "web_audit"}


async def test_a_link_works_once_and_not_after_ten_minutes(storage: Storage) -> None:
    async with storage.transaction() as tx:
        admin, created = await ensure_admin(tx, "Bagian Organisasi", T0)
        again, created_again = await ensure_admin(tx, "Bagian Organisasi", T0)
        await create_login_link(tx, "a" * 64, PrincipalKind.ADMIN, admin, T0, LOGIN_LINK_TTL)
        await create_login_link(tx, "b" * 64, PrincipalKind.ADMIN, admin, T0, LOGIN_LINK_TTL)
    assert created and not created_again and again == admin
    async with storage.transaction() as tx:
        assert await login_link_state(tx, "a" * 64, T0) is LinkState.VALID
        assert await redeem_login_link(tx, "a" * 64, T0) == (LinkState.VALID, ("admin", admin))
        assert await redeem_login_link(tx, "a" * 64, T0) == (LinkState.USED, None)
        late = T0 + LOGIN_LINK_TTL
        assert await redeem_login_link(tx, "b" * 64, late) == (LinkState.EXPIRED, None)
        assert await redeem_login_link(tx, "c" * 64, T0) == (LinkState.UNKNOWN, None)
    async with storage.reading() as tx:  # the expired one was not spent by trying
        assert await login_link_state(tx, "b" * 64, T0) is LinkState.VALID
    async with storage.transaction() as tx:  # a week after they expired, links are forgotten
        await prune(tx, T0 + LOGIN_LINK_TTL + timedelta(days=7, seconds=-1))
        assert await login_link_state(tx, "b" * 64, T0) is LinkState.VALID
        await prune(tx, T0 + LOGIN_LINK_TTL + timedelta(days=7, seconds=1))
        assert await login_link_state(tx, "b" * 64, T0) is LinkState.UNKNOWN


async def test_a_session_follows_its_person_until_idle_or_ended(storage: Storage) -> None:
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        recipient = (await tx.session.execute(sa.text("SELECT id FROM recipients"))).scalar_one()
        await start_session(tx, "s" * 64, "recipient", recipient, T0)
        await start_session(tx, "t" * 64, "recipient", recipient, T0)
    async with storage.transaction() as tx:
        who = await session_principal(tx, "s" * 64, T0 + timedelta(minutes=29), IDLE)
        assert who is not None and who.role is Role.HEAD and who.opd_code == "disdukcapil"
    async with storage.transaction() as tx:  # the activity moved on: 29 + 29 minutes is fine
        assert await session_principal(tx, "s" * 64, T0 + timedelta(minutes=58), IDLE)
        assert await session_principal(tx, "t" * 64, T0 + timedelta(minutes=58), IDLE) is None
        assert await end_session(tx, "s" * 64, T0 + timedelta(minutes=59))
        assert not await end_session(tx, "s" * 64, T0 + timedelta(minutes=59))
        assert await session_principal(tx, "s" * 64, T0 + timedelta(minutes=59), IDLE) is None
        await start_session(tx, "u" * 64, "recipient", recipient, T0)
    async with storage.transaction() as tx:  # a deactivated head loses the console at once
        await deactivate_recipient(tx, opd_code="disdukcapil", role="head", channel="telegram",
                                   address="100000001")  # fmt: skip
        assert await session_principal(tx, "u" * 64, T0, IDLE) is None


async def test_the_audit_log_keeps_who_what_and_how_newest_first(storage: Storage) -> None:
    async with storage.transaction() as tx:
        admin, _ = await ensure_admin(tx, "Admin", T0)
        await record_audit(tx, T0, None, "sign_in", "refused", detail="sign-in link used")
        await start_session(tx, "s" * 64, "admin", admin, T0)
        who = await session_principal(tx, "s" * 64, T0, IDLE)
        await record_audit(tx, T0 + timedelta(seconds=1), who, "report.download", "ok",
                           target="x" * 500)  # fmt: skip
    async with storage.reading() as tx:
        newest, oldest = await audit_entries(tx)
    assert (newest.actor, newest.actor_name, newest.role) == (f"admin:{admin}", "Admin", "admin")
    assert newest.target == "x" * 200  # cut to its column, never refused
    assert (oldest.actor, oldest.outcome, oldest.detail) == (None, "refused", "sign-in link used")


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if any(table in repr(diff) for table in WEB_TABLES)
    ]


async def _up_down_up(engine: AsyncEngine) -> None:
    await db.upgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    await _downgrade(engine, "0007")
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert not tables & WEB_TABLES
    await db.upgrade(engine)


async def test_migration_0008_matches_the_models_on_sqlite(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        await _up_down_up(engine)
    finally:
        await engine.dispose()


async def test_migration_0008_matches_the_models_on_postgresql(scratch_pg: str) -> None:
    engine = db.create_engine(scratch_pg)
    try:
        await _up_down_up(engine)
    finally:
        await engine.dispose()
