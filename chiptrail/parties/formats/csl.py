"""The US Consolidated Screening List (trade.gov) in its CSV and JSON downloads.

CSV columns (header row, trade.gov ``consolidated.csv``): ``_id, source, entity_number, type,
programs, name, title, addresses, federal_register_notice, start_date, end_date, standard_order,
license_requirement, license_policy, call_sign, vessel_type, gross_tonnage,
gross_registered_tonnage, vessel_flag, vessel_owner, remarks, source_list_url, alt_names,
citizenships, dates_of_birth, nationalities, places_of_birth, source_information_url, ids``.
Multi-valued cells are joined with
``"; "``; an address is ``street, city, state, postal code, country`` (ISO2 last). Only ``name`` and
``source`` are required; other columns are optional. JSON: ``{"results": [...]}`` (or a bare array)
with ``alt_names`` as an array and ``addresses`` as objects with a ``country`` field; the
camelCase spelling (``altNames``, ``sourceList``) is accepted too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats._text import (
    country_code,
    decode_text,
    parse_listing_date,
    stable_id,
)
from chiptrail.parties.model import Party, PartySet
from chiptrail.types import PartyId

REQUIRED_COLUMNS = ("name", "source")
_SCHEMA = {
    "individual": "Person",
    "entity": "LegalEntity",
    "vessel": "Vessel",
    "aircraft": "Airplane",
}
_NAME_LIMIT = 500
_NOT_IDENTIFIERS = ("website", "email", "e-mail", "phone", "telephone", "fax", "url")


def _identifiers(cell: Any) -> tuple[str, ...]:
    """Identifier numbers from the ``ids`` cell: JSON objects with ``number``, or CSV
    ``"type, number, country, ..."`` items joined with ``"; "``; contact details are skipped."""
    items: list[tuple[str, str]] = []
    if isinstance(cell, list):
        items = [
            (str(i.get("type") or ""), str(i.get("number") or ""))
            for i in cell
            if isinstance(i, Mapping)
        ]
    else:
        for part in _split(cell if isinstance(cell, str) else None):
            bits = [b.strip() for b in part.split(",")]
            items.append((bits[0], bits[1] if len(bits) > 1 else ""))
    return tuple(
        dict.fromkeys(
            num
            for kind, num in items
            if num and not any(w in kind.lower() for w in _NOT_IDENTIFIERS)
        )
    )


def _split(cell: str | None) -> list[str]:
    return [p.strip() for p in (cell or "").split(";") if p.strip()]


def _countries(codes: list[str], unknown: set[str]) -> tuple[str, ...]:
    out = []
    for raw in codes:
        code = country_code(raw)
        if code is None:
            unknown.add(raw)
        else:
            out.append(code)
    return tuple(dict.fromkeys(out))


def _party(row: Mapping[str, Any], list_id: str, n: int, unknown: set[str]) -> Party:
    name = " ".join(str(row.get("name") or "").split())
    if not name:
        raise InvalidInput(f"CSL row {n}: empty name", {"row": n})
    if len(name) > _NAME_LIMIT:
        raise InvalidInput(f"CSL row {n}: name longer than {_NAME_LIMIT} characters", {"row": n})
    alt = row.get("alt_names", row.get("altNames"))
    aliases = alt if isinstance(alt, list) else _split(alt)
    addr = row.get("addresses")
    addresses: list[str] = []
    codes: list[str] = []
    if isinstance(addr, list):
        for a in addr:
            if isinstance(a, Mapping):
                parts = [str(a.get(k) or "") for k in ("address", "city", "state", "postal_code")]
                addresses.append(", ".join(p for p in parts if p))
                if a.get("country"):
                    codes.append(str(a["country"]))
    else:
        for a in _split(addr):
            addresses.append(a)
            last = a.rsplit(",", 1)[-1].strip()
            if len(last) == 2 and last.isalpha():
                codes.append(last)
    for key in ("nationalities", "citizenships"):
        val = row.get(key)
        codes += [str(v) for v in val] if isinstance(val, list) else _split(val)
    source = str(row.get("source") or row.get("sourceList") or "")
    entry = str(row.get("_id") or row.get("id") or row.get("entity_number") or "")
    programs = row.get("programs")
    return Party(
        party_id=PartyId(f"{list_id}.{entry or stable_id(source, name)}"),
        schema=_SCHEMA.get(str(row.get("type") or "entity").strip().lower(), "LegalEntity"),
        name=name,
        aliases=tuple(dict.fromkeys(str(a).strip() for a in aliases if str(a).strip() != name)),
        countries=_countries(codes, unknown),
        addresses=tuple(addresses),
        list_id=list_id,
        programs=tuple([source] + (programs if isinstance(programs, list) else _split(programs))),
        source=str(row.get("federal_register_notice") or row.get("source_list_url") or "") or None,
        identifiers=_identifiers(row.get("ids")),
        listed_on=parse_listing_date(str(row.get("start_date") or row.get("startDate") or "")),
    )


def _finish(parties: list[Party], warnings: list[str], unknown: set[str]) -> PartySet:
    warnings += [f"unknown country {c!r}: ignored" for c in sorted(unknown)]
    seen: dict[str, Party] = {}
    for p in parties:
        if p.party_id in seen:
            warnings.append(f"duplicate entry id {p.party_id}: later row kept")
        seen[p.party_id] = p
    return PartySet(tuple(seen.values()), warnings=tuple(warnings))


def parse_csl_csv(data: bytes, list_id: str = "us-csl") -> PartySet:
    """Parse the CSL CSV download.

    Raises:
        InvalidInput: undecodable bytes, no header, a missing required column, an empty name.
    """
    text, warnings = decode_text(data, "CSL CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            f"CSL CSV: missing column(s) {', '.join(missing)}; expected the trade.gov header "
            "(_id, source, entity_number, type, programs, name, ..., alt_names, ...)",
            {"missing": missing, "found": header},
        )
    reader.fieldnames = header
    parties: list[Party] = []
    unknown: set[str] = set()
    try:
        for n, row in enumerate(reader, start=2):
            if None in row:
                raise InvalidInput(f"CSL CSV line {n}: more cells than columns", {"line": n})
            parties.append(_party(row, list_id, n, unknown))
    except csv.Error as exc:
        raise InvalidInput(f"CSL CSV: {exc}") from exc
    return _finish(parties, warnings, unknown)


def parse_csl_json(data: bytes, list_id: str = "us-csl") -> PartySet:
    """Parse the CSL JSON download (``{"results": [...]}`` or a bare array).

    Raises:
        InvalidInput: not JSON, no results array, an entry that is not an object or has no name.
    """
    text, warnings = decode_text(data, "CSL JSON")
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"CSL JSON is not JSON: {exc}") from exc
    rows = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise InvalidInput("CSL JSON: expected {'results': [...]} or an array of entries")
    parties: list[Party] = []
    unknown: set[str] = set()
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidInput(f"CSL JSON entry #{n} is not an object", {"index": n})
        parties.append(_party(row, list_id, n, unknown))
    return _finish(parties, warnings, unknown)
