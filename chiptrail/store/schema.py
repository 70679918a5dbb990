"""The complete schema: imports every table module so ``metadata`` knows all tables.

A test compares this metadata with the database that the Alembic migrations build.
"""

from __future__ import annotations

from chiptrail.store import base_tables  # noqa: F401  (registers tables)
from chiptrail.store.metadata import metadata

__all__ = ["metadata"]
