"""The one frozen configuration object, built at the edge from flags and CHIPTRAIL_* variables.

No I/O: callers pass the environment mapping in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chiptrail.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration.

    Attributes:
        database_url: SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``).
        data_dir: where chiptrail keeps its files (reports, keys, list snapshots).
        shared_dir: optional folder with the project's shared conformance data.
    """

    database_url: str
    data_dir: Path
    shared_dir: Path | None = None

    def with_db(self, db: str | None) -> Settings:
        """A copy pointing at ``db`` (a path or a URL); unchanged when ``db`` is None."""
        if db is None:
            return self
        return replace(self, database_url=database_url_from(db))


def database_url_from(db: str) -> str:
    """Turn a ``--db`` / ``CHIPTRAIL_DB`` value (file path or SQLAlchemy URL) into a URL."""
    db = db.strip()
    if not db:
        raise InvalidInput("database: empty path or URL", {"field": "db"})
    if "://" in db:
        if db.startswith("postgresql://"):
            return "postgresql+psycopg://" + db.removeprefix("postgresql://")
        return db
    return f"sqlite:///{os.path.realpath(os.path.expanduser(db))}"


def load_settings(env: Mapping[str, str], db: str | None = None) -> Settings:
    """Build settings from an environment mapping and an optional ``--db`` flag.

    ``--db`` wins over ``CHIPTRAIL_DB``, which wins over ``CHIPTRAIL_DATABASE_URL``; the default is
    a SQLite file under the user's data directory.
    """
    from pathlib import Path

    data_dir = Path(_data_dir(env))
    shared = env.get("CHIPTRAIL_SHARED")
    return Settings(
        database_url=database_url(env, db),
        data_dir=data_dir,
        shared_dir=Path(shared) if shared else None,
    )


def _data_dir(env: Mapping[str, str]) -> str:
    found = env.get("CHIPTRAIL_DATA_DIR")
    if found:
        return found
    import platformdirs  # imported when needed: the one-name screen usually is not

    return platformdirs.user_data_dir("chiptrail")


def database_url(env: Mapping[str, str], db: str | None = None) -> str:
    """The database URL ``load_settings`` chooses (``--db``, ``CHIPTRAIL_DB``,
    ``CHIPTRAIL_DATABASE_URL``, else ``chiptrail.db`` in the data directory)."""
    chosen = db or env.get("CHIPTRAIL_DB") or env.get("CHIPTRAIL_DATABASE_URL")
    if chosen:
        return database_url_from(chosen)
    return f"sqlite:///{os.path.join(_data_dir(env), 'chiptrail.db')}"
