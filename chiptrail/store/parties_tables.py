"""Tables of the parties capability: screening lists, FtM entities, ownership links, tenancy.

Registered on the shared metadata; created by migration 0003 (the screening index by 0009).
Queries live in the service layer.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from chiptrail.store.metadata import metadata

party_lists = Table(
    "party_lists",
    metadata,
    Column("list_id", String(100), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("format", String(40), nullable=False),
    Column("source", String(1000), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

party_entities = Table(
    "party_entities",
    metadata,
    Column("entity_id", String(300), primary_key=True),
    Column("schema", String(40), nullable=False),
    Column("caption", Text, nullable=False),
    Column(
        "list_id",
        String(100),
        ForeignKey("party_lists.list_id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    Column("countries", String(300), nullable=False),
    Column("data", Text, nullable=False),
)

party_links = Table(
    "party_links",
    metadata,
    Column("link_id", String(300), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("source_id", String(300), nullable=False, index=True),
    Column("target_id", String(300), nullable=False, index=True),
    Column("percentage", Float, nullable=True),
    Column("role", String(300), nullable=True),
    Column(
        "list_id",
        String(100),
        ForeignKey("party_lists.list_id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
)

tenancy_reports = Table(
    "tenancy_reports",
    metadata,
    Column("report_id", Integer, primary_key=True, autoincrement=True),
    Column("operator_id", String(300), nullable=False),
    Column("tenant_id", String(300), nullable=False, index=True),
    Column("chip_model", String(100), nullable=False),
    Column("chip_hours", Float, nullable=False),
    Column("period_start_at", DateTime(timezone=True), nullable=False),
    Column("period_end_at", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)

party_screening_index = Table(
    "party_screening_index",
    metadata,
    Column("index_id", String(40), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("data", LargeBinary, nullable=False),
)
"""The screening index over every stored list, rebuilt in the transaction of each list load
(``service.parties.lists``); ``fingerprint`` names the lists and index format it was built from."""
