"""Alembic environment: runs on the connection the caller passes (see storage.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import storage.complaint_models  # noqa: F401  (registers the complaint tables)
import storage.web_models  # noqa: F401  (registers the web console tables)
from storage.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `skm-bot db upgrade`, which passes a connection")
run_migrations(connection)
