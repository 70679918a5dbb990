"""HTTP: POST /v1/rules/run runs the rules over the stored state (analysts and admins only)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Keys
from tests.service.store_world import NOW, build_store_world, chip


def test_rules_run_over_the_store(authed_sqlite: tuple[TestClient, Keys]) -> None:
    client, keys = authed_sqlite
    build_store_world(client.app.state.database)  # type: ignore[attr-defined]
    params = {"now": NOW.isoformat()}
    for role in ("vendor_a", "operator_a", "auditor"):
        refused = client.post("/v1/rules/run", params=params, headers=keys.headers(role))
        assert refused.status_code == 403, role
    ok = client.post("/v1/rules/run", params=params, headers=keys.headers("analyst"))
    assert ok.status_code == 200, ok.text
    body = ok.json()
    fired = {(f["rule"], f["subject"]) for f in body["findings"]}
    assert {("shipped-never-received", chip(2)), ("location-violation", chip(3))} <= fired
    assert chip(1) not in {s for _, s in fired}
    assert body["run_id"] is None
    stored = client.post(
        "/v1/rules/run", params={**params, "store": "true"}, headers=keys.headers("admin")
    )
    assert stored.status_code == 200
    assert stored.json()["run_id"] is not None
    listed = client.get("/v1/findings", headers=keys.headers("analyst"))
    assert listed.json()["total"] == body["finding_count"]
