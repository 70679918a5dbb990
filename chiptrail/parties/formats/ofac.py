"""OFAC's SDN list in its legacy CSV files: ``sdn.csv`` plus optional ``alt.csv`` and ``add.csv``.

The files have no header. ``sdn.csv``: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks. ``alt.csv``: ent_num, alt_num, alt_type
(``aka``/``fka``/``nka``), alt_name, alt_remarks. ``add.csv``: ent_num, add_num, address,
city/state/postal, country, add_remarks. ``-0-`` means empty; a trailing Ctrl-Z line is ignored.
"""

from __future__ import annotations

import csv
import io

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats._text import country_code, decode_text
from chiptrail.parties.model import Party, PartySet
from chiptrail.types import PartyId

SDN_COLUMNS = 12
_SCHEMA = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}


def _rows(data: bytes, what: str, width: int, warnings: list[str]) -> list[list[str]]:
    text, w = decode_text(data, what)
    warnings += w
    out = []
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            cells = [c.strip() for c in row]
            if not cells or all(c in ("", "\x1a") for c in cells):
                continue
            if len(cells) != width:
                raise InvalidInput(
                    f"{what} line {n}: {len(cells)} columns, expected {width}",
                    {"line": n, "columns": len(cells)},
                )
            out.append(["" if c == "-0-" else c for c in cells])
    except csv.Error as exc:
        raise InvalidInput(f"{what}: {exc}") from exc
    return out


def parse_ofac_sdn(
    sdn: bytes, alt: bytes | None = None, add: bytes | None = None, list_id: str = "ofac-sdn"
) -> PartySet:
    """Parse ``sdn.csv`` and, when given, its alias and address companions.

    Raises:
        InvalidInput: wrong column count, a non-numeric ent_num, an empty name, undecodable bytes.
    """
    warnings: list[str] = []
    entries: dict[str, dict[str, list[str] | str]] = {}
    for row in _rows(sdn, "sdn.csv", SDN_COLUMNS, warnings):
        ent, name, kind, program = row[0], row[1], row[2].lower(), row[3]
        if not ent.isdigit():
            raise InvalidInput(f"sdn.csv: ent_num {ent!r} is not a number", {"ent_num": ent})
        if not name:
            raise InvalidInput(f"sdn.csv: entry {ent} has no name", {"ent_num": ent})
        entries[ent] = {
            "name": name,
            "schema": _SCHEMA.get(kind, "LegalEntity"),
            "programs": [p.strip("[] ") for p in program.split(";") if p.strip("[] ")],
            "aliases": [],
            "previous": [],
            "addresses": [],
            "countries": [],
        }
    unknown: set[str] = set()
    if alt is not None:
        for ent, _num, kind, name, _rem in _rows(alt, "alt.csv", 5, warnings):
            if ent not in entries:
                warnings.append(f"alt.csv: alias for unknown entry {ent} ignored")
                continue
            key = "previous" if kind.lower() == "fka" else "aliases"
            entries[ent][key].append(name)  # type: ignore[union-attr]
    if add is not None:
        for ent, _num, street, city, country, _rem in _rows(add, "add.csv", 6, warnings):
            if ent not in entries:
                warnings.append(f"add.csv: address for unknown entry {ent} ignored")
                continue
            entries[ent]["addresses"].append(  # type: ignore[union-attr]
                ", ".join(p for p in (street, city, country) if p)
            )
            if country:
                code = country_code(country)
                if code is None:
                    unknown.add(country)
                else:
                    entries[ent]["countries"].append(code)  # type: ignore[union-attr]
    warnings += [f"add.csv: unknown country {c!r} ignored" for c in sorted(unknown)]
    parties = tuple(
        Party(
            party_id=PartyId(f"{list_id}.{ent}"),
            schema=str(e["schema"]),
            name=str(e["name"]),
            aliases=tuple(dict.fromkeys(e["aliases"])),
            previous_names=tuple(dict.fromkeys(e["previous"])),
            countries=tuple(dict.fromkeys(e["countries"])),
            addresses=tuple(e["addresses"]),
            list_id=list_id,
            programs=tuple(e["programs"]),
        )
        for ent, e in entries.items()
    )
    return PartySet(parties, warnings=tuple(warnings))
