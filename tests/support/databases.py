"""The test databases: PostgreSQL's URL per test process, and its admin connection."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

# One database per test process, so that two test runs on one machine never collide.
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/skm_test_{os.getpid()}"
)


def admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    database = parsed.database or "skm_test"
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), database
