"""privacy: keyed inbound event ids linked to their contact, erasure kept for open complaints

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:30:00.000000

- ``inbound_events.contact_id`` (nullable, ON DELETE CASCADE, indexed): erasing a contact
  deletes its inbound events.
- ``contacts.erase_requested_at``: erasure asked for, kept until the open complaints close.
- ``complaints.content_erased_at``: when the complaint's personal content was erased.
- The stored event ids become keyed hashes (``storage.base.keyed_event_id``). The key is the
  deployment's pseudonym secret, which ``skm-bot db upgrade`` and ``skm-bot run`` pass in the
  Alembic config (``attributes["event_secret"]``): each row is hashed in place, so a
  redelivery of an event seen before the upgrade is still recognised. Without the secret
  (a bare Alembic run) the rows are deleted instead: a raw id (a WhatsApp ``wamid`` encodes
  the sender's phone number) must not stay, and only redeliveries in flight at the upgrade
  could be processed twice. Old rows keep ``contact_id`` NULL (nothing links them) and go
  with the retention purge.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from storage.base import keyed_event_id

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inbound_events_contact_id_contacts"),
            "contacts",
            ["contact_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_events_contact_id"), ["contact_id"], unique=False
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erase_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("content_erased_at", sa.DateTime(timezone=True), nullable=True)
        )
    _hash_event_ids(context.config.attributes.get("event_secret"))


def _hash_event_ids(secret: bytes | None) -> None:
    connection = op.get_bind()
    events = sa.table(
        "inbound_events",
        sa.column("id", sa.BigInteger),
        sa.column("channel"),
        sa.column("event_id"),
    )
    if secret is None:
        connection.execute(sa.delete(events))
        return
    last = 0
    while True:
        rows = connection.execute(
            sa.select(events.c.id, events.c.channel, events.c.event_id)
            .where(events.c.id > last)
            .order_by(events.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            connection.execute(
                sa.update(events)
                .where(events.c.id == row.id)
                .values(event_id=keyed_event_id(secret, row.channel, row.event_id))
            )
        last = rows[-1].id


def downgrade() -> None:
    # The hashed ids stay hashed: the raw ids cannot be recovered (nor should they be).
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("content_erased_at")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("erase_requested_at")
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_events_contact_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_inbound_events_contact_id_contacts"), type_="foreignkey"
        )
        batch_op.drop_column("contact_id")
