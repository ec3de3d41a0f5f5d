"""whatsapp flows: the questionnaire's published WhatsApp Flow per language

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:30:00.000000

A new table only (``whatsapp_flows``: language, Flow id, the hash of the uploaded Flow JSON,
Meta's status, when it was written), filled by ``skm-bot whatsapp flow publish``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_flows",
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("json_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("language", name=op.f("pk_whatsapp_flows")),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_flows")
