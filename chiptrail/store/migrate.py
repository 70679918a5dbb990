"""Alembic migrations applied programmatically: ``upgrade`` and ``open_database``.

The migration scripts live in ``store/migrations/versions``; nothing else changes the schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from chiptrail.errors import InvalidInput, Unavailable
from chiptrail.store.database import Database, make_engine

_MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to ``engine`` (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest migration id."""
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None  # noqa: S101 - there is always at least the base revision
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def open_database(url: str, *, auto_upgrade: bool = True) -> Database:
    """Open the database at ``url``, upgrading it to the newest schema when needed.

    Raises:
        InvalidInput: the file is not a database. Unavailable: the server cannot be reached.
    """
    engine = make_engine(url)
    try:
        if auto_upgrade and current_revision(engine) != head_revision():
            upgrade(engine)
    except DBAPIError as exc:
        engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        if engine.dialect.name == "sqlite":
            raise InvalidInput(
                f"{shown} is not a usable SQLite database ({reason})", {"field": "db"}
            ) from exc
        raise Unavailable(
            f"cannot reach the database {shown} ({reason}); is the server running?",
            {"field": "db"},
        ) from exc
    return Database(engine)
