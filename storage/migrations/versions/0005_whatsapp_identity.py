"""whatsapp identity: a contact holds its phone number and its business-scoped user id

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 23:30:00.000000

Adds to ``contacts`` the WhatsApp phone number (``phone``, unique per channel where set: a
partial unique index on both databases), the parent BSUID (``parent_address``) and the
pseudonym of the contact's survey responses (``respondent_key``, 32 hex; filled by the bot on
the contact's next message, as the HMAC of its address it has always been); adds to
``recipients`` the BSUID learnt for staff registered by phone number (``bsuid``).

Backfill: WhatsApp contacts whose address is all digits were keyed by phone number, so
``phone = address``.

No contacts are merged here. The earlier code keyed a WhatsApp contact by its BSUID when a
payload had one, else by its phone number, and stored nothing that links the two: no column,
outbox row or event holds both identifiers of one person. So the database cannot tell which
phone-keyed and BSUID-keyed contacts are the same person; the bot merges such a pair at the
first payload that shows both (``storage.contacts.ContactsTx.merge_contacts``).

Only nullable columns and indexes are added: on SQLite ``batch_alter_table`` adds them with
``ALTER TABLE`` (no re-creation of ``contacts``, which would cascade-delete conversations) and
the downgrade drops them with the native ``ALTER TABLE ... DROP COLUMN``, as in 0003.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONTACT_COLUMNS = ("phone", "parent_address", "respondent_key")
_HAS_PHONE = sa.text("phone IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("parent_address", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("respondent_key", sa.String(length=32), nullable=True))
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bsuid", sa.String(length=160), nullable=True))
    op.create_index("ix_recipients_bsuid", "recipients", ["bsuid"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        digits_only = "address <> '' AND address NOT GLOB '*[^0-9]*'"
    else:
        digits_only = "address ~ '^[0-9]+$'"
    op.execute(f"UPDATE contacts SET phone = address WHERE channel = 'whatsapp' AND {digits_only}")
    op.create_index(
        "uq_contacts_channel_phone",
        "contacts",
        ["channel", "phone"],
        unique=True,
        postgresql_where=_HAS_PHONE,
        sqlite_where=_HAS_PHONE,
    )


def downgrade() -> None:
    op.drop_index("uq_contacts_channel_phone", table_name="contacts")
    op.drop_index("ix_recipients_bsuid", table_name="recipients")
    if op.get_bind().dialect.name == "sqlite":
        for column in reversed(_CONTACT_COLUMNS):
            op.execute(f"ALTER TABLE contacts DROP COLUMN {column}")
        op.execute("ALTER TABLE recipients DROP COLUMN bsuid")
        return
    for column in reversed(_CONTACT_COLUMNS):
        op.drop_column("contacts", column)
    op.drop_column("recipients", "bsuid")
