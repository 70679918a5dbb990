"""The one frozen configuration object, built at the edge from flags and CHIPTRAIL_* variables.

No I/O: callers pass the environment mapping in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from chiptrail.errors import InvalidInput


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
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def load_settings(env: Mapping[str, str], db: str | None = None) -> Settings:
    """Build settings from an environment mapping and an optional ``--db`` flag.

    ``--db`` wins over ``CHIPTRAIL_DB``, which wins over ``CHIPTRAIL_DATABASE_URL``; the default is
    a SQLite file under the user's data directory.
    """
    data_dir = Path(env.get("CHIPTRAIL_DATA_DIR") or platformdirs.user_data_dir("chiptrail"))
    chosen = db or env.get("CHIPTRAIL_DB") or env.get("CHIPTRAIL_DATABASE_URL")
    url = database_url_from(chosen) if chosen else f"sqlite:///{data_dir / 'chiptrail.db'}"
    shared = env.get("CHIPTRAIL_SHARED")
    return Settings(
        database_url=url, data_dir=data_dir, shared_dir=Path(shared) if shared else None
    )
