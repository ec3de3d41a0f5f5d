"""Conversations: one row per contact holding the survey's state, locked per inbound event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.base import TxBase


@dataclass(frozen=True, slots=True)
class SavedConversation:
    """A conversation's state to write with the replies it produced."""

    contact_id: int
    state: dict[str, Any] | None
    expires_at: datetime | None


class ConversationsTx(TxBase):
    """A transaction's operations on the conversation of a contact."""

    async def lock_conversation(self, contact_id: int, now: datetime) -> dict[str, Any] | None:
        """Take the conversation row's lock (PostgreSQL ``FOR UPDATE``) and read its state.

        Concurrent events for one contact queue here, so each sees the state the previous
        one committed.
        """
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
