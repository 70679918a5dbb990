"""HTTP: GET /v1/hardware[/{model}], POST /v1/hardware/classify and POST /v1/license-check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chiptrail.api.app import create_app
from chiptrail.api.auth import AuthConfig
from chiptrail.service.settings import load_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("hardware-api")
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp)}, str(tmp / "api.db"))
    with TestClient(create_app(settings, auth=AuthConfig(unsafe_no_auth=True))) as c:
        yield c


def _error(body: dict[str, object]) -> dict[str, object]:
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) >= {"code", "message", "details"}
    return error


def test_list(client: TestClient) -> None:
    response = client.get("/v1/hardware")
    assert response.status_code == 200
    rows = {r["model_id"]: r for r in response.json()}
    assert rows["h100-sxm"]["tpp"] == 15832
    assert rows["rtx-4090d"]["paragraph"] == "Note 2 to 3A090"


def test_get_model_any_spelling(client: TestClient) -> None:
    body = client.get("/v1/hardware/H100 PCIe", params={"quantity": 4}).json()
    assert body["model"]["model_id"] == "h100-pcie"
    assert body["system"]["eccn"] == "4A090.a"
    assert body["system"]["total_tpp"] == 4 * 12104


def test_unknown_model_is_404_with_close_names(client: TestClient) -> None:
    response = client.get("/v1/hardware/H10O")
    assert response.status_code == 404
    error = _error(response.json())
    details = error["details"]
    assert isinstance(details, dict)
    assert "H100 SXM5 80GB" in details["close_matches"]


def test_classify_custom(client: TestClient) -> None:
    response = client.post("/v1/hardware/classify", json={"tpp": 2400, "die_area_mm2": 1500})
    assert response.status_code == 200
    assert response.json()["classification"]["paragraph"] == "3A090.b.1"
    hbm = client.post(
        "/v1/hardware/classify", json={"memory_bandwidth_density_gbps_per_mm2": 3.3}
    ).json()
    assert hbm["classification"]["eccn"] == "3A090.c"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tpp": -1}, "tpp"),
        ({"tpp": 3000, "die_area_mm2": 0}, "die_area_mm2"),
        ({"tpp": 3000}, "die_area_mm2"),
        ({"die_area_mm2": 100}, "tpp"),
        ({"tpp": 100, "quantity": 0}, "quantity"),
        ({"tpp": 1e308, "quantity": 10}, "quantity"),
        ({"tpp": 1e308, "die_area_mm2": 1e-300}, "die_area_mm2"),
        ({"tpp": "lots"}, "tpp"),
        ({"tpp": 100, "memory_bandwidth_density_gbps_per_mm2": 3}, "memory_bandwidth"),
    ],
    ids=[
        "negative tpp",
        "zero area",
        "area needed",
        "tpp missing",
        "quantity 0",
        "total TPP overflows",
        "PD overflows",
        "tpp not a number",
        "both kinds",
    ],
)
def test_classify_bad_input_is_422_naming_the_field(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/v1/hardware/classify", json=body)
    assert response.status_code == 422
    error = _error(response.json())
    assert field in str(error["message"]) + str(error["details"])


@pytest.mark.parametrize(
    ("body", "decision", "rule"),
    [
        ({"item": "H100", "quantity": 8, "destination": "CN"}, "license-required", None),
        ({"item": "RTX 4090", "quantity": 8, "destination": "ae"}, "license-exception",
         "d1-d4-aca"),
        ({"item": "H100", "quantity": 8, "destination": "FR"}, "no-license-required", None),
        (
            {"item": "H100", "quantity": 1, "destination": "FR", "end_user": "X Corp",
             "restricted_parties": ["X Corporation"]},
            "license-required",
            "entity-list",
        ),
    ],
    ids=["China", "UAE gaming card", "France", "listed end user"],
)  # fmt: skip
def test_license_check(
    client: TestClient, body: dict[str, object], decision: str, rule: str | None
) -> None:
    response = client.post("/v1/license-check", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["decision"] == decision
    assert rule is None or answer["rule_id"] == rule
    assert answer["rules_as_of"] == "2026-01-15"
    assert answer["citations"]
    assert answer["h100_equivalents"] > 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"item": "H100", "quantity": 1, "destination": "ZZ"}, 422, "destination"),
        ({"item": "H100", "quantity": 0, "destination": "SG"}, 422, "quantity"),
        ({"item": "H100", "destination": "SG"}, 422, "quantity"),
        ({"item": "H100", "quantity": 1, "destination": "SG", "end_user_headquarters": "Q"}, 422,
         "end_user_headquarters"),
        ({"item": "H1OO", "quantity": 1, "destination": "SG"}, 404, "model"),
        ({"item": "H100", "quantity": 10**30, "destination": "SG"}, 422, "quantity"),
    ],
    ids=["bad country", "zero quantity", "missing quantity", "bad HQ", "unknown model", "huge"],
)  # fmt: skip
def test_license_check_bad_input(
    client: TestClient, body: dict[str, object], status: int, field: str
) -> None:
    response = client.post("/v1/license-check", json=body)
    assert response.status_code == status
    error = _error(response.json())
    assert field in str(error["message"]) + str(error["details"])
