"""Trade records parsed from JSON, JSON lines and CSV; every refusal names its row and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chiptrail.errors import InvalidInput
from chiptrail.records import (
    SPECS,
    LicenceKind,
    LicenceRecord,
    OrderRecord,
    RecordFormat,
    RecordKind,
    parse_kind,
    parse_records,
    record_parties,
    record_to_json,
    validate_records,
)

ORDER = {
    "order_id": "PO-1",
    "buyer": "buyer-1",
    "seller": "vendor-1",
    "quantity": 64,
    "ordered_at": "2026-03-01T09:00:00+01:00",
    "chip_model": "h100-sxm",
    "ship_via": ["SG"],
}


def test_the_three_formats_give_the_same_order() -> None:
    csv_text = (
        "order_id,buyer,seller,quantity,ordered_at,chip_model,ship_via\n"
        "PO-1,buyer-1,vendor-1,64,2026-03-01T09:00:00+01:00,h100-sxm,SG\n"
    )
    from_csv = parse_records(RecordKind.ORDER, csv_text.encode())
    from_json = parse_records(RecordKind.ORDER, json.dumps([ORDER]).encode())
    from_obj = parse_records(RecordKind.ORDER, json.dumps({"records": [ORDER]}).encode())
    lines = (json.dumps(ORDER) + "\n" + json.dumps({**ORDER, "order_id": "PO-2"})).encode()
    from_lines = parse_records(RecordKind.ORDER, lines, RecordFormat.JSONL)
    assert from_csv == from_json == from_obj == from_lines[:1]
    [order] = from_csv
    assert isinstance(order, OrderRecord)
    assert order.ordered_at == datetime(2026, 3, 1, 8, tzinfo=UTC)  # normalised to UTC
    assert order.ship_via == ("SG",)
    assert record_parties(order) == ("buyer-1", "vendor-1")


def test_every_kind_round_trips_through_json() -> None:
    licence = LicenceRecord(
        "L-1",
        "vendor-1",
        "dc-1",
        "SG",
        100,
        datetime(2026, 1, 1, tzinfo=UTC),
        site_ids=("S-1",),
        consignees=("dist-1",),
        kind=LicenceKind.EXCEPTION,
        exception_code="NAC",
    )
    [back] = validate_records(RecordKind.LICENCE, [record_to_json(licence)])
    assert back == licence
    assert record_parties(licence) == ("vendor-1", "dc-1", "dist-1")
    assert set(SPECS) == set(RecordKind)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "many"}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"ordered_at": "2026-03-01T09:00:00"}, "ordered_at"),
        ({"buyer": ""}, "buyer"),
        ({"ship_via": ["Singapore"]}, "ship_via"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["text quantity", "empty order", "naive time", "no buyer", "country name", "unknown"],
)
def test_a_bad_order_is_refused_naming_row_and_field(change: dict[str, object], field: str) -> None:
    rows = [ORDER, {**ORDER, "order_id": "PO-2", **change}]
    with pytest.raises(InvalidInput) as err:
        validate_records(RecordKind.ORDER, rows)
    assert err.value.details["row"] == 1
    assert err.value.details["field"] == field
    assert "row 1" in err.value.message


@pytest.mark.parametrize(
    ("kind", "row", "field"),
    [
        (
            RecordKind.SITE,
            {
                "site_id": "S",
                "operator": "o",
                "country": "SG",
                "lat": 91,
                "lon": 0,
                "declared_at": "2026-01-01T00:00:00Z",
            },
            "lat/lon",
        ),
        (
            RecordKind.LICENCE,
            {
                "licence_id": "L",
                "holder": "h",
                "end_user": "e",
                "country": "XX",
                "quantity": 1,
                "valid_from": "2026-01-01T00:00:00Z",
            },
            "country",
        ),
        (
            RecordKind.LICENCE,
            {
                "licence_id": "L",
                "holder": "h",
                "end_user": "e",
                "country": "SG",
                "quantity": 1,
                "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": "2025-01-01T00:00:00Z",
            },
            "valid_until",
        ),
        (
            RecordKind.PAYMENT,
            {
                "payment_id": "P",
                "payer": "a",
                "beneficiary": "b",
                "paid_at": "2026-01-01T00:00:00Z",
                "payer_country": "cn",
            },
            "payer_country",
        ),
        (
            RecordKind.ADDRESS,
            {"party_id": "a", "kind": "castle", "declared_at": "2026-01-01T00:00:00Z"},
            "kind",
        ),
        (
            RecordKind.DECLARATION,
            {
                "declaration_id": "X",
                "exporter": "v",
                "ultimate_consignee": "c",
                "country": "SG",
                "quantity": 1,
            },
            "declared_at",
        ),
        (
            RecordKind.IS_INFORMED,
            {
                "letter_id": "BIS-1",
                "exporter": "v",
                "party": "",
                "issued_at": "2026-01-01T00:00:00Z",
            },
            "party",
        ),
        (
            RecordKind.IS_INFORMED,
            {
                "letter_id": "BIS-1",
                "exporter": "v",
                "party": "p",
                "issued_at": "2026-01-01T00:00:00Z",
                "valid_until": "2025-12-01T00:00:00Z",
            },
            "valid_until",
        ),
    ],
    ids=[
        "site off the globe",
        "unknown country",
        "licence ends first",
        "lower-case payer",
        "unknown address kind",
        "declaration without date",
        "letter naming nobody",
        "letter ending before it starts",
    ],
)
def test_bad_records_of_each_kind(kind: RecordKind, row: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_records(kind, [row])
    assert err.value.details["field"] == field


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b"not json {", b'"text"', b"\xff\xfe", b"order_id,bogus\nX,1\n"],
    ids=["empty", "empty array", "broken json", "json string", "not utf-8", "unknown column"],
)
def test_unreadable_files_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_records(RecordKind.ORDER, data)


def test_unknown_kind_lists_the_known_ones() -> None:
    assert parse_kind(" Licence ") is RecordKind.LICENCE
    with pytest.raises(InvalidInput, match="end-use-certificate"):
        parse_kind("invoice-ish")
