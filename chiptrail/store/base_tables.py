"""Tables every installation has: the store's own metadata (key/value)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from chiptrail.store.metadata import metadata

meta_table = Table(
    "chiptrail_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
