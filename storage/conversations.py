"""Conversations: one row per contact holding the survey's state, locked per inbound event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, or_, select

from storage.base import TxBase
from storage.models import Contact, Conversation

CONVERSATIONS: Table = Conversation.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
# WhatsApp's customer service window: free-form messages only this long after the last inbound.
WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SavedConversation:
    """A conversation's state to write with the replies it produced."""

    contact_id: int
    state: dict[str, Any] | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class IdleConversation:
    """A conversation close to its expiry, with what its reminder needs."""

    contact_id: int
    channel: str
    language: str
    state: dict[str, Any]
    updated_at: datetime


class ConversationsTx(TxBase):
    """A transaction's operations on the conversation of a contact."""

    async def idle_conversations(self, now: datetime, within: timedelta) -> list[IdleConversation]:
        """Conversations that expire within ``within`` of ``now``, of contacts the bot may
        write to: not blocked, and on WhatsApp inside the 24-hour window."""
        c, k = CONVERSATIONS.c, CONTACTS.c
        rows = await self.connection.execute(
            select(c.contact_id, k.channel, k.language, c.state, c.updated_at)
            .join_from(CONVERSATIONS, CONTACTS, k.id == c.contact_id)
            .where(
                c.expires_at > now,
                c.expires_at <= now + within,
                c.state.is_not(None),
                k.blocked_at.is_(None),
                or_(
                    k.channel != "whatsapp",
                    and_(
                        k.last_inbound_at.is_not(None),
                        k.last_inbound_at > now - WHATSAPP_WINDOW,
                    ),
                ),
            )
            .order_by(c.expires_at)
        )
        return [
            IdleConversation(
                row.contact_id, row.channel, row.language, dict(row.state), row.updated_at
            )
            for row in rows
        ]

    async def lock_conversation(self, contact_id: int, now: datetime) -> dict[str, Any] | None:
        """Take the conversation row's lock (PostgreSQL ``FOR UPDATE``) and read its state.

        Concurrent events for one contact queue here, so each sees the state the previous
        one committed. On PostgreSQL ``begin_event`` already took the lock (one round trip
        less): its state is used, once.
        """
        if contact_id in self._locked:
            state = self._locked.pop(contact_id)
            return dict(state) if state else None
        connection = self.connection
        key = {"contact_id": contact_id}
        found = (await connection.execute(self.hot.lock_conversation, key)).one_or_none()
        if found is None:  # first contact: create the row, then lock it like any other
            await connection.execute(
                self.hot.create_conversation,
                {"contact_id": contact_id, "state": None, "updated_at": now},
            )
            found = (await connection.execute(self.hot.lock_conversation, key)).one()
        state = found[0]
        return dict(state) if state else None

    async def save_conversation(
        self,
        contact_id: int,
        state: dict[str, Any] | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        await save_conversation(self, contact_id, state, expires_at, now)


async def save_conversation(
    tx: TxBase,
    contact_id: int,
    state: dict[str, Any] | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Write a conversation's new state (the outbox writes it with the replies, on PostgreSQL
    in the same statement: ``storage.outbox``)."""
    await tx.connection.execute(
        tx.hot.save_conversation,
        {"key_contact_id": contact_id, "state": state, "expires_at": expires_at, "updated_at": now},
    )
