"""When each period's figures were first served publicly (PEKPPP evidence: the SKM results
were published, and since when). One row per period; the first date is never moved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import TxBase
from storage.models import Base, UTCDateTime


class Publication(Base):
    """A period (``2026-Q3``) and the moment its figures were first published."""

    __tablename__ = "publications"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_published_at: Mapped[datetime] = mapped_column(UTCDateTime)


PUBLICATIONS: Table = Publication.__table__  # type: ignore[assignment]


async def record_publication(tx: TxBase, period: str, at: datetime) -> None:
    """Record ``at`` as ``period``'s first publication unless one is already recorded (one
    statement: two processes publishing at once keep one date)."""
    insert = postgresql.insert if tx.dialect == "postgresql" else sqlite.insert
    await tx.session.execute(
        insert(PUBLICATIONS)
        .values(period=period, first_published_at=at)
        .on_conflict_do_nothing(index_elements=["period"])
    )


async def first_published(tx: TxBase) -> dict[str, datetime]:
    """Every recorded period and its first publication."""
    rows = await tx.session.execute(select(Publication.period, Publication.first_published_at))
    return {period: at for period, at in rows.all()}
