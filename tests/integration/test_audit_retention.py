"""The web console's audit log is purged after WEB_AUDIT_RETENTION_DAYS by the daily purge,
except the directory import marker (the last import and the web's edits after it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.settings import ConfigError, load_settings
from storage import Storage
from storage.privacy import Retention, purge_expired
from storage.web import audit_entries, record_audit
from storage.web_directory import directory_edits_since_import, record_directory_import
from tests.support.dispatcher import T0

LONG = timedelta(days=3650)


async def test_old_audit_lines_go_the_import_marker_stays(storage: Storage) -> None:
    day = timedelta(days=1)
    async with storage.transaction() as tx:
        await record_audit(tx, T0, None, "signin", "ok", target="very old")
        await record_audit(tx, T0 + day, None, "directory.unit", "ok", target="edit before")
        await record_directory_import(tx, T0 + 2 * day, "units.yaml")
        await record_audit(tx, T0 + 3 * day, None, "directory.opd", "ok", target="edit after")
        await record_audit(tx, T0 + 3 * day, None, "refused", "refused", target="old refusal")
        await record_audit(tx, T0 + 500 * day, None, "signin", "ok", target="recent")
    retention = Retention(LONG, LONG, LONG, LONG, web_audit=timedelta(days=400))
    async with storage.transaction() as tx:
        purged = await purge_expired(tx, retention, T0 + 410 * day)
    assert purged.web_audit == 3  # the old sign-in, the edit the import replaced, the refusal
    async with storage.transaction() as tx:
        left = [(e.action, e.target) for e in await audit_entries(tx)]
        edits = await directory_edits_since_import(tx)
    assert left == [
        ("signin", "recent"),
        ("directory.opd", "edit after"),
        ("directory.import", None),
    ]
    assert [e.target for e in edits] == ["edit after"]  # the next import still warns
    async with storage.transaction() as tx:  # nothing more to do the next day
        assert (await purge_expired(tx, retention, T0 + 411 * day)).web_audit == 0


def test_the_setting_defaults_to_a_year_and_a_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().retention().web_audit == timedelta(days=400)
    monkeypatch.setenv("WEB_AUDIT_RETENTION_DAYS", "30")
    assert load_settings().retention().web_audit == timedelta(days=30)
    monkeypatch.setenv("WEB_AUDIT_RETENTION_DAYS", "7")  # less than a month: refused, named
    with pytest.raises(ConfigError, match="^WEB_AUDIT_RETENTION_DAYS"):
        load_settings()
