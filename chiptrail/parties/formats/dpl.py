"""BIS's Denied Persons List as BIS publishes it: the tab-delimited text file (``dpl.txt``).

Header row (BIS "Denied Persons List with Denied US Export Privileges", tab-separated):
``Name, Street_Address, City, State, Country, Postal_Code, Effective_Date, Expiration_Date,
Standard_Order, Last_Update, Action, FR_Citation``. Dates are ``MM/DD/YYYY``; ``Country`` is an
ISO2 code or a name. One row per denial order and address: a person under several orders or at
several addresses has several rows, grouped here by name into one entry. Header names are matched
without case and underscores, so ``StreetAddress`` (the trade.gov API spelling) is read too.
"""

from __future__ import annotations

import csv
import io

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats._text import (
    country_code,
    decode_text,
    parse_listing_date,
    stable_id,
)
from chiptrail.parties.model import Party, PartySet
from chiptrail.types import PartyId

DPL_COLUMNS = (
    "name",
    "streetaddress",
    "city",
    "state",
    "country",
    "postalcode",
    "effectivedate",
    "expirationdate",
    "standardorder",
    "lastupdate",
    "action",
    "frcitation",
)
REQUIRED = ("name", "effectivedate")


def _key(header: str) -> str:
    return header.strip().lower().replace("_", "").replace(" ", "")


def looks_like_dpl(first_line: bytes) -> bool:
    """True when a header row is the DPL's (tab-separated, with Name and Effective_Date)."""
    cells = {_key(c.decode("utf-8", "replace")) for c in first_line.split(b"\t")}
    return b"\t" in first_line and set(REQUIRED) <= cells


def parse_dpl(data: bytes, list_id: str = "us-bis-dpl") -> PartySet:
    """Parse BIS's ``dpl.txt``.

    Raises:
        InvalidInput: undecodable bytes, no header, a missing required column, an empty name.
    """
    text, warnings = decode_text(data, "DPL text")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = [_key(h) for h in next(reader, [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InvalidInput(
                f"DPL text: missing column(s) {', '.join(missing)}; expected BIS's tab-separated "
                "header (Name, Street_Address, City, State, Country, Postal_Code, "
                "Effective_Date, ...)",
                {"missing": missing, "found": header},
            )
        grouped: dict[str, dict[str, list[str]]] = {}
        unknown: set[str] = set()
        for n, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise InvalidInput(f"DPL text line {n}: more cells than columns", {"line": n})
            row = dict(zip(header, (c.strip() for c in cells), strict=False))
            name = " ".join(row.get("name", "").split())
            if not name:
                raise InvalidInput(f"DPL text line {n}: empty name", {"line": n})
            slot = grouped.setdefault(
                name, {"addresses": [], "countries": [], "dates": [], "sources": []}
            )
            parts = [row.get(k, "") for k in ("streetaddress", "city", "state", "postalcode")]
            country = row.get("country", "")
            address = ", ".join(p for p in (*parts, country) if p)
            if address:
                slot["addresses"].append(address)
            if country:
                code = country_code(country)
                if code is None:
                    unknown.add(country)
                else:
                    slot["countries"].append(code)
            if row.get("effectivedate"):
                slot["dates"].append(row["effectivedate"])
            if row.get("frcitation"):
                slot["sources"].append(row["frcitation"])
    except csv.Error as exc:
        raise InvalidInput(f"DPL text: {exc}") from exc
    parties = []
    for name, slot in grouped.items():
        dates = [d for d in (parse_listing_date(x) for x in slot["dates"]) if d is not None]
        parties.append(
            Party(
                party_id=PartyId(f"{list_id}.{stable_id(name)}"),
                schema="LegalEntity",
                name=name,
                countries=tuple(dict.fromkeys(slot["countries"])),
                addresses=tuple(dict.fromkeys(slot["addresses"])),
                list_id=list_id,
                programs=("Denied Persons List",),
                source="; ".join(dict.fromkeys(slot["sources"])) or None,
                listed_on=min(dates) if dates else None,
            )
        )
    warnings += [f"unknown country {c!r}: ignored" for c in sorted(unknown)]
    return PartySet(tuple(parties), warnings=tuple(warnings))
