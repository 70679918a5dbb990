"""Tables of the records capability: trade records (orders, licences, declarations ...) and the
parties each record names (for party-scoped reads).

Registered on the shared metadata; created by migration 0010. Queries live in
``service/records/``. A record is stored whole as JSON (``chiptrail.records.record_to_json``);
``kind``, ``record_key`` and ``at`` are copied out for lookups and the rules' "as of" filter.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from chiptrail.store.metadata import metadata

trade_records = Table(
    "trade_records",
    metadata,
    Column(
        "record_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("kind", String(40), nullable=False),
    Column("record_key", String(300), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("submitted_by", String(300), nullable=True),
    Column("data", Text, nullable=False),
    UniqueConstraint("kind", "record_key", name="uq_trade_records_kind_key"),
)

trade_record_parties = Table(
    "trade_record_parties",
    metadata,
    Column(
        "record_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("trade_records.record_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("party_id", String(300), primary_key=True, index=True),
)

rule_configs = Table(
    "rule_configs",
    metadata,
    Column("config_id", Integer, primary_key=True, autoincrement=True),
    Column("set_at", DateTime(timezone=True), nullable=False, index=True),
    Column("data", Text, nullable=False),
)
"""The rules' thresholds as a deployment set them (``RuleConfig`` as JSON); the latest set at or
before a run's ``now`` applies, none: the defaults."""
