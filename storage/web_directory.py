"""The directory's marker for ``skm-bot units import``: the web editor's changes since the
last import, read from the audit log (each edit is a ``directory.*`` line; each import writes
``directory.import``). No table of its own: the audit log already says who changed what, when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from storage.base import TxBase
from storage.web import AuditRecord, record_audit
from storage.web_models import WebAuditEntry

DIRECTORY_EDIT = "directory."  # audit actions of the web's directory editor start with this
DIRECTORY_IMPORT = "directory.import"  # written by `skm-bot units import`


async def record_directory_import(tx: TxBase, now: datetime, detail: str) -> None:
    """Mark an import of the directory file (the web's edits before it are overwritten)."""
    await record_audit(tx, now, None, DIRECTORY_IMPORT, "ok", detail=detail)


async def directory_edits_since_import(tx: TxBase) -> list[AuditRecord]:
    """The web's changes to the directory since the last import, newest first."""
    last_import = await tx.session.scalar(
        select(func.max(WebAuditEntry.at)).where(WebAuditEntry.action == DIRECTORY_IMPORT)
    )
    query = (
        select(WebAuditEntry)
        .where(
            WebAuditEntry.action.startswith(DIRECTORY_EDIT, autoescape=True),
            WebAuditEntry.action != DIRECTORY_IMPORT,
            WebAuditEntry.outcome == "ok",
        )
        .order_by(WebAuditEntry.at.desc(), WebAuditEntry.id.desc())
    )
    if last_import is not None:
        query = query.where(WebAuditEntry.at > last_import)
    return [
        AuditRecord(
            e.at, e.actor, e.actor_name, e.role, e.opd_code, e.action, e.target, e.outcome, e.detail
        )  # fmt: skip
        for e in (await tx.session.execute(query)).scalars()
    ]


async def purge_audit(tx: TxBase, before: datetime) -> int:
    """Delete the audit lines older than ``before``; returns how many went.

    The marker survives: the last ``directory.import`` line and the directory edits after it
    stay whatever their age, so an old web edit not yet overwritten by an import is still
    announced by the next one.
    """
    last_import = await tx.session.scalar(
        select(func.max(WebAuditEntry.at)).where(WebAuditEntry.action == DIRECTORY_IMPORT)
    )
    marker = WebAuditEntry.action.startswith(DIRECTORY_EDIT, autoescape=True)
    if last_import is not None:
        marker = marker & (WebAuditEntry.at >= last_import)
    result = await tx.session.execute(
        delete(WebAuditEntry)
        .where(WebAuditEntry.at < before, ~marker)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
