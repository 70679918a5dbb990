"""Engine creation and the unit of work.

SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL gets a connection pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, NoSuchModuleError, OperationalError

from chiptrail.errors import InvalidInput, Unavailable


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite file or PostgreSQL).

    Raises:
        InvalidInput: the URL is malformed or names an unsupported database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"database URL {url!r} is not valid", {"field": "db"}) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        try:
            return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        except NoSuchModuleError as exc:  # pragma: no cover - depends on installed drivers
            raise InvalidInput(
                "PostgreSQL needs the driver: pip install 'chiptrail[postgres]'", {"field": "db"}
            ) from exc
    raise InvalidInput(
        f"unsupported database {backend!r}: use a SQLite path or postgresql+psycopg:// URL",
        {"field": "db"},
    )


@dataclass(frozen=True)
class Database:
    """A migrated database. ``unit()`` opens one transaction: all of it lands or none."""

    engine: Engine

    @property
    def url(self) -> str:
        """The URL with the password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def unit(self, held: Connection | None = None) -> Iterator[Connection]:
        """One unit of work: commits when the block ends normally, rolls back on any error.

        Args:
            held: a connection the caller keeps open between units (a transaction is begun on
                it); by default one is taken from the pool and given back.

        Raises:
            Unavailable: the database failed (connection, lock timeout).
            InvalidInput: the database refused a value (a NUL byte in text on PostgreSQL, an
                integer out of range on either engine); nothing was stored.
        """
        with self.failures():
            if held is None:
                with self.engine.begin() as conn:
                    yield conn
            else:
                with held.begin():
                    yield held

    @contextmanager
    def failures(self) -> Iterator[None]:
        """Database failures raised in the block as chiptrail's errors (what ``unit`` raises).

        Raises:
            Unavailable: the database failed (connection, lock timeout).
            InvalidInput: the database refused a value.
        """
        try:
            yield
        except OperationalError as exc:
            raise Unavailable(f"database {self.url} failed: {exc.orig}") from exc
        except DataError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "bad value"
            raise InvalidInput(f"the database refused a value: {reason}") from exc
        except OverflowError as exc:  # SQLite: an integer beyond 64 bits
            raise InvalidInput(f"a number is out of range: {exc}") from exc

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
