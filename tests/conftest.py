"""Shared fixtures: databases on every engine, the shared conformance folder, service gating.

On a user's machine a missing service skips with a reason; with CI=true it fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "CHIPTRAIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def require(available: bool, reason: str) -> None:
    """Skip with ``reason`` when a service is missing; under CI=true, fail instead."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def shared_dir() -> Path | None:
    """The project's ``shared/`` folder (conformance material), if this checkout can see it."""
    env = os.environ.get("CHIPTRAIL_SHARED")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" for p in here.parents] + [Path("/work/shared")]
    for c in candidates:
        if (c / "DESIGN.md").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared folder; skips (even in CI: it is not part of a clone) when absent."""
    found = shared_dir()
    if found is None:
        pytest.skip("../shared/ (conformance data) is not present in this checkout")
    return found


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except (OperationalError, ImportError):
        return False
    return True


def fresh_pg_database() -> Iterator[str]:
    """Create a fresh, empty PostgreSQL database; yield its URL; drop it afterwards."""
    require(_pg_available(), f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"chiptrail_test_{uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL (a new database per test)."""
    yield from fresh_pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on every engine: SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chiptrail.db'}"
    else:
        yield from fresh_pg_database()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A migrated database on every engine."""
    db = open_database(db_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database only (fast path for tests that do not need every engine)."""
    db = open_database(f"sqlite:///{tmp_path / 'chiptrail.db'}")
    try:
        yield db
    finally:
        db.dispose()
