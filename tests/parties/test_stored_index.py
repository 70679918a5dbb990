"""The stored index read with the standard library's sqlite3 (the one-name CLI path)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chiptrail.parties.screening import Query
from chiptrail.service.parties import lists as service
from chiptrail.service.parties.stored_index import read_current_sqlite, schema_head
from chiptrail.store.database import Database
from chiptrail.store.migrate import head_revision

NOW = datetime(2026, 6, 1, 12, 30, 15, 250, tzinfo=UTC)


def _path(db: Database) -> str:
    return str(db.engine.url.database)


def test_schema_head_is_alembics() -> None:
    assert schema_head() == head_revision()


def test_reads_the_current_index_like_the_service(sqlite_database: Database, vectors: Path) -> None:
    service.load_list(sqlite_database, (vectors / "csl.csv").read_bytes(), now=NOW)
    service.load_list(sqlite_database, (vectors / "dpl.txt").read_bytes(), now=NOW)
    fast = read_current_sqlite(_path(sqlite_database))
    assert fast is not None
    slow = service.build_stored_index(sqlite_database)
    for name in ["Suanneng Technology", "Sophon", "Acme Widgets"]:
        q = [Query("q", name)]
        assert service.screen_names(fast, q) == service.screen_names(slow, q)
    assert fast.to_bytes() == slow.to_bytes()


def test_stale_missing_or_foreign_gives_none(
    sqlite_database: Database, vectors: Path, tmp_path: Path
) -> None:
    path = _path(sqlite_database)
    assert read_current_sqlite(path) is None  # no list loaded: no index
    assert read_current_sqlite(str(tmp_path / "absent.db")) is None
    (tmp_path / "text.db").write_text("not a database")
    assert read_current_sqlite(str(tmp_path / "text.db")) is None
    service.load_list(sqlite_database, (vectors / "csl.csv").read_bytes(), now=NOW)
    assert read_current_sqlite(path) is not None
    with sqlite3.connect(path) as conn:  # a list changed behind the index's back
        later = (NOW + timedelta(seconds=1)).replace(tzinfo=None).isoformat(" ")
        conn.execute("UPDATE party_lists SET loaded_at = ?", (later,))
    conn.close()
    assert read_current_sqlite(path) is None
    service.build_stored_index(sqlite_database)  # the full path rebuilds and stores it
    assert read_current_sqlite(path) is not None


@pytest.mark.parametrize("micro", [0, 250])
def test_fingerprint_matches_sqlalchemys_reading(
    sqlite_database: Database, vectors: Path, micro: int
) -> None:
    service.load_list(
        sqlite_database, (vectors / "csl.csv").read_bytes(), now=NOW.replace(microsecond=micro)
    )
    assert read_current_sqlite(_path(sqlite_database)) is not None
