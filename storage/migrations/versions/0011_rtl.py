"""rtl: the follow-up plan (Rencana Tindak Lanjut) and "you said, we did" opt-ins

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 03:20:00.000000

One new table (issue 17, item 2): ``rtl_items``, one row per weak element of a unit in a
closed quarter (proposed after the quarter closes), with the plan (action, person
responsible, due date), the head's approval, the status and its evidence (a link or a note).
And ``followup_optins`` (item 3, "you said, we did"): the citizens who asked at a survey's
thank-you to hear what the unit did, per unit and quarter (personal: erased with the
contact). Nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RTL_STATUSES = "status IN ('direncanakan', 'berjalan', 'selesai', 'tidak_dilaksanakan')"


def _big() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _big(), autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "rtl_items",
        _id(),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("element_code", sa.String(length=16), nullable=False),
        sa.Column("nrr", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("responsible", sa.String(length=120), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("evidence_link", sa.String(length=500), nullable=True),
        sa.Column("evidence_note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(RTL_STATUSES, name=op.f("ck_rtl_items_status")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_rtl_items_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rtl_items")),
        sa.UniqueConstraint(
            "unit_id", "period", "element_code", name=op.f("uq_rtl_items_unit_period")
        ),
    )
    op.create_index("ix_rtl_items_period", "rtl_items", ["period"])
    op.create_table(
        "followup_optins",
        _id(),
        sa.Column("contact_id", _big(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"],
            name=op.f("fk_followup_optins_contact_id_contacts"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_followup_optins_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_optins")),
        sa.UniqueConstraint(
            "contact_id", "unit_id", "period", name=op.f("uq_followup_optins_contact")
        ),
    )  # fmt: skip
    op.create_index("ix_followup_optins_unit_period", "followup_optins", ["unit_id", "period"])


def downgrade() -> None:
    op.drop_index("ix_followup_optins_unit_period", table_name="followup_optins")
    op.drop_table("followup_optins")
    op.drop_index("ix_rtl_items_period", table_name="rtl_items")
    op.drop_table("rtl_items")
