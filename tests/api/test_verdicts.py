"""Stored location verdicts over HTTP: the latest per chip (the map) and a chip's history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from chiptrail.store.geoloc_tables import location_verdicts_table
from tests.api.conftest import Keys

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _store(client: TestClient, chip: str, verdict: str, hours: int, lat: float) -> None:
    evidence = {"lat": lat, "lon": 103.8, "proven_countries": ["SG"], "likely_countries": ["SG"]}
    row = {
        "chip_id": chip,
        "verdict": verdict,
        "computed_at": T0 + timedelta(hours=hours),
        "declared_lat": 37.4,
        "declared_lon": -122.0,
        "declared_country": "US",
        "n_landmarks": 2,
        "evidence_json": json.dumps(evidence),
    }
    with client.app.state.database.unit() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(location_verdicts_table).values(**row))


def test_latest_verdict_per_chip_and_history(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    _store(client, "chip-a", "VERIFIED", 0, 1.0)
    _store(client, "chip-a", "VIOLATION", 1, 1.3)
    _store(client, "chip-b", "UNVERIFIED", 0, 2.0)
    analyst = keys.headers("analyst")
    page = client.get("/v1/verdicts", headers=analyst).json()
    assert [(v["chip_id"], v["verdict"], v["lat"]) for v in page["items"]] == [
        ("chip-a", "VIOLATION", 1.3),
        ("chip-b", "UNVERIFIED", 2.0),
    ]
    only = client.get("/v1/verdicts?verdict=violation", headers=analyst).json()["items"]
    assert [v["chip_id"] for v in only] == ["chip-a"]
    first = client.get("/v1/verdicts?limit=1", headers=analyst).json()
    second = client.get(f"/v1/verdicts?limit=1&cursor={first['next_cursor']}", headers=analyst)
    assert [v["chip_id"] for v in second.json()["items"]] == ["chip-b"]
    history = client.get("/v1/chips/chip-a/verdicts", headers=analyst).json()
    assert [v["verdict"] for v in history] == ["VIOLATION", "VERIFIED"]
    assert history[0]["evidence"]["proven_countries"] == ["SG"]
    assert history[0]["computed_at"].startswith("2026-11-01T01:00:00")
    bad = client.get("/v1/verdicts?verdict=MAYBE", headers=analyst)
    assert bad.status_code == 422
    assert client.get("/v1/verdicts", headers=keys.headers("vendor_a")).status_code == 403
