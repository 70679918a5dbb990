"""Parse and validate trade records from JSON, JSON lines or CSV, and write them back as JSON.

No I/O: callers pass bytes (the CLI reads files, the API passes request bodies). Every refusal
names the row (0-based) and the field; nothing is returned half-parsed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter, ValidationError

from chiptrail.countries import is_country
from chiptrail.errors import InvalidInput
from chiptrail.records.model import SPECS, Record, RecordKind, spec_of

MAX_RECORDS = 100_000
_COUNTRY_FIELDS = ("country", "payer_country")
_COUNT_FIELDS = ("quantity", "capacity_chips")


class RecordFormat(StrEnum):
    """Input formats: a JSON array (or ``{"records": [...]}``), JSON lines, or CSV with a header."""

    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


_ADAPTERS: dict[RecordKind, TypeAdapter[Any]] = {
    kind: TypeAdapter(spec.cls) for kind, spec in SPECS.items()
}


def parse_kind(text: str) -> RecordKind:
    """The ``RecordKind`` named by ``text`` (``order``, ``licence`` ...).

    Raises:
        InvalidInput: an unknown kind (the message lists the known ones).
    """
    try:
        return RecordKind(text.strip().lower())
    except ValueError as exc:
        known = ", ".join(k.value for k in RecordKind)
        raise InvalidInput(
            f"unknown record kind {text!r}; one of {known}", {"field": "kind", "value": text}
        ) from exc


def _check(record: Record, row: int) -> None:
    def bad(field: str, why: str) -> InvalidInput:
        return InvalidInput(
            f"{spec_of(record).kind.value} row {row}: {field}: {why}", {"row": row, "field": field}
        )

    spec = spec_of(record)
    for name in (spec.id_field, *spec.party_fields):
        value = getattr(record, name)
        if value == "" or (isinstance(value, tuple) and any(not v for v in value)):
            raise bad(name, "must not be empty")
    for name in _COUNTRY_FIELDS:
        value = getattr(record, name, None)
        if value is not None and not is_country(value):
            raise bad(name, f"{value!r} is not an upper-case ISO 3166-1 alpha-2 code")
    for via in getattr(record, "ship_via", ()):
        if not is_country(via):
            raise bad("ship_via", f"{via!r} is not an upper-case ISO 3166-1 alpha-2 code")
    for name in _COUNT_FIELDS:
        value = getattr(record, name, None)
        if value is not None and value < 0:
            raise bad(name, "must be 0 or more")
    if getattr(record, "quantity", 1) == 0 and spec.kind in (RecordKind.ORDER,):
        raise bad("quantity", "an order needs at least 1 chip")
    for name in ("lat", "lon", "radius_km", "power_kw", "amount"):
        value = getattr(record, name, None)
        if value is not None and not math.isfinite(value):
            raise bad(name, "must be a finite number")  # pragma: no cover - pydantic refuses
    if hasattr(record, "lat") and not (-90 <= record.lat <= 90 and -180 <= record.lon <= 180):  # type: ignore[union-attr]
        raise bad("lat/lon", "outside -90..90 / -180..180 degrees")
    if getattr(record, "radius_km", 0.0) < 0:
        raise bad("radius_km", "must be 0 or more")
    for name in (f.name for f in fields(record)):
        value = getattr(record, name)
        if isinstance(value, datetime) and value.tzinfo is None:
            raise bad(name, "needs a time zone (e.g. 2026-01-31T00:00:00Z)")
    until = getattr(record, "valid_until", None)
    start = getattr(record, "valid_from", getattr(record, "issued_at", None))
    if until is not None and start is not None and until < start:
        raise bad("valid_until", "is before the record's start")


def validate_record(kind: RecordKind, data: Mapping[str, object], row: int = 0) -> Record:
    """One record of ``kind`` from a JSON-like mapping.

    Raises:
        InvalidInput: a missing, unknown or malformed field (message names row and field).
    """
    try:
        record: Record = _ADAPTERS[kind].validate_python(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(record)"
        msg = "unknown field" if first["type"] == "unexpected_keyword_argument" else first["msg"]
        raise InvalidInput(
            f"{kind.value} row {row}: {field}: {msg}",
            {"row": row, "field": field, "errors": exc.error_count()},
        ) from exc
    _check(record, row)
    times = {
        f.name: v.astimezone(UTC)
        for f in fields(record)
        if isinstance(v := getattr(record, f.name), datetime)
    }
    out: Record = replace(record, **times)  # type: ignore[arg-type]
    return out


def _csv_rows(kind: RecordKind, text: str) -> list[dict[str, object]]:
    reader = csv.DictReader(io.StringIO(text))
    known = set(SPECS[kind].field_names)
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in known]
    if unknown:
        raise InvalidInput(
            f"{kind.value} CSV: unknown column(s) {', '.join(unknown)}; known: "
            f"{', '.join(SPECS[kind].field_names)}",
            {"row": 0, "field": unknown[0]},
        )
    tuple_fields = {"ship_via", "site_ids", "consignees"}
    rows: list[dict[str, object]] = []
    for raw in reader:
        row: dict[str, object] = {}
        for key, value in raw.items():
            if key is None:
                raise InvalidInput(
                    f"{kind.value} CSV row {len(rows)}: more cells than columns",
                    {"row": len(rows), "field": "(row)"},
                )
            if value is None or value == "":
                continue  # empty cell: the field's default
            row[key] = (
                [v.strip() for v in value.split(";") if v.strip()]
                if (key in tuple_fields)
                else value
            )
        rows.append(row)
    return rows


def _json_rows(text: str, fmt: RecordFormat) -> list[object]:
    try:
        if fmt is RecordFormat.JSONL:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"not valid JSON: {exc.msg} (line {exc.lineno})", {"line": exc.lineno}
        ) from exc
    if isinstance(doc, Mapping) and isinstance(doc.get("records"), list):
        return list(doc["records"])
    if isinstance(doc, list):
        return doc
    if isinstance(doc, Mapping):
        return [doc]
    raise InvalidInput('JSON records must be an array or {"records": [...]}', {"field": "records"})


def detect_format(data: bytes) -> RecordFormat:
    """JSON when the text starts with ``[`` or ``{`` (several ``{`` lines: JSON lines), else CSV."""
    text = data.lstrip()[:1]
    if text == b"[":
        return RecordFormat.JSON
    if text == b"{":
        lines = [ln for ln in data.splitlines() if ln.strip()]
        return RecordFormat.JSONL if len(lines) > 1 else RecordFormat.JSON
    return RecordFormat.CSV


def parse_records(
    kind: RecordKind, data: bytes, fmt: RecordFormat | None = None
) -> tuple[Record, ...]:
    """Parse and validate every record of ``kind`` in ``data``.

    Raises:
        InvalidInput: undecodable bytes, no records, too many, or a bad row (named with its field).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("records must be UTF-8 text", {"offset": exc.start}) from exc
    fmt = fmt or detect_format(data)
    rows: Sequence[object] = (
        _csv_rows(kind, text) if fmt is RecordFormat.CSV else _json_rows(text, fmt)
    )
    return validate_records(kind, rows)


def validate_records(kind: RecordKind, rows: Sequence[object]) -> tuple[Record, ...]:
    """Validate already decoded rows (JSON objects); the same checks as ``parse_records``.

    Raises:
        InvalidInput: no rows, too many, a row that is not an object, or a bad field.
    """
    if not rows:
        raise InvalidInput(f"no {kind.value} records given", {"field": "records"})
    if len(rows) > MAX_RECORDS:
        raise InvalidInput(
            f"{len(rows)} records in one batch; at most {MAX_RECORDS}", {"field": "records"}
        )
    out = []
    for n, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"{kind.value} row {n}: not a JSON object", {"row": n})
        out.append(validate_record(kind, row, n))
    return tuple(out)


def record_to_json(record: Record) -> dict[str, Any]:
    """The JSON form of a record (what ``validate_record`` reads back); times in ISO 8601."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, StrEnum):
            return value.value
        return value

    return {k: plain(v) for k, v in asdict(record).items()}
