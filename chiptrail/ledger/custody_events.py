"""The custody view of an EPCIS event: who acted, on what, where (``CustodyEvent``).

No I/O. ``custody_event_from_epcis`` extracts what the registry fold (``custody.Registry``) and
the rules need from a logged EPCIS event; chiptrail's extension fields live in ``CHIPTRAIL_NS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from chiptrail.ledger.event_hash import expand_name

CHIPTRAIL_NS = "https://chiptrail.dev/epcis/"
"""Namespace of chiptrail's EPCIS extension fields (site and serial numbers)."""
PARTY_URN = "urn:chiptrail:party:"


@dataclass(frozen=True, slots=True)
class Site:
    """A declared site: ISO2 country, WGS84 degrees, facility name; any may be unknown."""

    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    facility: str | None = None


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    """The slim custody view of one logged EPCIS event."""

    leaf_index: int
    party_id: str
    event_type: str
    action: str | None
    biz_step: str | None
    epcs: tuple[str, ...] = ()
    parent: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    destination: str | None = None
    site: Site | None = None
    vendor_serial: str | None = None
    board_serial: str | None = None


def party_from_uri(value: str) -> str:
    """``urn:chiptrail:party:ID`` -> ``ID``; any other string is taken as the id itself."""
    return value.removeprefix(PARTY_URN)


def _word(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    for sep in ("BizStep-", "Disp-", "SDT-", "bizstep:", "sdt:"):
        if sep in value:
            return value.rsplit(sep, 1)[1]
    return value


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _ext(obj: Mapping[str, object], prefixes: Mapping[str, str]) -> dict[str, object]:
    """chiptrail extension fields of ``obj`` by local name."""
    out: dict[str, object] = {}
    for key, value in obj.items():
        name = expand_name(key, prefixes)
        if name.startswith("{" + CHIPTRAIL_NS + "}"):
            out[name.split("}", 1)[1]] = value
    return out


def _float(value: object) -> float | None:
    try:
        return float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None


def custody_event_from_epcis(
    event: Mapping[str, object], *, leaf_index: int, party_id: str, prefixes: Mapping[str, str]
) -> CustodyEvent:
    """Extract what custody needs from an EPCIS event (JSON form).

    Site fields (``ct:siteCountry``, ``ct:siteLat``, ``ct:siteLon``, ``ct:facility``) are
    event extensions; ``ct:vendorSerial`` / ``ct:boardSerial`` live in ``ilmd``; ``ct`` is any
    prefix bound to ``CHIPTRAIL_NS``.
    """
    ext = _ext(event, prefixes)
    ilmd = event.get("ilmd")
    ilmd_ext = _ext(ilmd, prefixes) if isinstance(ilmd, Mapping) else {}
    site = None
    if any(k in ext for k in ("siteCountry", "siteLat", "siteLon", "facility")):
        country = ext.get("siteCountry")
        facility = ext.get("facility")
        site = Site(
            country=str(country).upper() if isinstance(country, str) else None,
            lat=_float(ext.get("siteLat")),
            lon=_float(ext.get("siteLon")),
            facility=str(facility) if isinstance(facility, str) else None,
        )
    destination = None
    destinations = event.get("destinationList")
    for item in destinations if isinstance(destinations, list) else []:
        if isinstance(item, Mapping) and _word(item.get("type")) in (
            "owning_party",
            "possessing_party",
        ):
            destination = party_from_uri(str(item.get("destination", "")))
    epcs = _strings(event.get("epcList")) + _strings(event.get("childEPCs"))
    parent = event.get("parentID")
    vendor = ilmd_ext.get("vendorSerial", ext.get("vendorSerial"))
    board = ilmd_ext.get("boardSerial", ext.get("boardSerial"))
    return CustodyEvent(
        leaf_index=leaf_index,
        party_id=party_id,
        event_type=str(event.get("type", "")),
        action=event.get("action") if isinstance(event.get("action"), str) else None,  # type: ignore[arg-type]
        biz_step=_word(event.get("bizStep")),
        epcs=epcs,
        parent=parent if isinstance(parent, str) else None,
        inputs=_strings(event.get("inputEPCList")),
        outputs=_strings(event.get("outputEPCList")),
        destination=destination,
        site=site,
        vendor_serial=str(vendor) if isinstance(vendor, str) else None,
        board_serial=str(board) if isinstance(board, str) else None,
    )


def involved_epcs(ev: CustodyEvent) -> Iterator[str]:
    """The EPCs an event names directly (the service loads these and their descendants)."""
    yield from ev.epcs
    yield from ev.inputs
    yield from ev.outputs
    if ev.parent is not None:
        yield ev.parent
