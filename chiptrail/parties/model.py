"""Parties on the FollowTheMoney model: legal entities, ownership and directorship links.

No I/O: callers pass FtM entity dicts (as in OpenSanctions JSON lines) and get frozen values back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chiptrail.errors import InvalidInput
from chiptrail.types import PartyId

PARTY_SCHEMATA = frozenset(
    {"LegalEntity", "Company", "Person", "Organization", "PublicBody", "Vessel", "Airplane"}
)
"""FtM schemata that become screenable parties (the rest are links, sanctions or ignored)."""

IDENTIFIER_PROPERTIES = (
    "registrationNumber",
    "leiCode",
    "uscCode",
    "innCode",
    "ogrnCode",
    "taxNumber",
    "vatCode",
    "dunsCode",
    "swiftBic",
    "imoNumber",
    "idNumber",
)
"""FtM properties read as identifiers (all written back as ``registrationNumber``)."""
LISTING_DATE_PROPERTIES = ("listingDate", "createdAt", "startDate")
"""FtM-style properties read, in this order, as the listing date."""

_PCT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*%?\s*$")


@dataclass(frozen=True, slots=True)
class Party:
    """A person, company or organisation, optionally an entry of a restricted-party list.

    Attributes:
        party_id: unique id (list entries: ``<list_id>.<entry id>``).
        schema: FtM schema name (``Company``, ``Person``, ``Organization``, ``LegalEntity`` ...).
        name: primary name as published.
        aliases: a.k.a. names (FtM ``alias`` and ``weakAlias``).
        previous_names: former names (f.k.a.; FtM ``previousName``).
        countries: upper-case ISO 3166-1 alpha-2 codes (or other FtM territory codes, upper-cased).
        addresses: free-text addresses.
        list_id: the screening list this entry comes from, None for ordinary parties.
        programs: sanction programmes / list sections.
        source: citation (Federal Register notice, source URL).
        identifiers: registration numbers, LEI, USCC, INN, OGRN, IMO ... as published.
        listed_on: the date the entry was put on its list, where the source gives one (CSL
            ``start_date``, FtM ``createdAt``/``listingDate``, a Federal Register citation).
        incorporation_date: FtM ``incorporationDate`` as given (``YYYY``, ``YYYY-MM``,
            ``YYYY-MM-DD`` or a full ISO time), None when unknown.
        sectors: FtM ``sector`` values.
    """

    party_id: PartyId
    schema: str
    name: str
    aliases: tuple[str, ...] = ()
    previous_names: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    list_id: str | None = None
    programs: tuple[str, ...] = ()
    source: str | None = None
    identifiers: tuple[str, ...] = ()
    listed_on: date | None = None
    incorporation_date: str | None = None
    sectors: tuple[str, ...] = ()

    @property
    def all_names(self) -> tuple[str, ...]:
        """Primary name, then aliases, then former names, without duplicates."""
        return tuple(dict.fromkeys((self.name, *self.aliases, *self.previous_names)))


@dataclass(frozen=True, slots=True)
class Ownership:
    """``owner_id`` owns ``percentage`` percent (0..100, None when unknown) of ``asset_id``."""

    link_id: str
    owner_id: PartyId
    asset_id: PartyId
    percentage: float | None


@dataclass(frozen=True, slots=True)
class Directorship:
    """``director_id`` sits on the board of (or manages) ``organization_id``."""

    link_id: str
    director_id: PartyId
    organization_id: PartyId
    role: str | None = None


@dataclass(frozen=True, slots=True)
class PartySet:
    """Parties and links parsed from one file, plus the warnings met on the way."""

    parties: tuple[Party, ...]
    ownerships: tuple[Ownership, ...] = ()
    directorships: tuple[Directorship, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def parse_percentage(raw: str) -> float:
    """Parse an FtM percentage (``"60"``, ``"60%"``, ``"50.5 %"``, ranges ``"25-50%"`` → lower end).

    Raises:
        InvalidInput: unparsable or outside 0..100.
    """
    m = _PCT.match(raw)
    if m is None:
        raise InvalidInput(f"percentage {raw!r} is not a number between 0 and 100")
    value = float(m.group(1))
    if not 0.0 <= value <= 100.0:
        raise InvalidInput(f"percentage {raw!r} is outside 0..100")
    return value


def parse_listing_date(raw: str | None) -> date | None:
    """The date at the start of an ISO date or timestamp (``2021-08-02``, ``2021-08-02T10:00``),
    None when absent or unreadable."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def _listing_date(data: Mapping[str, Any], props: Mapping[str, list[str]]) -> date | None:
    raw_props = data.get("properties")
    raw = raw_props if isinstance(raw_props, Mapping) else {}
    for key in LISTING_DATE_PROPERTIES:
        values = props.get(key) or raw.get(key) or []
        if isinstance(values, list) and values:
            found = parse_listing_date(str(values[0]))
            if found is not None:
                return found
    return None


def _first(props: Mapping[str, list[str]], key: str) -> str | None:
    values = props.get(key) or []
    return values[0] if values else None


