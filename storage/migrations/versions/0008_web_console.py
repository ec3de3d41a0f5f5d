"""web console: admins, one-time sign-in links, sessions and the audit log

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 02:30:00.000000

New tables only (issue 16): ``web_admins`` (the regency-wide administrators, by name),
``web_login_links`` (the SHA-256 of each one-time link's token, its expiry and use),
``web_sessions`` (the SHA-256 of each session cookie's token, last activity, end) and
``web_audit`` (every web action and refusal).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRINCIPAL_KINDS = "principal_kind IN ('admin', 'recipient')"


def _id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "web_admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_admins")),
        sa.UniqueConstraint("name", name=op.f("uq_web_admins_name")),
    )
    for table in ("web_login_links", "web_sessions"):
        times = (
            [
                sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
            ]
            if table == "web_login_links"
            else [
                sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
            ]
        )
        op.create_table(
            table,
            _id(),
            sa.Column("token_sha256", sa.String(length=64), nullable=False),
            sa.Column("principal_kind", sa.String(length=16), nullable=False),
            sa.Column("principal_id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            *times,
            sa.CheckConstraint(PRINCIPAL_KINDS, name=op.f(f"ck_{table}_principal_kind")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("token_sha256", name=op.f(f"uq_{table}_token_sha256")),
        )
    op.create_table(
        "web_audit",
        _id(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("opd_code", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_audit")),
    )
    op.create_index("ix_web_audit_at", "web_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_web_audit_at", table_name="web_audit")
    for table in ("web_audit", "web_sessions", "web_login_links", "web_admins"):
        op.drop_table(table)
