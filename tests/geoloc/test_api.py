"""``POST /v1/geoloc/locate`` and ``POST /v1/geoloc/plan``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chiptrail.api.app import create_app
from chiptrail.api.auth import AuthConfig
from chiptrail.service.settings import load_settings
from tests.geoloc.fixtures import PLACES, asia_landmarks, rtt_from


@pytest.fixture
def client(tmp_path: Path, geoloc_data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(geoloc_data_dir)}, str(tmp_path / "a.db"))
    with TestClient(create_app(settings, auth=AuthConfig(unsafe_no_auth=True))) as c:
        yield c


def _body() -> dict[str, object]:
    lm = asia_landmarks()
    rtt = rtt_from(lm, *PLACES["shenzhen"])
    return {
        "landmarks": [
            {"landmark_id": m.landmark_id, "lat": m.lat, "lon": m.lon} for m in lm.landmarks
        ],
        "measurements": [
            {"target_id": "chip-1", "landmark_id": m.landmark_id, "rtt_ms": float(r)}
            for m, r in zip(lm.landmarks, rtt, strict=True)
        ]
        + [{"target_id": "chip-1", "landmark_id": "ghost", "rtt_ms": 1.0}],
    }


def test_locate(client: TestClient) -> None:
    res = client.post("/v1/geoloc/locate", json=_body())
    assert res.status_code == 200, res.text
    data = res.json()
    (row,) = data["results"]
    assert row["target_id"] == "chip-1"
    assert "CN" in row["proven_countries"]
    assert data["errors"][0]["message"].startswith("unknown landmark id 'ghost'")


def test_locate_strict_and_validation_errors_have_the_error_shape(client: TestClient) -> None:
    res = client.post("/v1/geoloc/locate", json={**_body(), "strict": True})
    assert res.status_code == 400 or res.status_code == 422
    assert set(res.json()["error"]) == {"code", "message", "details"}
    res = client.post("/v1/geoloc/locate", json={"landmarks": []})
    assert res.status_code in (400, 422)
    assert "error" in res.json()


def test_plan(client: TestClient) -> None:
    body = {
        "deployed": [{"landmark_id": "sg", "lat": 1.29, "lon": 103.85}],
        "candidates": [{"landmark_id": "tpe", "lat": 25.03, "lon": 121.56}],
        "pairs": [
            {
                "a": {"name": "Taipei", "lat": 25.033, "lon": 121.5654},
                "b": {"name": "Fuzhou", "lat": 26.07, "lon": 119.30},
            }
        ],
    }
    res = client.post("/v1/geoloc/plan", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["additions"] == ["tpe"]
