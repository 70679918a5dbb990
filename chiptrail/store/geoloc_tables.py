"""Tables of the location capability: landmarks, chip device keys, signed measurements, verdicts.

Declared here, created only by migration 0004. Rows are written by ``service/probe.py`` inside one
unit of work; measurement rows are append-only (the nonce is unique, so a replay cannot land).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from chiptrail.store.metadata import metadata

landmarks_table = Table(
    "landmarks",
    metadata,
    Column("landmark_id", String(100), primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("country", String(2), nullable=True),
    Column("uncertainty_km", Float, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

chip_device_keys_table = Table(
    "chip_device_keys",
    metadata,
    Column("chip_id", String(200), primary_key=True),
    Column("scheme", String(40), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("identity_json", Text, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

measurements_table = Table(
    "measurements",
    metadata,
    Column("measurement_id", Integer, primary_key=True, autoincrement=True),
    Column("chip_id", String(200), nullable=False),
    Column(
        "landmark_id",
        String(100),
        ForeignKey("landmarks.landmark_id"),
        nullable=False,
    ),
    Column("nonce", LargeBinary, nullable=False, unique=True),
    Column("rtt_ns", BigInteger, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("measured_at", DateTime(timezone=True), nullable=False),
    Column("scheme", String(40), nullable=False),
    Column("device_public_key", LargeBinary, nullable=False),
    Column("chip_signature", LargeBinary, nullable=False),
    Column("landmark_signature", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_measurements_chip_measured", "chip_id", "measured_at"),
)

location_verdicts_table = Table(
    "location_verdicts",
    metadata,
    Column("verdict_id", Integer, primary_key=True, autoincrement=True),
    Column("chip_id", String(200), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("declared_lat", Float, nullable=True),
    Column("declared_lon", Float, nullable=True),
    Column("declared_country", String(2), nullable=True),
    Column("n_landmarks", Integer, nullable=False),
    Column("evidence_json", Text, nullable=False),
    Index("ix_location_verdicts_chip_computed", "chip_id", "computed_at"),
)
