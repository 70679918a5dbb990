"""The GS1 CBV 2.0 Event Hash ID (section 8.9): canonical pre-hash string and ``ni:///sha-256`` URI.

No I/O: callers pass parsed EPCIS JSON events (XML documents are first mapped to the same JSON by
``ledger.epcis_xml``). Written from the algorithm text and checked against the reference vectors
(see docs/event-hash.md for the choices the text leaves open).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chiptrail.ledger.digital_link import to_canonical_dl

HASH_VERSION = "CBV2.0"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"

WELL_KNOWN_PREFIXES: Mapping[str, str] = {
    "gs1": GS1_VOC,
    "cbv": CBV,
    "epcis": "https://ref.gs1.org/epcis/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
"""Prefixes the official EPCIS 2.0 JSON-LD context defines (used when a document does not)."""

# Fields never hashed (CBV 2.0 section 8.9: the ID itself, the capture time, error declarations).
_EXCLUDED = frozenset({"eventID", "recordTime", "errorDeclaration", "type", "comment"})
_EPC_LISTS = ("epcList", "inputEPCList", "childEPCs", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_TOP_ORDER = (
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "epcList",
    "parentID",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "sensorElementList",
)
# The typed lists are hashed in their own shape but sorted in with the extensions, as the
# reference vectors have them (destinationList before sourceList, after sensorElementList).
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source"}
_TYPED_LISTS["destinationList"] = "destination"
_METADATA_ORDER = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
_REPORT_ORDER = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
_DIGITS = r"\d(?:_?\d)*"
_NUMBER = re.compile(
    rf"^\s*[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?\s*$"
)
_FRACTION = re.compile(r"T[^.]*\.(\d+)")
_TIME_FIELDS = frozenset({"eventTime", "time", "startTime", "endTime"})
# Bare CBV words and where they expand (CBV 2.0 section 8.9 rule: bare words become web URIs).
_BARE_PREFIX = {
    "bizStep": CBV + "BizStep-",
    "disposition": CBV + "Disp-",
    "set": CBV + "Disp-",
    "unset": CBV + "Disp-",
    "component": CBV + "Comp-",
}
_OLD_URNS = (
    ("urn:epcglobal:cbv:bizstep:", CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV + "ER-"),
    ("urn:epcglobal:cbv:comp:", CBV + "Comp-"),
)

JsonValue = object


@dataclass(frozen=True, slots=True)
class HashContext:
    """What the pre-hash needs besides the event: prefixes in scope and fields to ignore.

    Attributes:
        prefixes: CURIE prefix -> namespace URI (the document's JSON-LD context or XML xmlns).
        ignore_fields: expanded names (``{ns}local``) the document asks to leave out.
    """

    prefixes: Mapping[str, str] = field(default_factory=lambda: dict(WELL_KNOWN_PREFIXES))
    ignore_fields: frozenset[str] = frozenset()


def context_from_document(document: Mapping[str, object]) -> HashContext:
    """Collect prefixes from a JSON-LD ``@context`` and the ``ignoreFields`` extension, if any."""
    prefixes = dict(WELL_KNOWN_PREFIXES)
    ctx = document.get("@context")
    for item in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(item, Mapping):
            prefixes.update({k: v for k, v in item.items() if isinstance(v, str)})
    ignore: set[str] = set()
    body = document.get("epcisBody")
    holders: list[Mapping[str, object]] = [document]
    if isinstance(body, Mapping) and isinstance(body.get("queryResults"), Mapping):
        holders.append(body["queryResults"])
    for holder in holders:
        if not any("ignoreFields" in key for key in holder):
            continue
        for key, value in holder.items():
            if _local(expand_name(key, prefixes)) == "ignoreFields" and isinstance(value, list):
                ignore.update(expand_name(str(v), prefixes) for v in value)
    return HashContext(prefixes=prefixes, ignore_fields=frozenset(ignore))


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def expand_name(key: str, prefixes: Mapping[str, str]) -> str:
    """``prefix:local`` -> ``{namespace}local`` for a declared prefix; other keys unchanged."""
    prefix, sep, local = key.partition(":")
    if sep and prefix in prefixes and not local.startswith("//"):
        return "{" + prefixes[prefix] + "}" + local
    return key


def canonical_time(text: str) -> str:
    """An ISO 8601 date-time in UTC at millisecond precision (``...T10:00:30.000Z``).

    Fractions are rounded half up to milliseconds; a time without offset is taken as UTC.
    Text that is not a date-time is returned unchanged.
    """
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        return raw
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    digits = _FRACTION.search(raw)
    fraction = (digits.group(1) if digits else "") + "0000"
    # half up to milliseconds: only the fourth fractional digit decides
    millis = int(fraction[:3]) + (fraction[3] >= "5")
    utc = parsed.astimezone(UTC).replace(microsecond=0)
    if millis == 1000:
        utc += timedelta(seconds=1)
        millis = 0
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{millis:03d}Z"
    )


def canonical_number(text: str) -> str:
    """Numbers without leading ``+``, leading or trailing zeros (``452.0`` -> ``452``)."""
    if _NUMBER.match(text) is None:  # what float() accepts, minus nan/inf; no costly failures
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):  # nan/inf stay as written
        return text
    if int(number) == number:
        return str(int(number))
    return str(number)


def canonical_value(
    text: str, context: HashContext, *, name: str = "", bare_prefix: str | None = None
) -> str:
    """Canonical form of one value: vocabulary URIs, CURIEs, numbers, GS1 Digital Link URIs."""
    value = text.strip()
    if not value:
        return ""
    if name in _TIME_FIELDS:
        return canonical_time(value)
    if value.startswith("urn:epcglobal:cbv:"):
        for urn, web in _OLD_URNS:
            if value.startswith(urn):
                return web + value[len(urn) :]
    if bare_prefix is not None and ":" not in value:
        return bare_prefix + value
    prefix, sep, rest = value.partition(":")
    if sep and prefix in context.prefixes and not rest.startswith("//"):
        namespace = context.prefixes[prefix]
        if namespace.startswith(("https://ref.gs1.org", "https://gs1.org")):
            return namespace + rest
    value = canonical_number(value)
    return to_canonical_dl(value) or value


def _scalar_text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _as_list(value: JsonValue) -> list[JsonValue]:
    return list(value) if isinstance(value, list) else [value]


def _field(
    name: str,
    value: JsonValue,
    context: HashContext,
    bare_prefix: str | None = None,
) -> str:
    if isinstance(value, Mapping | list):
        return _generic(name, value, context)
    text = canonical_value(_scalar_text(value), context, name=name, bare_prefix=bare_prefix)
    return f"{name}={text}" if text else ""


def _generic(name: str, value: JsonValue, context: HashContext) -> str:
    """Any structure outside the fixed order: name, ``=value``, then its children sorted."""
    if isinstance(value, list):
        return "".join(sorted(_generic(name, item, context) for item in value))
    if isinstance(value, Mapping):
        text = canonical_value(_scalar_text(value.get("#text", "")), context)
        inner = _remainder(value, (), context)
        return name + (f"={text}" if text else "") + inner if (text or inner) else ""
    text = canonical_value(_scalar_text(value), context)
    return f"{name}={text}" if text else ""


def _remainder(
    obj: Mapping[str, JsonValue],
    known: Iterable[str],
    context: HashContext,
    extra: Iterable[str] = (),
) -> str:
    known_set = set(known) | {"#text"}
    parts: list[str] = list(extra)
    for key, value in obj.items():
        if key in known_set or key.startswith("@") or key in _EXCLUDED - {"type"}:
            continue
        name = expand_name(key, context.prefixes)
        if name in context.ignore_fields or _local(name) == "comment":
            continue
        if name in _TYPED_LISTS:
            parts.append(_typed_list(name, value, context))
        else:
            parts.extend(_generic(name, item, context) for item in _as_list(value))
    return "".join(sorted(p for p in parts if p))


def _ordered(
    obj: Mapping[str, JsonValue],
    order: Sequence[str],
    context: HashContext,
    bare: Mapping[str, str] | None = None,
) -> str:
    out = []
    for key in order:
        if key in obj:
            values = [_field(key, v, context, (bare or {}).get(key)) for v in _as_list(obj[key])]
            out.append("".join(sorted(v for v in values if v)))
    return "".join(out) + _remainder(obj, order, context)


def _epc_list(name: str, value: JsonValue, context: HashContext) -> str:
    items = sorted(_field("epc", v, context) for v in _as_list(value) if v)
    joined = "".join(items)
    return name + joined if joined else ""


def _quantity_list(name: str, value: JsonValue, context: HashContext) -> str:
    items = []
    for element in _as_list(value):
        if isinstance(element, Mapping):
            inner = _ordered(element, ("epcClass", "quantity", "uom"), context)
            if inner:
                items.append("quantityElement" + inner)
    joined = "".join(sorted(items))
    return name + joined if joined else ""


def _typed_list(name: str, value: JsonValue, context: HashContext) -> str:
    element_name = _TYPED_LISTS[name]
    items = []
    for element in _as_list(value):
        if not isinstance(element, Mapping):
            continue
        kind = _field("type", element.get("type", ""), context, CBV + _type_prefix(name))
        main = _field(element_name, element.get(element_name, ""), context)
        rest = _remainder(element, ("type", element_name), context)
        if kind or main or rest:
            items.append(kind + main + rest)
    joined = "".join(sorted(items))
    return name + joined if joined else ""


def _type_prefix(list_name: str) -> str:
    return "BTT-" if list_name == "bizTransactionList" else "SDT-"


def _split_unqualified(
    obj: Mapping[str, JsonValue], order: Sequence[str]
) -> tuple[dict[str, JsonValue], dict[str, JsonValue]]:
    """Unknown plain (non-namespaced) keys of a sensor part, split from the rest.

    The reference vectors hash such keys (e.g. ``bizRules`` on a sensorReport) outside the
    sensor list, after the event's other fields, with their full path.
    """
    kept = {k: v for k, v in obj.items() if k in order or ":" in k or k.startswith("@")}
    stray = {k: v for k, v in obj.items() if k not in kept}
    return kept, stray


def _sensor_list(value: JsonValue, context: HashContext, deferred: list[str]) -> str:
    elements = []
    bare = {"type": GS1_VOC, "exception": GS1_VOC, "component": CBV + "Comp-"}
    for element in _as_list(value):
        if not isinstance(element, Mapping):
            continue
        part = ""
        meta = element.get("sensorMetadata")
        if isinstance(meta, Mapping):
            kept, stray = _split_unqualified(meta, _METADATA_ORDER)
            inner = _ordered(kept, _METADATA_ORDER, context)
            part += "sensorMetadata" + inner if inner else ""
            if stray:
                prefix = "sensorElementListsensorElementsensorMetadata"
                deferred.append(prefix + _remainder(stray, (), context))
        reports = []
        for report in _as_list(element.get("sensorReport", [])):
            if isinstance(report, Mapping):
                kept, stray = _split_unqualified(report, _REPORT_ORDER)
                inner = _ordered(kept, _REPORT_ORDER, context, bare)
                if inner:
                    reports.append("sensorReport" + inner)
                if stray:
                    prefix = "sensorElementListsensorElementsensorReport"
                    deferred.append(prefix + _remainder(stray, (), context))
        part += "".join(sorted(reports))
        part += _remainder(element, ("sensorMetadata", "sensorReport"), context)
        if part:
            elements.append("sensorElement" + part)
    joined = "".join(sorted(elements))
    return "sensorElementList" + joined if joined else ""


def _top_field(key: str, value: JsonValue, context: HashContext, deferred: list[str]) -> str:
    if key in _EPC_LISTS:
        return _epc_list(key, value, context)
    if key in _QUANTITY_LISTS:
        return _quantity_list(key, value, context)
    if key in _TYPED_LISTS:
        return _typed_list(key, value, context)
    if key == "sensorElementList":
        return _sensor_list(value, context, deferred)
    if key == "persistentDisposition" and isinstance(value, Mapping):
        inner = _ordered(value, ("set", "unset"), context, _BARE_PREFIX)
        return key + inner if inner else ""
    if key in ("readPoint", "bizLocation") and isinstance(value, Mapping):
        inner = _ordered(value, ("id",), context)
        return key + inner if inner else ""
    return _field(key, value, context, _BARE_PREFIX.get(key))


def prehash_string(event: Mapping[str, JsonValue], context: HashContext | None = None) -> str:
    """The canonical pre-hash string of one EPCIS event (CBV 2.0 section 8.9).

    Args:
        event: one event as EPCIS 2.0 JSON (``type``, ``eventTime`` ...).
        context: prefixes in scope and ignored fields; defaults to the standard context.
    """
    ctx = context or HashContext()
    parts = [f"eventType={_scalar_text(event.get('type', ''))}"]
    deferred: list[str] = []
    parts.extend(_top_field(k, event[k], ctx, deferred) for k in _TOP_ORDER if k in event)
    parts.append(_remainder(event, (*_TOP_ORDER, "type"), ctx, deferred))
    return "".join(parts)


def hash_prehash(prehash: str) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` of a pre-hash string (RFC 6920 named information)."""
    digest = hashlib.sha256(prehash.encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={HASH_VERSION}"


def event_hash(event: Mapping[str, JsonValue], context: HashContext | None = None) -> str:
    """The Event Hash ID of one EPCIS event."""
    return hash_prehash(prehash_string(event, context))
