"""EPCIS 2.0 JSON / JSON-LD validation: our own rules, written from the official JSON Schema.

No I/O and no schema file at run time: the rules below restate the parts of GS1's
EPCIS-JSON-Schema.json that the ledger relies on (a conformance test compares both on the official
examples and on mutated documents). Errors carry the JSON path of each problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from chiptrail.errors import InvalidInput
from chiptrail.ledger.epcis_xml import parse_xml_document
from chiptrail.ledger.event_hash import HashContext, context_from_document

EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
BIZ_STEPS = frozenset(
    [
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
        "sensor_reporting",
        "sampling",
    ]
)
DISPOSITIONS = frozenset(
    [
        "active",
        "container_closed",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "no_pedigree_match",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unknown",
        "available",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "container_open",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "non_conformant",
        "unavailable",
    ]
)
BTT_TYPES = frozenset(
    [
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
    ]
)
BTT_TYPES |= {"testres", "upevt"}
SDT_TYPES = frozenset({"owning_party", "possessing_party", "location"})
ACTIONS = frozenset({"OBSERVE", "ADD", "DELETE"})
_REQUIRED = {
    "ObjectEvent": ("action",),
    "AggregationEvent": ("action",),
    "TransactionEvent": ("bizTransactionList", "action"),
    "AssociationEvent": ("action", "parentID"),
    "TransformationEvent": (),
}
_TZ = re.compile(r"^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$")
_UOM = re.compile(r"^[A-Z0-9]{2,3}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_OLD_CBV = re.compile(r"^(urn:epcglobal:cbv|https?://ns\.gs1\.org/cbv/)")
_EPC_LIST_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One validation problem: where (JSON path) and what."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class EpcisBatch:
    """Events parsed from one submitted document, with the prefixes they were written with."""

    events: tuple[Mapping[str, object], ...]
    context: HashContext
    prefixes: Mapping[str, str]


class _Checker:
    def __init__(self) -> None:
        self.issues: list[SchemaIssue] = []

    def fail(self, path: str, message: str) -> None:
        self.issues.append(SchemaIssue(path, message))

    def uri(self, path: str, value: object) -> None:
        if not isinstance(value, str) or not _URI.match(value):
            self.fail(path, "must be a URI string")

    def time(self, path: str, value: object) -> None:
        if not isinstance(value, str):
            self.fail(path, "must be an RFC 3339 date-time string")
            return
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            self.fail(path, "must be an RFC 3339 date-time string")
            return
        if parsed.tzinfo is None:
            self.fail(path, "date-time needs a time-zone offset (Z or +hh:mm)")

    def vocab(self, path: str, value: object, words: frozenset[str]) -> None:
        if isinstance(value, str) and value in words:
            return
        if isinstance(value, str) and _URI.match(value) and not _OLD_CBV.match(value):
            return
        self.fail(path, "must be a CBV word or a URI outside the CBV namespaces")

    def array(self, path: str, value: object, *, unique: bool = False) -> list[object]:
        if not isinstance(value, list):
            self.fail(path, "must be an array")
            return []
        if unique and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            self.fail(path, "items must be unique")
        return value

    def obj(self, path: str, value: object) -> Mapping[str, object] | None:
        if not isinstance(value, Mapping):
            self.fail(path, "must be an object")
            return None
        return value


def _check_quantity(c: _Checker, path: str, item: object) -> None:
    q = c.obj(path, item)
    if q is None:
        return
    if "epcClass" not in q:
        c.fail(path, "epcClass is required")
    else:
        c.uri(f"{path}.epcClass", q["epcClass"])
    if "quantity" in q and (
        isinstance(q["quantity"], bool) or not isinstance(q["quantity"], int | float)
    ):
        c.fail(f"{path}.quantity", "must be a number")
    if "uom" in q and (not isinstance(q["uom"], str) or not _UOM.match(q["uom"])):
        c.fail(f"{path}.uom", "must be a 2-3 character UN/CEFACT code")
    for key in q:
        if key not in ("epcClass", "quantity", "uom"):
            c.fail(f"{path}.{key}", "additional property not allowed")


def _check_typed(c: _Checker, path: str, item: object, name: str, words: frozenset[str]) -> None:
    entry = c.obj(path, item)
    if entry is None:
        return
    if name not in entry:
        c.fail(path, f"{name} is required")
    else:
        c.uri(f"{path}.{name}", entry[name])
    if "type" in entry:
        c.vocab(f"{path}.type", entry["type"], words)
    elif name != "bizTransaction":
        c.fail(path, "type is required")
    for key in entry:
        if key not in ("type", name):
            c.fail(f"{path}.{key}", "additional property not allowed")


def _check_lists(c: _Checker, path: str, event: Mapping[str, object]) -> None:
    for key in _EPC_LIST_FIELDS:
        if key in event:
            unique = key != "childEPCs"
            for i, epc in enumerate(c.array(f"{path}.{key}", event[key], unique=unique)):
                c.uri(f"{path}.{key}[{i}]", epc)
    for key in _QUANTITY_FIELDS:
        if key in event:
            for i, item in enumerate(c.array(f"{path}.{key}", event[key])):
                _check_quantity(c, f"{path}.{key}[{i}]", item)
    typed = (
        ("bizTransactionList", "bizTransaction", BTT_TYPES),
        ("sourceList", "source", SDT_TYPES),
        ("destinationList", "destination", SDT_TYPES),
    )
    for key, name, words in typed:
        if key in event:
            for i, item in enumerate(c.array(f"{path}.{key}", event[key])):
                _check_typed(c, f"{path}.{key}[{i}]", item, name, words)


def _check_event(c: _Checker, path: str, value: object) -> None:
    event = c.obj(path, value)
    if event is None:
        return
    kind = event.get("type")
    if not isinstance(kind, str):
        c.fail(f"{path}.type", "event type is required")
        return
    if kind not in EVENT_TYPES:  # an extended event: a URI type plus the common fields
        c.uri(f"{path}.type", kind)
    for key in ("eventTime", "eventTimeZoneOffset", *_REQUIRED.get(kind, ())):
        if key not in event:
            c.fail(path, f"{key} is required")
    if "eventTime" in event:
        c.time(f"{path}.eventTime", event["eventTime"])
    if "recordTime" in event:
        c.time(f"{path}.recordTime", event["recordTime"])
    offset = event.get("eventTimeZoneOffset")
    if "eventTimeZoneOffset" in event and (not isinstance(offset, str) or not _TZ.match(offset)):
        c.fail(f"{path}.eventTimeZoneOffset", "must look like +hh:mm or -hh:mm")
    if "action" in event and event["action"] not in ACTIONS:
        c.fail(f"{path}.action", "must be ADD, OBSERVE or DELETE")
    if "bizStep" in event:
        c.vocab(f"{path}.bizStep", event["bizStep"], BIZ_STEPS)
    if "disposition" in event:
        c.vocab(f"{path}.disposition", event["disposition"], DISPOSITIONS)
    for key in ("parentID", "transformationID", "eventID"):
        if key in event:
            c.uri(f"{path}.{key}", event[key])
    for key in ("readPoint", "bizLocation"):
        if key in event:
            place = c.obj(f"{path}.{key}", event[key])
            if place is not None and "id" not in place:
                c.fail(f"{path}.{key}", "id is required")
            elif place is not None:
                c.uri(f"{path}.{key}.id", place["id"])
    if "ilmd" in event:
        c.obj(f"{path}.ilmd", event["ilmd"])
    _check_lists(c, path, event)


def validate_document(document: object) -> list[SchemaIssue]:
    """Every schema problem of an EPCIS 2.0 JSON document or single event; empty when valid."""
    c = _Checker()
    doc = c.obj("$", document)
    if doc is None:
        return c.issues
    kind = doc.get("type")
    if kind == "EPCISDocument":
        for key in ("@context", "schemaVersion", "creationDate", "epcisBody"):
            if key not in doc:
                c.fail("$", f"{key} is required")
        if "creationDate" in doc:
            c.time("$.creationDate", doc["creationDate"])
        body = c.obj("$.epcisBody", doc.get("epcisBody", {}))
        if body is not None:
            if "eventList" not in body:
                c.fail("$.epcisBody", "eventList is required")
            for i, event in enumerate(c.array("$.epcisBody.eventList", body.get("eventList", []))):
                _check_event(c, f"$.epcisBody.eventList[{i}]", event)
    elif kind == "EPCISQueryDocument":
        _check_query_document(c, doc)
    elif isinstance(kind, str):
        if "@context" not in doc:
            c.fail("$", "@context is required")
        _check_event(c, "$", doc)
    else:
        c.fail("$.type", "type is required")
    return c.issues


def _check_query_document(c: _Checker, doc: Mapping[str, object]) -> None:
    for key in ("@context", "schemaVersion", "creationDate", "epcisBody"):
        if key not in doc:
            c.fail("$", f"{key} is required")
    body = c.obj("$.epcisBody", doc.get("epcisBody", {}))
    results = c.obj("$.epcisBody.queryResults", (body or {}).get("queryResults", {}))
    rbody = c.obj("$.epcisBody.queryResults.resultsBody", (results or {}).get("resultsBody", {}))
    path = "$.epcisBody.queryResults.resultsBody.eventList"
    for i, event in enumerate(c.array(path, (rbody or {}).get("eventList", []))):
        _check_event(c, f"{path}[{i}]", event)


def events_of(document: Mapping[str, object]) -> list[Mapping[str, object]]:
    """The events of a validated document (EPCISDocument, EPCISQueryDocument or one event)."""
    kind = document.get("type")
    body = document.get("epcisBody")
    if kind == "EPCISDocument" and isinstance(body, Mapping):
        events = body.get("eventList")
    elif kind == "EPCISQueryDocument" and isinstance(body, Mapping):
        results = body.get("queryResults")
        rbody = results.get("resultsBody") if isinstance(results, Mapping) else None
        events = rbody.get("eventList") if isinstance(rbody, Mapping) else None
    else:
        events = [document]
    return [e for e in events if isinstance(e, Mapping)] if isinstance(events, list) else []


def _raise_issues(issues: Sequence[SchemaIssue], where: str) -> None:
    if issues:
        raise InvalidInput(
            f"EPCIS {where} is not schema-valid: {issues[0].path}: {issues[0].message}",
            {"errors": [{"path": i.path, "message": i.message} for i in issues]},
        )


def _prefixes(document: Mapping[str, object]) -> dict[str, str]:
    out: dict[str, str] = {}
    ctx = document.get("@context")
    for item in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(item, Mapping):
            out.update({k: v for k, v in item.items() if isinstance(v, str)})
    return out


def _batch_from_json(document: Mapping[str, object]) -> EpcisBatch:
    _raise_issues(validate_document(document), "document")
    return EpcisBatch(
        events=tuple(events_of(document)),
        context=context_from_document(document),
        prefixes=_prefixes(document),
    )


def parse_epcis(data: bytes) -> list[EpcisBatch]:
    """Parse and validate an EPCIS submission: JSON/JSON-LD document or event, XML, or JSON lines.

    Returns:
        one batch per document (JSON lines give one per line).

    Raises:
        InvalidInput: not UTF-8, not JSON/XML, or schema-invalid; ``details["errors"]`` lists every
            problem with its JSON path.
    """
    text = data.lstrip()
    if text.startswith(b"<"):
        return [_batch_from_json(parse_xml_document(data))]
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("EPCIS JSON must be UTF-8", {"path": "$"}) from exc
    try:
        document = json.loads(decoded)
    except json.JSONDecodeError:
        lines = [line for line in decoded.splitlines() if line.strip()]
        try:
            documents = [json.loads(line) for line in lines]
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not JSON, JSON lines or XML: {exc}", {"path": "$"}) from exc
        return [_batch_from_json(_require_object(d, n)) for n, d in enumerate(documents, 1)]
    return [_batch_from_json(_require_object(document, None))]


def _require_object(value: object, line: int | None) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        where = f" (line {line})" if line else ""
        raise InvalidInput(f"EPCIS JSON{where} must be an object", {"path": "$"})
    return value
