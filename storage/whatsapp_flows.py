"""The questionnaire's published WhatsApp Flows (``whatsapp_flows``): read at start-up and by
``skm-bot whatsapp flow status``, written by ``skm-bot whatsapp flow publish``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage import Storage
from storage.models import WhatsAppFlow


@dataclass(frozen=True, slots=True)
class StoredFlow:
    language: str
    flow_id: str
    json_sha256: str
    status: str
    updated_at: datetime


async def stored_flows(storage: Storage) -> dict[str, StoredFlow]:
    """Language -> the Flow published for it."""
    async with storage.reading() as tx:
        rows = (await tx.session.execute(select(WhatsAppFlow))).scalars().all()
        return {
            row.language: StoredFlow(
                row.language, row.flow_id, row.json_sha256, row.status, row.updated_at
            )
            for row in rows
        }


async def save_flow(storage: Storage, flow: StoredFlow) -> None:
    """Insert or replace the Flow of ``flow.language``."""
    async with storage.transaction() as tx:
        row = await tx.session.get(WhatsAppFlow, flow.language)
        if row is None:
            row = WhatsAppFlow(language=flow.language)
            tx.session.add(row)
        row.flow_id = flow.flow_id
        row.json_sha256 = flow.json_sha256
        row.status = flow.status
        row.updated_at = flow.updated_at
