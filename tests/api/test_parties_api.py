"""HTTP: POST /v1/screen, POST/GET /v1/parties, GET /v1/parties/{id}/aggregate, POST /v1/tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chiptrail.api.app import create_app
from chiptrail.api.auth import AuthConfig
from chiptrail.service.parties import lists as service
from chiptrail.service.settings import load_settings
from chiptrail.store.migrate import open_database

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "parties"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from datetime import UTC, datetime

    tmp: Path = tmp_path_factory.mktemp("parties-api")
    db_path = str(tmp / "api.db")
    db = open_database(f"sqlite:///{db_path}")
    service.load_list(db, (VECTORS / "csl.csv").read_bytes(), now=datetime.now(UTC))
    db.dispose()
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp)}, db_path)
    with TestClient(create_app(settings, auth=AuthConfig(unsafe_no_auth=True))) as c:
        yield c


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body["error"]) >= {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_screen_single_and_batch(client: TestClient) -> None:
    r = client.post("/v1/screen", json={"name": "SOPHGO TECHNOLOGIES", "country": "CN"})
    assert r.status_code == 200
    [result] = r.json()["results"]
    assert result["is_hit"]
    assert result["matches"][0]["party_id"] == "us-csl.a1b2c3"
    assert result["matches"][0]["features"][1]["feature"] == "country"
    assert result["matches"][0]["listed_on"] == "2025-01-16"  # CSL start_date
    r = client.post(
        "/v1/screen",
        json={"name": "Mr. Sophgo", "schema": "Person", "identifiers": ["91110108MA01"]},
    )
    assert r.status_code == 200
    assert r.json()["results"][0]["query"]["schema"] == "Person"
    r = client.post(
        "/v1/screen",
        json={"queries": [{"query_id": "a", "name": "Aerocaribbean"}, {"name": "Bakery"}]},
    )
    assert [x["query"]["query_id"] for x in r.json()["results"]] == ["a", "2"]
    assert [x["is_hit"] for x in r.json()["results"]] == [True, False]


@pytest.mark.parametrize(
    "body",
    [{}, {"name": "x", "queries": [{"name": "y"}]}, {"name": "x", "country": "XX"}],
    ids=["nothing", "both", "unknown country"],
)
def test_screen_bad_input(client: TestClient, body: dict[str, object]) -> None:
    r = client.post("/v1/screen", json=body)
    assert r.status_code == 422
    assert _error(r)["code"] == "invalid_input"


def test_parties_graph_tenancy_aggregate(client: TestClient) -> None:
    entities = [
        {"id": "p-parent", "schema": "Company", "properties": {"name": ["P Group"]}},
        {"id": "p-sub", "schema": "Company", "properties": {"name": ["P Sub"]}},
        {
            "id": "p-own",
            "schema": "Ownership",
            "properties": {"owner": ["us-csl.a1b2c3"], "asset": ["p-parent"], "percentage": ["50"]},
        },
        {
            "id": "p-own2",
            "schema": "Ownership",
            "properties": {"owner": ["p-parent"], "asset": ["p-sub"], "percentage": ["80"]},
        },
    ]
    r = client.post("/v1/parties", json={"entities": entities})
    assert r.status_code == 201
    assert r.json()["ownerships"] == 2
    r = client.get("/v1/parties/p-sub")
    assert r.status_code == 200
    doc = r.json()
    assert doc["is_restricted"]
    assert "us-csl.a1b2c3 (50%) -> p-parent (80%) -> p-sub" in doc["restrictions"][0]["explanation"]
    report = {
        "operator_id": "cloud",
        "tenant_id": "p-sub",
        "chip_model": "H100",
        "chip_hours": 100.0,
        "period_start_at": "2026-11-01T00:00:00Z",
        "period_end_at": "2026-11-02T00:00:00Z",
    }
    r = client.post("/v1/tenancy", json={"reports": [report]})
    assert r.status_code == 201
    assert r.json() == {"stored": 1}
    r = client.get("/v1/parties/p-sub/aggregate", params={"lookback_days": 36500})
    assert r.status_code == 200
    assert r.json()["volumes"][0]["chip_hours"] == 100.0
    bad = dict(report, period_start_at="2026-11-01T00:00:00")
    assert client.post("/v1/tenancy", json={"reports": [bad]}).status_code == 422
    assert _error(client.get("/v1/parties/none"))["code"] == "not_found"
    r = client.post("/v1/parties", json={"entities": [{"id": "x", "schema": "Nope"}]})
    assert r.status_code == 422
    assert client.get("/v1/lists").json()[0]["list_id"] == "us-csl"
