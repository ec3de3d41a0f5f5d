"""whatsapp delivery status and the template invitation per closed window

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000

Adds to ``outbox`` the delivery status the platform reports after accepting a message
(``delivery_status``, ``delivery_status_at``, ``delivery_error``) and an index on
``platform_message_id`` (status webhooks find their row by it); adds to ``contacts`` the time
the approved WhatsApp template last went out (``template_sent_at``).

Only nullable columns and an index are added, so existing rows need no backfill. On SQLite
the columns are dropped with the native ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35+): a
batch re-creation of ``contacts`` would drop the table, and with foreign keys on that deletes
every conversation and queued message through ``ON DELETE CASCADE``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTBOX_COLUMNS = ("delivery_status", "delivery_status_at", "delivery_error")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_status_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("delivery_error", sa.String(length=500), nullable=True))
        batch_op.create_index(
            "ix_outbox_platform_message_id", ["platform_message_id"], unique=False
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("template_sent_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    op.drop_index("ix_outbox_platform_message_id", table_name="outbox")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE contacts DROP COLUMN template_sent_at")
        for column in reversed(_OUTBOX_COLUMNS):
            op.execute(f"ALTER TABLE outbox DROP COLUMN {column}")
        return
    op.drop_column("contacts", "template_sent_at")
    for column in reversed(_OUTBOX_COLUMNS):
        op.drop_column("outbox", column)
