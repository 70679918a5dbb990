"""EPCIS 2.0 (and 1.2-style) XML documents mapped to EPCIS 2.0 JSON-LD, so one code path follows.

No I/O: callers pass bytes. Uses the standard library parser with entity expansion left off
(``xml.etree`` never fetches external entities or DTDs).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from chiptrail.errors import InvalidInput

_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
_EPC_LISTS = frozenset({"epcList", "inputEPCList", "outputEPCList", "childEPCs"})
_QUANTITY_LISTS = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source"}
_TYPED_LISTS["destinationList"] = "destination"
_NUMBER_FIELDS = frozenset({"quantity", "value", "minValue", "maxValue", "meanValue", "sDev"})
_NUMBER_FIELDS |= {"percRank", "percValue"}

Json = object

_CBV_WEB = "https://ref.gs1.org/cbv/"
_CBV_KINDS = {
    "bizStep": ("bizstep", "BizStep-"),
    "disposition": ("disp", "Disp-"),
    "set": ("disp", "Disp-"),
    "unset": ("disp", "Disp-"),
    "bizTransactionList": ("btt", "BTT-"),
    "sourceList": ("sdt", "SDT-"),
    "destinationList": ("sdt", "SDT-"),
}


def cbv_word(value: str, field: str, prefixes: dict[str, str]) -> str:
    """A CBV value as the bare word EPCIS JSON uses (``urn:epcglobal:cbv:bizstep:shipping``,
    ``https://ref.gs1.org/cbv/BizStep-shipping`` and ``cbv:BizStep-shipping`` -> ``shipping``);
    anything else is returned unchanged."""
    urn_kind, web_kind = _CBV_KINDS[field]
    urn = f"urn:epcglobal:cbv:{urn_kind}:"
    if value.startswith(urn):
        return value[len(urn) :]
    prefix, sep, rest = value.partition(":")
    if sep and prefixes.get(prefix) == _CBV_WEB:
        value = _CBV_WEB + rest
    if value.startswith(_CBV_WEB + web_kind):
        return value[len(_CBV_WEB + web_kind) :]
    return value


class _Names:
    """Namespace URI <-> prefix for one document (prefixes as the document declared them)."""

    def __init__(self, declared: list[tuple[str, str]]) -> None:
        self.prefix_of: dict[str, str] = {}
        self.uri_of: dict[str, str] = {}
        for prefix, uri in declared:
            if prefix and uri not in self.prefix_of:
                self.prefix_of[uri] = prefix
            if prefix:
                self.uri_of.setdefault(prefix, uri)

    def key(self, tag: str) -> str:
        if not tag.startswith("{"):
            return tag
        uri, local = tag[1:].split("}", 1)
        if uri not in self.prefix_of:
            prefix = f"ns{len(self.prefix_of) + 1}"
            self.prefix_of[uri] = prefix
            self.uri_of[prefix] = uri
        return f"{self.prefix_of[uri]}:{local}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(el: ET.Element) -> str:
    return (el.text or "").strip()


def _number(text: str) -> Json:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number


def _generic(el: ET.Element, names: _Names) -> Json:
    """A user extension element: text when it has no children/attributes, else an object."""
    attrs = {names.key(k): v for k, v in el.attrib.items() if not k.startswith("{" + _XSI)}
    if len(el) == 0 and not attrs:
        return _text(el)
    obj: dict[str, Json] = dict(attrs)
    if _text(el):
        obj["#text"] = _text(el)
    for child in el:
        _add(obj, names.key(child.tag), _generic(child, names))
    return obj


def _add(obj: dict[str, Json], key: str, value: Json) -> None:
    if key in obj:
        existing = obj[key]
        if isinstance(existing, list):
            existing.append(value)
        else:
            obj[key] = [existing, value]
    else:
        obj[key] = value


def _attrs_object(el: ET.Element, names: _Names) -> dict[str, Json]:
    obj: dict[str, Json] = {}
    for k, v in el.attrib.items():
        if k.startswith("{" + _XSI):
            continue
        key = names.key(k)
        obj[key] = _number(v) if key in _NUMBER_FIELDS else v
    for child in el:
        _add(obj, names.key(child.tag), _generic(child, names))
    return obj


def _sensor_element(el: ET.Element, names: _Names) -> dict[str, Json]:
    obj: dict[str, Json] = {}
    reports: list[Json] = []
    for child in el:
        name = _local(child.tag) if not child.tag.startswith("{") else names.key(child.tag)
        if name == "sensorMetadata":
            obj["sensorMetadata"] = _attrs_object(child, names)
        elif name == "sensorReport":
            reports.append(_attrs_object(child, names))
        else:
            _add(obj, name, _generic(child, names))
    if reports:
        obj["sensorReport"] = reports
    return obj


def _quantity(el: ET.Element, names: _Names) -> dict[str, Json]:
    obj: dict[str, Json] = {}
    for child in el:
        key = names.key(child.tag)
        obj[key] = _number(_text(child)) if key == "quantity" else _generic(child, names)
    return obj


def _standard_field(name: str, el: ET.Element, names: _Names) -> Json:
    if name in _EPC_LISTS:
        return [_text(c) for c in el]
    if name in _QUANTITY_LISTS:
        return [_quantity(c, names) for c in el]
    if name in _TYPED_LISTS:
        items = []
        for c in el:
            item: dict[str, Json] = {_TYPED_LISTS[name]: _text(c)}
            if c.get("type"):
                item = {"type": cbv_word(c.get("type", ""), name, names.uri_of), **item}
            items.append(item)
        return items
    if name == "sensorElementList":
        return [_sensor_element(c, names) for c in el]
    if name == "persistentDisposition":
        obj: dict[str, Json] = {}
        for c in el:
            obj.setdefault(_local(c.tag), [])
            value = obj[_local(c.tag)]
            if isinstance(value, list):
                value.append(cbv_word(_text(c), "set", names.uri_of))
        return obj
    if name == "errorDeclaration":
        err: dict[str, Json] = {}
        for c in _flatten(el):
            key = names.key(c.tag)
            if key == "correctiveEventIDs":
                err[key] = [_text(x) for x in c]
            else:
                _add(err, key, _generic(c, names))
        return err
    if name in ("readPoint", "bizLocation", "ilmd"):
        sub: dict[str, Json] = {}
        for c in _flatten(el):
            _add(sub, names.key(c.tag), _generic(c, names))
        return sub
    return _generic(el, names)


def _flatten(el: ET.Element) -> list[ET.Element]:
    """Children, with EPCIS 1.x ``<extension>``/``<baseExtension>`` wrappers opened."""
    out: list[ET.Element] = []
    for child in el:
        if child.tag in ("extension", "baseExtension"):
            out.extend(_flatten(child))
        else:
            out.append(child)
    return out


def _event(el: ET.Element, names: _Names) -> dict[str, Json]:
    event: dict[str, Json] = {"type": _local(el.tag)}
    for child in _flatten(el):
        if child.tag.startswith("{"):
            _add(event, names.key(child.tag), _generic(child, names))
        else:
            value = _standard_field(child.tag, child, names)
            if child.tag in ("bizStep", "disposition") and isinstance(value, str):
                value = cbv_word(value, child.tag, names.uri_of)
            event[child.tag] = value
    return event


def _events(root: ET.Element) -> list[ET.Element]:
    found: list[ET.Element] = []
    for event_list in root.iter():
        if _local(event_list.tag) == "EventList":
            for child in event_list:
                if _local(child.tag) in _EVENT_TYPES:
                    found.append(child)
                elif child.tag == "extension":
                    found.extend(c for c in child if _local(c.tag) in _EVENT_TYPES)
    return found


def parse_xml_document(data: bytes) -> dict[str, Json]:
    """An EPCIS XML document as an EPCIS 2.0 JSON-LD document (``EPCISDocument``).

    Namespace prefixes declared in the XML become ``@context`` entries, so extension elements
    keep their namespaces (``ext:field``).

    Raises:
        InvalidInput: the bytes are not well-formed XML, declare entities, or hold no EPCIS events.
    """
    if b"<!ENTITY" in data:
        raise InvalidInput("EPCIS XML: entity declarations are not accepted", {"path": "$"})
    declared: list[tuple[str, str]] = []
    try:
        parser = ET.iterparse(io.BytesIO(data), events=("start-ns", "end"))  # noqa: S314
        root: ET.Element | None = None
        for kind, item in parser:
            if kind == "start-ns" and isinstance(item, tuple):
                declared.append((item[0], item[1]))
            elif kind == "end" and isinstance(item, ET.Element):
                root = item
    except ET.ParseError as exc:
        raise InvalidInput(f"EPCIS XML is not well-formed: {exc}", {"path": "$"}) from exc
    if root is None:
        raise InvalidInput("EPCIS XML: empty document", {"path": "$"})
    names = _Names(declared)
    events = [_event(e, names) for e in _events(root)]
    if not events:
        raise InvalidInput("EPCIS XML: no events found under EventList", {"path": "$"})
    ignore = [
        (names.key(el.tag), [names.key(c.tag) for c in el])
        for el in root.iter()
        if _local(el.tag) == "ignoreFields"
    ]
    context: list[Json] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
    context.extend({p: u} for u, p in names.prefix_of.items() if not _is_epcis_ns(u))
    doc: dict[str, Json] = {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": root.get("creationDate", ""),
        "epcisBody": {"eventList": events},
    }
    for key, fields in ignore:
        doc[key] = fields
    return doc


def _is_epcis_ns(uri: str) -> bool:
    return uri.startswith(("urn:epcglobal:epcis", "urn:epcglobal:xsd")) or uri == _XSI
