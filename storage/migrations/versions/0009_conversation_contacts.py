"""conversation: the OPD's public contact, and the profile a citizen asked us to remember

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:30:00.000000

Two nullable columns (issue 14): ``opds.contact`` (a public phone number or office, from the
directory file's ``contact``; help names it) and ``contacts.saved_profile`` (the survey
profile's codes, kept only when the citizen chose "Kirim & ingat data"; deleted with the
contact row on erasure). Existing rows read as before: no contact, no remembered profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opds") as batch_op:
        batch_op.add_column(sa.Column("contact", sa.String(length=200), nullable=True))
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(
            sa.Column(
                "saved_profile",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("saved_profile")
    with op.batch_alter_table("opds") as batch_op:
        batch_op.drop_column("contact")
