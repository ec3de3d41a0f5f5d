"""rtl_evidence: the follow-up plan's evidence files (photos and PDFs)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:00:00.000000

One new table (issue 17, item 2, "evidence: photo, document, link"): ``rtl_evidence``, one
row per file uploaded to an RTL item in the console, its bytes in ``data``. In the database
rather than on disk: every process behind the load balancer serves it, backups hold it, the
upload commits with its audit line, and nothing is ever under a web root. Nothing existing
changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _big() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rtl_evidence",
        sa.Column("id", _big(), autoincrement=True, nullable=False),
        sa.Column("item_id", _big(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["rtl_items.id"], name=op.f("fk_rtl_evidence_item_id_rtl_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rtl_evidence")),
        sa.UniqueConstraint("item_id", "sha256", name=op.f("uq_rtl_evidence_item_sha256")),
    )  # fmt: skip
    op.create_index("ix_rtl_evidence_item", "rtl_evidence", ["item_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Photos and PDFs are compressed already: TOAST keeps them out of line without
        # trying to compress them again.
        op.execute("ALTER TABLE rtl_evidence ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_index("ix_rtl_evidence_item", table_name="rtl_evidence")
    op.drop_table("rtl_evidence")
