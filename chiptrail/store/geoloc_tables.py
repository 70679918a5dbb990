"""Tables of the location capability: landmarks, chip device keys, signed measurements, verdicts.

Declared here, created only by migration 0004. Rows are written by ``service/location/probe.py``
inside one unit of work; measurement rows are append-only (the nonce is unique, so a replay cannot
land).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

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
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, RowMapping

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


_IN_CHUNK = 500


def _new_id(key: Sequence[object] | None) -> int:
    if key is None or not isinstance(key[0], int):
        raise TypeError("insert returned no integer primary key")  # pragma: no cover
    return key[0]


def as_utc(at: datetime) -> datetime:
    """Read back a stored time as aware UTC (SQLite returns naive datetimes)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


_MEASUREMENT_COLUMNS = (
    "chip_id",
    "landmark_id",
    "nonce",
    "rtt_ns",
    "issued_at",
    "measured_at",
    "scheme",
    "device_public_key",
    "chip_signature",
    "landmark_signature",
    "received_at",
)
_PG_INSERT_MEASUREMENTS = (
    "INSERT INTO measurements (chip_id, landmark_id, nonce, rtt_ns, issued_at, measured_at,"
    " scheme, device_public_key, chip_signature, landmark_signature, received_at)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[], %b::bigint[],"
    " %b::timestamptz[], %b::timestamptz[], %b::text[], %b::bytea[], %b::bytea[], %b::bytea[],"
    " %b::timestamptz[])"
    " ON CONFLICT (nonce) DO NOTHING RETURNING nonce, measurement_id"
)
"""PostgreSQL: a batch's rows as one array per column, binary-encoded (one short statement to
parse and plan whatever the batch size, no per-value escaping)."""


class ProbeRepository:
    """Reads and writes of the location tables inside a caller's unit of work (never commits)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def landmark(self, landmark_id: str) -> RowMapping | None:
        """One landmark row, or None."""
        stmt = select(landmarks_table).where(landmarks_table.c.landmark_id == landmark_id)
        return self.conn.execute(stmt).mappings().first()

    def landmarks(self) -> list[RowMapping]:
        """All landmark rows by id."""
        stmt = select(landmarks_table).order_by(landmarks_table.c.landmark_id)
        return list(self.conn.execute(stmt).mappings())

    def insert_landmark(self, row: Mapping[str, object]) -> None:
        """Add a landmark row."""
        self.conn.execute(insert(landmarks_table).values(**row))

    def device_key(self, chip_id: str) -> RowMapping | None:
        """A chip's registered device key row, or None."""
        stmt = select(chip_device_keys_table).where(chip_device_keys_table.c.chip_id == chip_id)
        return self.conn.execute(stmt).mappings().first()

    def device_keys(self) -> list[RowMapping]:
        """Every registered device key row, by chip id."""
        stmt = select(chip_device_keys_table).order_by(chip_device_keys_table.c.chip_id)
        return list(self.conn.execute(stmt).mappings())

    def insert_device_key(self, row: Mapping[str, object]) -> None:
        """Register a device key row."""
        self.conn.execute(insert(chip_device_keys_table).values(**row))

    def landmarks_by_id(self, landmark_ids: Iterable[str]) -> list[RowMapping]:
        """The rows of the named landmarks that exist (one ``IN`` query per 500 ids)."""
        return self._by_key(landmarks_table, landmarks_table.c.landmark_id, landmark_ids)

    def device_keys_by_chip(self, chip_ids: Iterable[str]) -> list[RowMapping]:
        """The device key rows of the named chips that have one (one ``IN`` per 500 ids)."""
        t = chip_device_keys_table
        return self._by_key(t, t.c.chip_id, chip_ids)

    def _by_key(self, table: Table, column: Column[str], keys: Iterable[str]) -> list[RowMapping]:
        wanted = sorted(set(keys))
        out: list[RowMapping] = []
        for start in range(0, len(wanted), _IN_CHUNK):
            stmt = select(table).where(column.in_(wanted[start : start + _IN_CHUNK]))
            out.extend(self.conn.execute(stmt).mappings())
        return out

    def insert_device_keys(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Register device key rows (one multi-row INSERT)."""
        if rows:
            self.conn.execute(insert(chip_device_keys_table), list(rows))

    def insert_landmarks(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Add landmark rows (one multi-row INSERT)."""
        if rows:
            self.conn.execute(insert(landmarks_table), list(rows))

    def insert_new_measurements(self, rows: Sequence[Mapping[str, object]]) -> dict[bytes, int]:
        """Append measurement rows whose nonce is new; returns nonce -> id of the rows stored.

        One multi-row ``INSERT ... ON CONFLICT (nonce) DO NOTHING RETURNING`` (SQLite; on
        PostgreSQL the rows travel as arrays spread by ``unnest``): the unique nonce refuses
        replays, including a concurrent batch's, with no SELECT first; rows left out of the
        answer were replays.
        """
        if not rows:
            return {}
        t = measurements_table
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            params = [[r[c] for r in rows] for c in _MEASUREMENT_COLUMNS]
            found = self.conn.exec_driver_sql(_PG_INSERT_MEASUREMENTS, tuple(params))
            return {bytes(nonce): int(mid) for nonce, mid in found}
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            make(t)
            .on_conflict_do_nothing(index_elements=[t.c.nonce])
            .returning(t.c.nonce, t.c.measurement_id)
        )
        result = self.conn.execute(stmt, list(rows))
        return {bytes(nonce): int(mid) for nonce, mid in result}

    def measurements(self, chip_id: str, since: datetime, until: datetime) -> list[RowMapping]:
        """A chip's measurements with ``since <= measured_at <= until``, oldest first."""
        m = measurements_table.c
        stmt = (
            select(measurements_table)
            .where(m.chip_id == chip_id, m.measured_at >= since, m.measured_at <= until)
            .order_by(m.measured_at, m.measurement_id)
        )
        return list(self.conn.execute(stmt).mappings())

    def latest_measured_at(self, chip_id: str) -> datetime | None:
        """When the chip was last measured, or None."""
        m = measurements_table.c
        stmt = select(func.max(m.measured_at)).where(m.chip_id == chip_id)
        value = self.conn.execute(stmt).scalar()
        return None if value is None else as_utc(value)

    def insert_verdict(self, row: Mapping[str, object]) -> int:
        """Append a location verdict row; returns its id."""
        result = self.conn.execute(insert(location_verdicts_table).values(**row))
        return _new_id(result.inserted_primary_key)
