"""Our EPCIS validator against GS1's official JSON Schema (checked with jsonschema in tests only).

The runtime never reads the schema file; these tests check that the hand-written rules accept
every official example and agree with the schema on mutated documents.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from chiptrail.errors import InvalidInput
from chiptrail.ledger.epcis import parse_epcis, validate_document

Doc = dict[str, Any]


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    """RFC 3986 absolute URI (the schema asserts ``format: uri``; jsonschema ships no checker)."""
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and " " not in value and len(value) > len(parts.scheme) + 1


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time with offset."""
    return not isinstance(value, str) or _RFC3339.match(value) is not None


def _schema(shared: Path) -> jsonschema.Draft7Validator:
    schema = json.loads((shared / "conformance/epcis/EPCIS-JSON-Schema.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=FORMATS)


def _first(doc: Doc) -> Doc:
    return doc["epcisBody"]["eventList"][0]  # type: ignore[no-any-return]


def _set(key: str, value: object) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        _first(doc)[key] = value

    return apply


def _drop(key: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        _first(doc).pop(key, None)

    return apply


def _drop_doc(key: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        doc.pop(key, None)

    return apply


def _duplicate_epc(doc: Doc) -> None:
    ev = _first(doc)
    ev["epcList"] = [ev["epcList"][0], ev["epcList"][0]]


def _retype(kind: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        _first(doc)["type"] = kind

    return apply


MUTATIONS: list[tuple[str, Callable[[Doc], None]]] = [
    ("no eventTime", _drop("eventTime")),
    ("no eventTimeZoneOffset", _drop("eventTimeZoneOffset")),
    ("no action", _drop("action")),
    ("unknown action", _set("action", "MOVE")),
    ("offset out of range", _set("eventTimeZoneOffset", "+25:00")),
    ("eventTime a number", _set("eventTime", 12345)),
    ("unknown bare bizStep", _set("bizStep", "flying")),
    ("old CBV URN bizStep", _set("bizStep", "urn:epcglobal:cbv:bizstep:shipping")),
    ("own bizStep URI", _set("bizStep", "https://example.com/steps/flying")),
    ("unknown disposition", _set("disposition", "broken")),
    ("repairing bizStep", _set("bizStep", "repairing")),
    ("decommissioning with inactive", _set("disposition", "inactive")),
    ("duplicate EPC", _duplicate_epc),
    ("epcList not an array", _set("epcList", "urn:epc:id:sgtin:0614141.107346.2017")),
    ("quantity without epcClass", _set("quantityList", [{"quantity": 5}])),
    (
        "quantity as text",
        _set(
            "quantityList",
            [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "5"}],
        ),
    ),
    (
        "uom not a code",
        _set("quantityList", [{"epcClass": "urn:x:y", "quantity": 5, "uom": "kilo"}]),
    ),
    ("quantity extra key", _set("quantityList", [{"epcClass": "urn:x:y", "colour": "red"}])),
    ("bizTransaction missing", _set("bizTransactionList", [{"type": "po"}])),
    ("source without type", _set("sourceList", [{"source": "urn:x:y"}])),
    (
        "destination unknown type",
        _set("destinationList", [{"type": "friend", "destination": "urn:x:y"}]),
    ),
    ("readPoint without id", _set("readPoint", {})),
    ("readPoint a string", _set("readPoint", "urn:x:y")),
    ("extension field", _set("example:chipVendorSerial", "SN-1")),
    ("transaction without bizTransactionList", _retype("TransactionEvent")),
    ("association without parentID", _retype("AssociationEvent")),
    ("document without @context", _drop_doc("@context")),
    ("document without schemaVersion", _drop_doc("schemaVersion")),
    ("document without creationDate", _drop_doc("creationDate")),
]


def _examples(shared: Path) -> list[Path]:
    base = shared / "conformance/epcis"
    return sorted((base / "examples").glob("*.jsonld")) + sorted(
        (base / "schema-tests").glob("*.json")
    )


def test_official_examples_are_accepted_by_both(shared: Path) -> None:
    schema = _schema(shared)
    files = _examples(shared)
    assert len(files) == 19
    for path in files:
        doc = json.loads(path.read_text())
        assert schema.is_valid(doc), path.name
        assert validate_document(doc) == [], path.name


@pytest.mark.parametrize(("label", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_validator_agrees_with_the_official_schema(
    shared: Path, label: str, mutate: Callable[[Doc], None]
) -> None:
    schema = _schema(shared)
    base = json.loads(
        (shared / "conformance/epcis/examples/Example_9.6.1-ObjectEvent.jsonld").read_text()
    )
    doc = copy.deepcopy(base)
    mutate(doc)
    assert validate_document(doc) == [] if schema.is_valid(doc) else validate_document(doc) != [], (
        label
    )


def test_invalid_input_names_every_json_path() -> None:
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "x",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                    "epcList": [1],
                }
            ]
        },
    }
    with pytest.raises(InvalidInput) as info:
        parse_epcis(json.dumps(doc).encode())
    paths = [e["path"] for e in info.value.details["errors"]]  # type: ignore[union-attr]
    assert paths == ["$.epcisBody.eventList[0].eventTime", "$.epcisBody.eventList[0].epcList[0]"]


def test_xml_documents_map_to_valid_json(shared: Path) -> None:
    folder = shared / "conformance/epcis/hash/examples"
    for path in sorted(folder.glob("*.xml")):
        batches = parse_epcis(path.read_bytes())
        assert batches[0].events, path.name


def test_json_lines_and_single_events() -> None:
    ev = {
        "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "type": "ObjectEvent",
        "eventTime": "2025-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
    }
    text = (json.dumps(ev) + "\n" + json.dumps({**ev, "action": "ADD"}) + "\n").encode()
    assert [len(b.events) for b in parse_epcis(text)] == [1, 1]
    with pytest.raises(InvalidInput):
        parse_epcis(b"not json at all")