def from_ftm(data: Mapping[str, Any]) -> Party | Ownership | Directorship | None:
    """Convert one FtM entity dict (``{"id", "schema", "properties"}``) to a chiptrail value.

    Values are cleaned by followthemoney (countries become ISO codes). Schemata other than parties,
    ``Ownership`` and ``Directorship`` (e.g. ``Sanction``, ``Address``) return None.

    Raises:
        InvalidInput: no id, unknown schema, a link without both ends, a bad percentage.
    """
    # followthemoney loads its schemata on import (~0.3 s): screening one name does not need it.
    from followthemoney import model as ftm_model
    from followthemoney.exc import InvalidData

    entity_id = data.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise InvalidInput("FtM entity without an id", {"entity": dict(data)})
    try:
        proxy = ftm_model.get_proxy(dict(data), cleaned=False)
    except (InvalidData, TypeError, ValueError) as exc:
        raise InvalidInput(f"FtM entity {entity_id}: {exc}", {"entity_id": entity_id}) from exc
    props: dict[str, list[str]] = {k: list(v) for k, v in proxy.properties.items()}
    schema = proxy.schema.name
    if schema == "Ownership":
        owner, asset = _first(props, "owner"), _first(props, "asset")
        if not owner or not asset:
            raise InvalidInput(
                f"Ownership {entity_id} needs owner and asset, each an FtM entity id "
                "(letters, digits, '.' and '-')"
            )
        pct_raw = _first(props, "percentage")
        pct = parse_percentage(pct_raw) if pct_raw is not None else None
        return Ownership(entity_id, PartyId(owner), PartyId(asset), pct)
    if schema == "Directorship":
        director, org = _first(props, "director"), _first(props, "organization")
        if not director or not org:
            raise InvalidInput(
                f"Directorship {entity_id} needs director and organization (FtM entity ids)"
            )
        return Directorship(entity_id, PartyId(director), PartyId(org), _first(props, "role"))
    if schema not in PARTY_SCHEMATA and not proxy.schema.is_a("LegalEntity"):
        return None
    names = props.get("name") or []
    if not names:
        raise InvalidInput(f"{schema} {entity_id} has no name", {"entity_id": entity_id})
    countries = props.get("country", []) + props.get("jurisdiction", [])
    return Party(
        party_id=PartyId(entity_id),
        schema=schema,
        name=names[0],
        aliases=tuple(names[1:] + props.get("alias", []) + props.get("weakAlias", [])),
        previous_names=tuple(props.get("previousName", [])),
        countries=tuple(dict.fromkeys(c.upper() for c in countries)),
        addresses=tuple(props.get("address", [])),
        programs=tuple(props.get("program", [])),
        source=_first(props, "sourceUrl"),
        identifiers=tuple(
            dict.fromkeys(v for k in IDENTIFIER_PROPERTIES for v in props.get(k, []))
        ),
        listed_on=_listing_date(data, props),
        incorporation_date=_first(props, "incorporationDate"),
        sectors=tuple(props.get("sector", [])),
    )


def to_ftm(value: Party | Ownership | Directorship) -> dict[str, Any]:
    """The FtM entity dict of a chiptrail value (inverse of ``from_ftm`` for the kept fields)."""
    if isinstance(value, Ownership):
        props: dict[str, list[str]] = {"owner": [value.owner_id], "asset": [value.asset_id]}
        if value.percentage is not None:
            props["percentage"] = [f"{value.percentage:g}"]
        return {"id": value.link_id, "schema": "Ownership", "properties": props}
    if isinstance(value, Directorship):
        props = {"director": [value.director_id], "organization": [value.organization_id]}
        if value.role:
            props["role"] = [value.role]
        return {"id": value.link_id, "schema": "Directorship", "properties": props}
    props = {"name": [value.name]}
    optional = {
        "alias": value.aliases,
        "previousName": value.previous_names,
        "country": tuple(c.lower() for c in value.countries),
        "address": value.addresses,
        "program": value.programs,
        "sourceUrl": (value.source,) if value.source else (),
        "registrationNumber": value.identifiers,
        "createdAt": (value.listed_on.isoformat(),) if value.listed_on else (),
        "incorporationDate": (value.incorporation_date,) if value.incorporation_date else (),
        "sector": value.sectors,
    }
    props.update({k: list(v) for k, v in optional.items() if v})
    if value.list_id:
        props["topics"] = ["sanction"]
    return {"id": value.party_id, "schema": value.schema, "properties": props}


def collect_party_set(values: Iterable[Party | Ownership | Directorship | None]) -> PartySet:
    """Group converted FtM values into a ``PartySet``, checking ownership sanity.

    Self-ownership is dropped with a warning; percentages into one asset that sum over 100 are kept
    with a warning (lists are often stale; the graph caps the aggregate at 100).
    """
    parties: list[Party] = []
    owns: list[Ownership] = []
    dirs: list[Directorship] = []
    warnings: list[str] = []
    for v in values:
        if isinstance(v, Party):
            parties.append(v)
        elif isinstance(v, Ownership):
            if v.owner_id == v.asset_id:
                warnings.append(f"ownership {v.link_id}: {v.owner_id} owns itself; ignored")
                continue
            owns.append(v)
        elif isinstance(v, Directorship):
            dirs.append(v)
    warnings.extend(check_ownership_sums(owns))
    return PartySet(tuple(parties), tuple(owns), tuple(dirs), tuple(warnings))


def check_ownership_sums(ownerships: Iterable[Ownership]) -> list[str]:
    """Warnings for assets whose recorded owners hold more than 100% in total."""
    totals: dict[str, float] = {}
    for o in ownerships:
        if o.percentage is not None:
            totals[o.asset_id] = totals.get(o.asset_id, 0.0) + o.percentage
    return [
        f"ownership of {asset} sums to {total:g}% (over 100%)"
        for asset, total in sorted(totals.items())
        if total > 100.0 + 1e-9
    ]
