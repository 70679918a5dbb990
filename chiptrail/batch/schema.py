"""Arrow schemas of the batch jobs' Parquet data sets (measurements, sites, verdicts, custody).

Owns the column names and types that docs/batch.md documents; leaves reading and writing to
local.py and spark.py. ``day`` and ``region`` are Hive-style directory keys
(``day=2026-11-25/region=apac/part-0.parquet``), not columns inside the files.
"""

from __future__ import annotations

import pyarrow as pa

from chiptrail.errors import InvalidInput

PARTITION_KEYS = ("day", "region")
"""Directory keys of every partitioned data set, outermost first."""

PARTITION_SCHEMA = pa.schema([("day", pa.date32()), ("region", pa.string())])
"""Types of the directory keys (a UTC calendar day; a routing region such as ``apac``)."""

MEASUREMENT_SCHEMA = pa.schema(
    [
        pa.field("chip_id", pa.string(), nullable=False),
        pa.field("landmark_id", pa.string(), nullable=False),
        pa.field("rtt_ms", pa.float64(), nullable=False),
        pa.field("measured_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
    ]
)
"""Long form: one row per (chip, landmark, probe). Repeats allowed; the minimum RTT counts."""

SITE_SCHEMA = pa.schema(
    [
        pa.field("chip_id", pa.string(), nullable=False),
        pa.field("site_lat", pa.float64(), nullable=False),
        pa.field("site_lon", pa.float64(), nullable=False),
        pa.field("site_country", pa.string(), nullable=False),
        pa.field("site_radius_km", pa.float64()),
    ]
)
"""Declared site of each chip (one row per chip, not partitioned)."""

SITE_COLUMNS = ("site_lat", "site_lon", "site_country", "site_radius_km")


def wide_schema(with_sites: bool) -> pa.Schema:
    """Per-chip landmark vectors: the kernel's input (built by the pivot, never stored).

    ``rtt_ms`` holds one value per landmark in landmarks.csv order; null = not measured.
    """
    fields = [
        pa.field("chip_id", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("rtt_ms", pa.list_(pa.float64())),
    ]
    if with_sites:
        fields += [f for f in SITE_SCHEMA if f.name in SITE_COLUMNS]
    return pa.schema(fields)


VERDICT_SCHEMA = pa.schema(
    [
        pa.field("chip_id", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("proven_radius_km", pa.float64()),
        pa.field("likely_radius_km", pa.float64()),
        pa.field("min_disk_km", pa.float64()),
        pa.field("resolution_km", pa.float64()),
        pa.field("likely_widened", pa.float64()),
        pa.field("n_landmarks", pa.int32(), nullable=False),
        pa.field("binding_landmark", pa.string()),
        pa.field("proven_countries", pa.list_(pa.string())),
        pa.field("likely_countries", pa.list_(pa.string())),
        pa.field("verdict", pa.string()),
        pa.field("reason", pa.string()),
    ]
)
"""One row per (chip, day, region): the region solved from that day's minimum RTTs, and the
verdict against the declared site (null when the chip has no declared site)."""

CUSTODY_SCHEMA = pa.schema(
    [
        pa.field("buyer_id", pa.string(), nullable=False),
        pa.field("chip_model", pa.string(), nullable=False),
        pa.field("quantity", pa.int64(), nullable=False),
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
    ]
)
"""Chips delivered to buyers (``CustodyRecord`` rows); partitioned by ``day`` only."""

VOLUME_SCHEMA = pa.schema(
    [
        pa.field("parent_id", pa.string(), nullable=False),
        pa.field("window_start_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("window_end_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("chips", pa.int64(), nullable=False),
        pa.field("tpp_total", pa.float64(), nullable=False),
        pa.field("h100_equivalents", pa.float64(), nullable=False),
        pa.field("n_buyers", pa.int32(), nullable=False),
        pa.field("max_buyer_chips", pa.int64(), nullable=False),
        pa.field("split_orders", pa.bool_(), nullable=False),
    ]
)
"""The busiest rolling window of each ultimate parent (as ``parties.aggregate_volumes``)."""


def check_columns(schema: pa.Schema, expected: pa.Schema, what: str) -> None:
    """Raise InvalidInput naming the first column of ``expected`` missing from ``schema``."""
    for f in expected:
        if f.name not in schema.names:
            raise InvalidInput(
                f"{what}: column {f.name!r} is missing (expected {', '.join(expected.names)})",
                {"field": f.name},
            )
