"""Shared fixtures: databases on every engine, the shared conformance folder, service gating.

On a user's machine a missing service skips with a reason; with CI=true it fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database

IN_CI = os.environ.get("CI", "").lower() == "true"
os.environ.setdefault(
    "CHIPTRAIL_CREATE_DB", "1"
)  # tests name fresh --db files; see test_db_manners
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


def _pg_admin() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _drop_pg_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def fresh_pg_database(template: str | None = None) -> Iterator[str]:
    """Create a fresh PostgreSQL database (empty, or a copy of ``template``); drop it afterwards."""
    require(_pg_available(), f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"chiptrail_test_{uuid4().hex[:12]}"
    admin = _pg_admin()
    clause = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _drop_pg_database(admin, name)
        admin.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per run; ``database`` copies it (fast)."""
    gen = fresh_pg_database()
    url = next(gen)
    open_database(url).dispose()
    try:
        yield url.rsplit("/", 1)[1]
    finally:
        gen.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL (a new database per test)."""
    yield from fresh_pg_database()


ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An EMPTY database URL on every engine: SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chiptrail.db'}"
    else:
        yield from fresh_pg_database()


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated to head, on every engine (PostgreSQL copies a migrated template)."""
    if request.param == "sqlite":
        db = open_database(f"sqlite:///{tmp_path / 'chiptrail.db'}")
        try:
            yield db
        finally:
            db.dispose()
        return
    template = request.getfixturevalue("pg_template")
    for url in fresh_pg_database(template):
        db = open_database(url)
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
