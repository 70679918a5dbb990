"""Migrations build exactly the schema the table modules declare, on every engine."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from chiptrail.store.database import Database
from chiptrail.store.migrate import current_revision, head_revision, open_database
from chiptrail.store.schema import metadata


def test_migrations_reach_head_and_match_metadata(database: Database) -> None:
    assert current_revision(database.engine) == head_revision()
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert "chiptrail_meta" in inspect(database.engine).get_table_names()


def test_open_database_is_idempotent(db_url: str) -> None:
    first = open_database(db_url)
    first.dispose()
    again = open_database(db_url)
    assert current_revision(again.engine) == head_revision()
    again.dispose()
