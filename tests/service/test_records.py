"""Trade records end to end: CLI -> store -> HTTP API, party scoping, refusals that store nothing,
and FtM payments kept (never silently dropped)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chiptrail.cli.main import app
from chiptrail.errors import Conflict, InvalidInput, PermissionDenied
from chiptrail.records import RecordKind
from chiptrail.service.parties.graph import add_parties
from chiptrail.service.records.ingest import add_records, list_records
from chiptrail.store.database import Database
from tests.api.conftest import PARTY_A, PARTY_B, Keys, build_app, make_keys

NOW = datetime(2026, 6, 1, tzinfo=UTC)
T = "2026-03-01T00:00:00Z"

ONE_OF_EACH: dict[str, dict[str, object]] = {
    "order": {
        "order_id": "PO-1",
        "buyer": PARTY_A,
        "seller": "vendor-x",
        "quantity": 8,
        "ordered_at": T,
        "site_id": "S-1",
        "licence_id": "L-1",
    },
    "licence": {
        "licence_id": "L-1",
        "holder": "vendor-x",
        "end_user": PARTY_A,
        "country": "SG",
        "quantity": 8,
        "valid_from": T,
        "site_ids": ["S-1"],
    },
    "declaration": {
        "declaration_id": "X20260301000001",
        "exporter": "vendor-x",
        "ultimate_consignee": PARTY_A,
        "country": "SG",
        "quantity": 8,
        "declared_at": T,
        "end_use": "commercial cloud",
        "licence_id": "L-1",
    },
    "end-use-certificate": {
        "certificate_id": "EUC-1",
        "end_user": PARTY_A,
        "country": "SG",
        "end_use": "commercial cloud",
        "issued_at": T,
        "site_id": "S-1",
    },
    "site": {
        "site_id": "S-1",
        "operator": PARTY_A,
        "country": "SG",
        "lat": 1.35,
        "lon": 103.82,
        "declared_at": T,
        "radius_km": 25,
        "capacity_chips": 4096,
    },
    "payment": {
        "payment_id": "PAY-1",
        "payer": PARTY_A,
        "beneficiary": "vendor-x",
        "paid_at": T,
        "amount": 250000,
        "currency": "USD",
        "payer_country": "SG",
        "order_id": "PO-1",
    },
    "address": {
        "party_id": PARTY_A,
        "kind": "office",
        "declared_at": T,
        "address": "1 Fusionopolis Way",
        "country": "SG",
    },
    "is-informed": {
        "letter_id": "BIS-IS-INF-1",
        "exporter": PARTY_A,
        "party": "lab-cn-1",
        "issued_at": T,
        "country": "CN",
        "items": "3A090 and 4A090 items",
    },
}

runner = CliRunner()


@pytest.mark.parametrize("kind", list(ONE_OF_EACH))
def test_each_kind_round_trips_cli_store_api(kind: str, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    src = tmp_path / f"{kind}.json"
    src.write_text(json.dumps([ONE_OF_EACH[kind]]))
    added = runner.invoke(app, ["records", "add", kind, str(src), "--db", str(db), "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["added"] == 1
    again = runner.invoke(app, ["records", "add", kind, str(src), "--db", str(db), "--json"])
    assert json.loads(again.stdout)["unchanged"] == 1  # idempotent re-submission
    listed = runner.invoke(app, ["records", "list", "--kind", kind, "--db", str(db), "--json"])
    [item] = json.loads(listed.stdout)["items"]
    assert {
        k: item[k]
        for k in ONE_OF_EACH[kind]
        if k not in {"ordered_at", "valid_from", "declared_at", "issued_at", "paid_at"}
    } == {k: v for k, v in ONE_OF_EACH[kind].items() if not str(v).endswith("Z")}
    application = build_app(f"sqlite:///{db}", tmp_path)
    with TestClient(application) as client:
        keys = make_keys(application.state.database)
        mine = client.get(f"/v1/records?kind={kind}", headers=keys.headers("vendor_a"))
        assert mine.status_code == 200, mine.text
        assert mine.json()["total"] == 1
        theirs = client.get(f"/v1/records?kind={kind}", headers=keys.headers("vendor_b"))
        assert theirs.json()["total"] == 0
    application.state.database.dispose()


def test_cli_bad_row_exits_2_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    src = tmp_path / "orders.csv"
    src.write_text(
        "order_id,buyer,seller,quantity,ordered_at\n"
        "PO-1,a,b,5,2026-01-01T00:00:00Z\n"
        "PO-2,a,b,five,2026-01-01T00:00:00Z\n"
    )
    bad = runner.invoke(app, ["records", "add", "order", str(src), "--db", str(db)])
    assert bad.exit_code == 2
    assert "row 1" in bad.output
    assert "quantity" in bad.output
    listed = runner.invoke(app, ["records", "list", "--db", str(db), "--json"])
    assert json.loads(listed.stdout)["total"] == 0
    unknown = runner.invoke(app, ["records", "add", "invoice-x", str(src), "--db", str(db)])
    assert unknown.exit_code == 2


def _client(tmp_path: Path) -> tuple[TestClient, Keys, Database]:
    application = build_app(f"sqlite:///{tmp_path / 'api.db'}", tmp_path)
    client = TestClient(application)
    client.__enter__()
    return client, make_keys(application.state.database), application.state.database


def test_api_scopes_writes_and_refuses_bad_input(tmp_path: Path) -> None:
    client, keys, db = _client(tmp_path)
    try:
        body = {"records": [ONE_OF_EACH["order"]]}
        other = client.post("/v1/records/order", json=body, headers=keys.headers("vendor_b"))
        assert other.status_code == 403
        assert other.json()["error"]["code"] == "permission_denied"
        ok = client.post("/v1/records/order", json=body, headers=keys.headers("vendor_a"))
        assert ok.status_code == 200, ok.text
        assert ok.json()["added"] == 1
        changed = {"records": [{**ONE_OF_EACH["order"], "quantity": 9}]}
        clash = client.post("/v1/records/order", json=changed, headers=keys.headers("analyst"))
        assert clash.status_code == 409
        bad = {"records": [{**ONE_OF_EACH["site"], "lat": "north"}]}
        refused = client.post("/v1/records/site", json=bad, headers=keys.headers("operator_a"))
        assert refused.status_code in (400, 422)
        assert refused.json()["error"]["details"]["field"] == "lat"
        kind = client.post("/v1/records/nonsense", json=body, headers=keys.headers("admin"))
        assert kind.status_code in (400, 422)
        auditor = client.get("/v1/records", headers=keys.headers("auditor"))
        assert auditor.status_code == 403
        peek = client.get(f"/v1/records?party_id={PARTY_A}", headers=keys.headers("vendor_b"))
        assert peek.status_code == 403
        assert client.get("/v1/records", headers=keys.headers("analyst")).json()["total"] == 1
    finally:
        client.__exit__(None, None, None)
        db.dispose()


def test_service_is_all_or_nothing(database: Database) -> None:
    rows = [ONE_OF_EACH["order"], {**ONE_OF_EACH["order"], "order_id": "PO-2", "buyer": "x"}]
    with pytest.raises(PermissionDenied):
        add_records(database, RecordKind.ORDER, rows, now=NOW, party=PARTY_A)
    with pytest.raises(Conflict):
        add_records(database, RecordKind.ORDER, [rows[0], rows[0]], now=NOW)
    assert list_records(database).total == 0
    add_records(database, RecordKind.ORDER, rows, now=NOW)
    assert list_records(database, scope=PARTY_A).total == 1
    assert list_records(database, party=PARTY_B).total == 0
    with pytest.raises(InvalidInput):
        list_records(database, limit=0)


def test_ftm_payments_are_kept_and_other_schemata_warned(database: Database) -> None:
    entities = [
        {
            "id": "buyer-1",
            "schema": "Company",
            "properties": {
                "name": ["Buyer One"],
                "country": ["sg"],
                "incorporationDate": ["2025-11-02"],
                "sector": ["distributor"],
                "registrationNumber": ["202512345K"],
            },
        },
        {
            "id": "pay-1",
            "schema": "Payment",
            "properties": {
                "payer": ["buyer-1"],
                "beneficiary": ["vendor-x"],
                "date": ["2026-02-01"],
                "amount": ["120000"],
                "currency": ["USD"],
                "transactionNumber": ["PO-1"],
            },
        },
        {"id": "addr-1", "schema": "Address", "properties": {"full": ["1 Main St"]}},
    ]
    result = add_parties(database, entities, now=NOW)
    assert (result.parties, result.payments) == (1, 1)
    assert any("addr-1" in w and "not stored" in w for w in result.warnings)
    [payment] = list_records(database, kind=RecordKind.PAYMENT).items
    assert (payment["payer"], payment["order_id"], payment["amount"]) == ("buyer-1", "PO-1", 120000)
    bad = [{"id": "pay-2", "schema": "Payment", "properties": {"beneficiary": ["v"]}}]
    with pytest.raises(InvalidInput, match="entity #0"):
        add_parties(database, bad, now=NOW)


FTM_BUYER = {
    "id": "buyer-hk",
    "schema": "Company",
    "properties": {
        "name": ["Harbour Compute Ltd"],
        "country": ["hk"],
        "incorporationDate": ["2025-11-02"],
        "sector": ["distributor"],
        "registrationNumber": ["HK-77123"],
    },
}
FTM_PAYMENT = {
    "id": "pay-hk-1",
    "schema": "Payment",
    "properties": {
        "payer": ["buyer-hk"],
        "beneficiary": ["vendor-x"],
        "date": ["2026-02-01"],
        "amount": ["64000"],
        "currency": ["USD"],
        "transactionNumber": ["PO-HK-1"],
    },
}


def test_ftm_company_fields_and_payments_round_trip_cli_store_api_rules(tmp_path: Path) -> None:
    from chiptrail.service.alerts.view import build_view_from_store, run_rules_on_store
    from chiptrail.store.migrate import open_database

    db = tmp_path / "f.db"
    src = tmp_path / "ftm.jsonl"
    src.write_text("\n".join(json.dumps(e) for e in (FTM_BUYER, FTM_PAYMENT)))
    added = runner.invoke(app, ["parties", "add", str(src), "--db", str(db)])
    assert added.exit_code == 0, added.output
    order = tmp_path / "po.csv"
    order.write_text(
        "order_id,buyer,seller,quantity,ordered_at,chip_model\n"
        "PO-HK-1,buyer-hk,vendor-x,8,2026-01-20T00:00:00Z,h100-sxm\n"
    )
    assert (
        runner.invoke(app, ["records", "add", "order", str(order), "--db", str(db)]).exit_code == 0
    )
    application = build_app(f"sqlite:///{db}", tmp_path)
    with TestClient(application) as client:
        keys = make_keys(application.state.database)
        staff = keys.headers("analyst")
        party = client.get("/v1/parties/buyer-hk", headers=staff)
        assert party.status_code == 200, party.text
        body = json.dumps(party.json())
        for kept in ("2025-11-02", "distributor", "HK-77123"):
            assert kept in body, kept
        [payment] = client.get("/v1/records?kind=payment", headers=staff).json()["items"]
        assert (payment["payer"], payment["order_id"]) == ("buyer-hk", "PO-HK-1")
    application.state.database.dispose()
    database = open_database(f"sqlite:///{db}")
    try:
        view = build_view_from_store(database, NOW)
        buyer = view.parties["buyer-hk"]  # type: ignore[index]
        assert buyer.incorporated_at == datetime(2025, 11, 2, tzinfo=UTC)
        [po] = view.orders
        assert po.payment_country == "HK"  # the payer's registered country
        rules = {f.rule for f in run_rules_on_store(database, now=NOW).findings}
        assert {"payment-from-concern", "consignee-new-or-shell"} <= rules
    finally:
        database.dispose()


def test_a_bad_ftm_payment_stores_nothing_from_the_file(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    src = tmp_path / "ftm.jsonl"
    bad = {**FTM_PAYMENT, "properties": {"beneficiary": ["vendor-x"]}}  # no payer
    src.write_text("\n".join(json.dumps(e) for e in (FTM_BUYER, bad)))
    result = runner.invoke(app, ["parties", "add", str(src), "--db", str(db)])
    assert result.exit_code == 2
    assert "payer" in result.output
    listed = runner.invoke(app, ["records", "list", "--db", str(db), "--json"])
    assert json.loads(listed.stdout)["items"] == []
    shown = runner.invoke(app, ["parties", "show", "buyer-hk", "--db", str(db)])
    assert shown.exit_code == 2  # the company in the same file was not stored either
