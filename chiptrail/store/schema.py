"""The complete schema: imports every table module so ``metadata`` knows all tables.

A test compares this metadata with the database that the Alembic migrations build.
"""

from __future__ import annotations

from chiptrail.store import (  # noqa: F401  (each import registers its tables)
    auth_tables,
    base_tables,
    findings_tables,
    geoloc_tables,
    ledger_tables,
    parties_tables,
    records_tables,
)
from chiptrail.store.metadata import metadata

__all__ = ["metadata"]
