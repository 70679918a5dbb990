"""The stored screening index read straight from a SQLite file, for the one-name CLI path.

``lists.build_stored_index`` reads the index through SQLAlchemy (and migrates the database first);
importing SQLAlchemy and Alembic alone takes longer than screening a name. ``read_current_sqlite``
reads the same row with the standard library's ``sqlite3`` and returns the index only when
nothing else would have to happen first: the schema is at the newest migration, the stored
index's fingerprint names the stored lists, and its format is this version's. Otherwise it
returns None and the caller takes the full path (which migrates, rebuilds and reports errors).
Both paths compute the fingerprint with ``fingerprint_of``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from chiptrail.errors import InvalidInput

try:  # CPython's built-in SHA-256: the same digest without loading OpenSSL (hashlib, ~3 ms)
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256
from chiptrail.parties.screening import INDEX_FORMAT, ScreeningIndex

INDEX_ID = "stored-lists"
"""The one row of ``party_screening_index``."""

_MIGRATIONS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "store",
    "migrations",
    "versions",
)


def fingerprint_of(lists: Iterable[tuple[str, str, datetime]]) -> str:
    """Names the stored lists (id, file hash, load time, ordered by id) and the index format:
    an index stored under another fingerprint is stale."""
    lines = (f"{lid} {digest} {at.isoformat()}" for lid, digest, at in lists)
    text = "\n".join([INDEX_FORMAT, *lines])
    digest: str = sha256(text.encode()).hexdigest()
    return digest


def schema_head() -> str:
    """The newest migration id, from the file names of ``store/migrations/versions``
    (``NNNN_name.py``, revision ``NNNN``; a test checks it against Alembic's head)."""
    names = (n for n in os.listdir(_MIGRATIONS) if n[:1].isdigit() and n.endswith(".py"))
    return max(n.split("_", 1)[0] for n in names)


def read_current_sqlite(path: str) -> ScreeningIndex | None:
    """The stored index of the SQLite database at ``path`` when it is current, else None.

    The index reads its blob from the file as a query needs it (``sqlite3.Blob``), so the read-only
    connection stays open as long as the index is used. None when the file is missing, not a
    chiptrail database, at another schema revision, or its stored index is stale or unreadable:
    the caller then takes the full path.
    """
    if not os.path.isfile(path):
        return None
    conn = None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        [revision] = conn.execute("SELECT version_num FROM alembic_version").fetchone() or [None]
        if revision != schema_head():
            return _close(conn)
        rows = conn.execute(
            "SELECT list_id, sha256, loaded_at FROM party_lists ORDER BY list_id"
        ).fetchall()
        lists = [(str(r[0]), str(r[1]), datetime.fromisoformat(str(r[2]))) for r in rows]
        row = conn.execute(
            "SELECT rowid, fingerprint FROM party_screening_index WHERE index_id = ?", (INDEX_ID,)
        ).fetchone()
        if row is None or row[1] != fingerprint_of(lists):
            return _close(conn)
        blob = conn.blobopen("party_screening_index", "data", row[0], readonly=True)
        return ScreeningIndex.from_bytes(_Blob(blob))
    except (sqlite3.Error, ValueError, InvalidInput):
        return _close(conn)


def _close(conn: sqlite3.Connection | None) -> ScreeningIndex | None:
    if conn is not None:
        conn.close()
    return None


class _Blob:
    """An ``sqlite3.Blob`` as a ``packed.ByteSource`` (slices are bytes)."""

    __slots__ = ("_blob",)

    def __init__(self, blob: sqlite3.Blob) -> None:
        self._blob = blob

    def __len__(self) -> int:
        return len(self._blob)

    def __getitem__(self, key: slice, /) -> bytes:
        return cast(bytes, self._blob[key])
