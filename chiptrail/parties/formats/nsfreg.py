"""The parsed-US-lists JSON form: ``{"list_id", "entities": [{"name", "aliases", "country"}]}``.

The shape of the 14-list 2026 snapshot described in shared/data/screening/README.md. The same
organisation listed under several countries stays one entry per (name, country), with its addresses.
"""

from __future__ import annotations

import json
import re
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

_PERSON_NAME = re.compile(r"^[^,]+, [^,]+$")


def _schema(list_id: str, name: str) -> str:
    # State debarment lists write individuals as "Surname, Given"; everything else is an entity.
    if list_id.startswith("state-debarred") and _PERSON_NAME.match(name):
        return "Person"
    return "LegalEntity"


def parse_nsfreg(data: bytes, list_id: str | None = None) -> PartySet:
    """Parse one list file of the parsed-US-lists JSON form.

    Args:
        data: the file's bytes.
        list_id: overrides the file's own ``list_id``.

    Raises:
        InvalidInput: not JSON, or without ``entities`` / entity names.
    """
    text, warnings = decode_text(data, "list file")
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"list file is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("entities"), list):
        raise InvalidInput("list file: expected an object with an 'entities' array")
    lid = list_id or str(doc.get("list_id") or "")
    if not lid:
        raise InvalidInput("list file has no list_id; pass one (--list-id)")
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    unknown: set[str] = set()
    for n, ent in enumerate(doc["entities"]):
        if not isinstance(ent, dict) or not str(ent.get("name") or "").strip():
            raise InvalidInput(f"list file: entity #{n} has no name", {"index": n})
        name = " ".join(str(ent["name"]).split())
        country_raw = str(ent.get("country") or "")
        key = (name, country_raw)
        slot = grouped.setdefault(key, {"aliases": [], "addresses": [], "sources": [], "dates": []})
        listed = parse_listing_date(str(ent.get("effective_date") or "")) or parse_listing_date(
            str(ent.get("federal_register") or "")
        )
        if listed is not None:
            slot["dates"].append(listed)
        slot["aliases"] += [str(a) for a in ent.get("aliases") or [] if str(a).strip()]
        if ent.get("address"):
            slot["addresses"].append(str(ent["address"]))
        if ent.get("federal_register"):
            slot["sources"].append(str(ent["federal_register"]))
    parties = []
    for (name, country_raw), slot in grouped.items():
        countries: tuple[str, ...] = ()
        if country_raw:
            code = country_code(country_raw)
            if code is None:
                unknown.add(country_raw)
            else:
                countries = (code,)
        parties.append(
            Party(
                party_id=PartyId(f"{lid}.{stable_id(name, country_raw)}"),
                schema=_schema(lid, name),
                name=name,
                aliases=tuple(dict.fromkeys(a for a in slot["aliases"] if a != name)),
                countries=countries,
                addresses=tuple(dict.fromkeys(slot["addresses"])),
                list_id=lid,
                source="; ".join(dict.fromkeys(slot["sources"])) or None,
                # The earliest date any of the merged rows was listed.
                listed_on=min(slot["dates"]) if slot["dates"] else None,
            )
        )
    warnings += [f"unknown country {c!r}: entry kept without a country" for c in sorted(unknown)]
    return PartySet(tuple(parties), warnings=tuple(warnings))
