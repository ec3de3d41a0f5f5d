"""Claims of scheduled work: exactly one caller per (kind, target, period), across processes
and restarts (digests, complaint escalations and reminders)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.base import TxBase
from storage.complaint_models import JobClaim

JOB_CLAIMS: Table = JobClaim.__table__  # type: ignore[assignment]


async def claim_job(tx: TxBase, kind: str, target: str, period: str, at: datetime) -> bool:
    """True for exactly one caller per (kind, target, period), across processes and restarts."""
    statement = (
        (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(JOB_CLAIMS)
        .values(kind=kind, target=target, period=period, claimed_at=at, status="claimed")
        .on_conflict_do_nothing(index_elements=["kind", "target", "period"])
        .returning(JOB_CLAIMS.c.id)
    )
    return (await tx.session.execute(statement)).scalar_one_or_none() is not None


async def job_claimed(tx: TxBase, kind: str, target: str, period: str) -> bool:
    found = await tx.session.execute(
        select(JobClaim.id).where(
            JobClaim.kind == kind, JobClaim.target == target, JobClaim.period == period
        )
    )
    return found.first() is not None
