"""publications: when each period's figures were first published

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 04:00:00.000000

One new table (issue 17, item 5): ``publications``, one row per period (``2026-Q3``) with the
moment its figures were first served on the public results page or printed on a poster, for
the PEKPPP evidence pack. Nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_publications")),
    )


def downgrade() -> None:
    op.drop_table("publications")
