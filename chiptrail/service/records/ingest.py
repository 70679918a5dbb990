"""Use cases of the records capability: ingest trade records in one transaction, list them, and
read them back (as of a time) for the rules' view.

Validation lives in ``chiptrail.records`` (pure); this module owns the transaction and the party
scope: a caller acting for a party may only write and read records that name that party.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from chiptrail.errors import Conflict, InvalidInput, PermissionDenied
from chiptrail.records import (
    Record,
    RecordFormat,
    RecordKind,
    parse_records,
    record_at,
    record_key,
    record_parties,
    record_to_json,
    validate_records,
)
from chiptrail.records.formats import validate_record
from chiptrail.records.model import SPECS
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import as_utc
from chiptrail.store.records_tables import trade_record_parties, trade_records

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingest stored: new records, identical ones already stored, and warnings."""

    kind: RecordKind
    added: int
    unchanged: int
    record_keys: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``records add --json``, ``POST /v1/records/{kind}``)."""
        return {
            "kind": self.kind.value,
            "added": self.added,
            "unchanged": self.unchanged,
            "record_keys": list(self.record_keys),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of stored records (their JSON form plus ``kind``) and the total that matched."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def _check_scope(records: Sequence[Record], party: str | None) -> None:
    if party is None:
        return
    for n, rec in enumerate(records):
        if party not in record_parties(rec):
            spec = SPECS[RecordKind(_kind_of(rec))]
            raise PermissionDenied(
                f"row {n}: this key acts for {party}, which the record does not name in "
                f"{', '.join(spec.party_fields)}",
                {"row": n, "party_id": party},
            )


def _kind_of(rec: Record) -> str:
    for kind, spec in SPECS.items():
        if isinstance(rec, spec.cls):
            return kind.value
    raise TypeError(type(rec).__name__)  # pragma: no cover


def store_records(
    conn: Connection,
    records: Sequence[Record],
    *,
    now: datetime,
    submitted_by: str | None = None,
) -> tuple[int, int]:
    """Insert ``records`` inside the caller's transaction; returns (added, unchanged).

    A record whose kind and id are stored already with the same content is left as it is;
    with other content it is refused (records are evidence: correct them with a new id).

    Raises:
        Conflict: a record id is taken by a different record, or repeated within the batch.
    """
    seen: set[tuple[str, str]] = set()
    added = unchanged = 0
    for n, rec in enumerate(records):
        kind, key = _kind_of(rec), record_key(rec)
        if (kind, key) in seen:
            raise Conflict(f"{kind} row {n}: {key} appears twice in this batch", {"row": n})
        seen.add((kind, key))
        data = json.dumps(record_to_json(rec), sort_keys=True)
        old = conn.execute(
            select(trade_records.c.data).where(
                trade_records.c.kind == kind, trade_records.c.record_key == key
            )
        ).scalar()
        if old is not None:
            if old == data:
                unchanged += 1
                continue
            raise Conflict(
                f"{kind} row {n}: {key} is stored already with other content; records are not "
                "edited in place (submit the correction under a new id)",
                {"row": n, "record_key": key},
            )
        result = conn.execute(
            insert(trade_records).values(
                kind=kind,
                record_key=key,
                at=record_at(rec),
                recorded_at=now,
                submitted_by=submitted_by,
                data=data,
            )
        )
        record_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        parties = record_parties(rec)
        if parties:
            conn.execute(
                insert(trade_record_parties),
                [{"record_id": record_id, "party_id": p} for p in parties],
            )
        added += 1
    return added, unchanged


def add_records(
    db: Database,
    kind: RecordKind,
    rows: Sequence[object] | Sequence[Record],
    *,
    now: datetime,
    party: str | None = None,
) -> IngestResult:
    """Validate and store records of ``kind`` in one transaction (all or nothing).

    ``rows`` are JSON objects (validated here) or record values. ``party``: the party the caller
    acts for (None: staff, may write any record); each record must name it.

    Raises:
        InvalidInput: a bad row (named with its field). PermissionDenied: a record that does not
        name ``party``. Conflict: a record id already stored with other content.
    """
    spec = SPECS[kind]
    if rows and all(isinstance(r, spec.cls) for r in rows):
        records: tuple[Record, ...] = tuple(r for r in rows if isinstance(r, spec.cls))
    else:
        records = validate_records(kind, rows)
    _check_scope(records, party)
    with db.unit() as conn:
        added, unchanged = store_records(conn, records, now=now, submitted_by=party)
    return IngestResult(kind, added, unchanged, tuple(record_key(r) for r in records))


def ingest_records(
    db: Database,
    kind: RecordKind,
    data: bytes,
    *,
    now: datetime,
    fmt: RecordFormat | None = None,
    party: str | None = None,
) -> IngestResult:
    """Parse ``data`` (JSON, JSON lines or CSV; detected when ``fmt`` is None) and store it.

    Raises:
        InvalidInput, PermissionDenied, Conflict: as ``add_records``.
    """
    return add_records(db, kind, parse_records(kind, data, fmt), now=now, party=party)


def list_records(
    db: Database,
    *,
    kind: RecordKind | None = None,
    party: str | None = None,
    scope: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> RecordPage:
    """Stored records, oldest first; ``party`` filters to records naming it.

    ``scope``: the party the caller acts for (None: sees all); the listing never leaves it.

    Raises:
        InvalidInput: ``limit``/``offset`` out of range. PermissionDenied: ``party`` other than
        ``scope``.
    """
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset 0 or more", {"field": "limit"})
    if scope is not None:
        if party is not None and party != scope:
            raise PermissionDenied(
                "this key may only read its own party's records", {"party_id": party}
            )
        party = scope
    t, tp = trade_records, trade_record_parties
    query = select(t.c.kind, t.c.data, t.c.recorded_at)
    count = select(func.count()).select_from(t)
    if kind is not None:
        query = query.where(t.c.kind == kind.value)
        count = count.where(t.c.kind == kind.value)
    if party is not None:
        mine = select(tp.c.record_id).where(tp.c.party_id == party)
        query = query.where(t.c.record_id.in_(mine))
        count = count.where(t.c.record_id.in_(mine))
    with db.unit() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(query.order_by(t.c.at, t.c.record_id).limit(limit).offset(offset))
        items = [
            {
                "kind": r.kind,
                "recorded_at": as_utc(r.recorded_at).isoformat(),
                **json.loads(r.data),
            }
            for r in rows
        ]
    return RecordPage(items, total, limit, offset)


def load_records(conn: Connection, kind: RecordKind, until: datetime) -> list[Record]:
    """Every stored record of ``kind`` in effect by ``until`` (its date at or before it)."""
    t = trade_records
    rows = conn.scalars(
        select(t.c.data)
        .where(t.c.kind == kind.value, t.c.at <= until)
        .order_by(t.c.at, t.c.record_id)
    )
    return [validate_record(kind, json.loads(data)) for data in rows]
