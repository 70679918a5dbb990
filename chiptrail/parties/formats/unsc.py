"""The UN Security Council Consolidated List in its XML form (``consolidated.xml``).

Layout (scsanctions.un.org ``resources/xml/en/consolidated.xml``): ``CONSOLIDATED_LIST`` holds
``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``. Each has ``DATAID``, ``REFERENCE_NUMBER``,
``UN_LIST_TYPE`` (the sanctions regime), ``LISTED_ON`` (ISO date) and, for individuals, the name in
``FIRST_NAME`` .. ``FOURTH_NAME`` (entities: ``FIRST_NAME`` only), ``NAME_ORIGINAL_SCRIPT``,
``NATIONALITY/VALUE``, ``INDIVIDUAL_ALIAS``/``ENTITY_ALIAS`` (``QUALITY``, ``ALIAS_NAME``),
``INDIVIDUAL_ADDRESS``/``ENTITY_ADDRESS`` (``STREET``, ``CITY``, ``STATE_PROVINCE``,
``COUNTRY``) and ``INDIVIDUAL_DOCUMENT`` (``TYPE_OF_DOCUMENT``, ``NUMBER``). A file with a DTD
or entity declarations is refused (no entity expansion).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, fromstring

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats._text import country_code, parse_listing_date
from chiptrail.parties.model import Party, PartySet
from chiptrail.types import PartyId


def looks_like_unsc(head: bytes) -> bool:
    """True when the first bytes are the UN consolidated list's XML."""
    return b"<CONSOLIDATED_LIST" in head


def _text(el: Element | None, tag: str) -> str:
    found = el.find(tag) if el is not None else None
    return " ".join((found.text or "").split()) if found is not None else ""


def _entry(el: Element, person: bool, list_id: str, unknown: set[str]) -> Party:
    kind = "INDIVIDUAL" if person else "ENTITY"
    tags = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME") if person else ("FIRST_NAME",)
    name = " ".join(p for p in (_text(el, t) for t in tags) if p)
    data_id = _text(el, "DATAID")
    if not name or not data_id:
        raise InvalidInput(f"UN list: an {kind} without DATAID or name", {"dataid": data_id})
    aliases = [_text(a, "ALIAS_NAME") for a in el.findall(f"{kind}_ALIAS")]
    original = _text(el, "NAME_ORIGINAL_SCRIPT")
    addresses: list[str] = []
    codes: list[str] = []
    for a in el.findall(f"{kind}_ADDRESS"):
        parts = [_text(a, t) for t in ("STREET", "CITY", "STATE_PROVINCE", "COUNTRY")]
        if any(parts):
            addresses.append(", ".join(p for p in parts if p))
        if parts[3]:
            codes.append(parts[3])
    codes += [(v.text or "").strip() for v in el.findall("NATIONALITY/VALUE") if v.text]
    countries = []
    for raw in codes:
        code = country_code(raw)
        if code is None:
            unknown.add(raw)
        else:
            countries.append(code)
    docs = [_text(d, "NUMBER") for d in el.findall("INDIVIDUAL_DOCUMENT")]
    return Party(
        party_id=PartyId(f"{list_id}.{data_id}"),
        schema="Person" if person else "Organization",
        name=name,
        aliases=tuple(dict.fromkeys(a for a in (*aliases, original) if a and a != name)),
        countries=tuple(dict.fromkeys(countries)),
        addresses=tuple(dict.fromkeys(addresses)),
        list_id=list_id,
        programs=tuple(p for p in (_text(el, "UN_LIST_TYPE"),) if p),
        source=_text(el, "REFERENCE_NUMBER") or None,
        identifiers=tuple(dict.fromkeys(d for d in docs if d)),
        listed_on=parse_listing_date(_text(el, "LISTED_ON")),
    )


def parse_unsc_xml(data: bytes, list_id: str = "un-sc") -> PartySet:
    """Parse the UN Security Council consolidated list XML.

    Raises:
        InvalidInput: not XML, a DTD or entity declaration, no ``CONSOLIDATED_LIST`` root, an
            entry without DATAID or name.
    """
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidInput("UN list XML with a DTD or entity declarations is refused")
    try:
        root = fromstring(data)  # noqa: S314 (no DTD/entities: checked above)
    except ParseError as exc:
        raise InvalidInput(f"UN list: not well-formed XML ({exc})") from exc
    if root.tag != "CONSOLIDATED_LIST":
        raise InvalidInput(f"UN list: root element is {root.tag!r}, expected CONSOLIDATED_LIST")
    unknown: set[str] = set()
    parties = [_entry(el, True, list_id, unknown) for el in root.iterfind("INDIVIDUALS/INDIVIDUAL")]
    parties += [_entry(el, False, list_id, unknown) for el in root.iterfind("ENTITIES/ENTITY")]
    warnings = tuple(f"unknown country {c!r}: ignored" for c in sorted(unknown))
    return PartySet(tuple(parties), warnings=warnings)
