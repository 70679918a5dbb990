"""Attacks on the submission endpoints with auth on: another party's envelopes, wrong roles,
forged and replayed measurements. Each is refused with the right status and nothing is stored."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.ledger.submission import sign_submission
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.wire import record_to_json
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.store.geoloc_tables import measurements_table
from chiptrail.store.ledger_tables import log_leaves_table
from chiptrail.types import ChipId, LandmarkId
from tests.api.conftest import PARTY_A, PARTY_B, Keys, build_app, make_keys
from tests.api.load import epcis_document

PARTY_KEY = Ed25519Signer(bytes([21]) * 32)
LANDMARK_KEY = Ed25519Signer(bytes([22]) * 32)
CHIP = SoftwareDeviceKey(ChipId("sec-chip-1"), Ed25519Signer(bytes([23]) * 32))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    app = build_app(f"sqlite:///{tmp_path / 'sec.db'}", tmp_path)
    with TestClient(app) as c:
        keys = make_keys(app.state.database)
        if "/v1/events" not in c.get("/openapi.json").json()["paths"]:
            pytest.skip("the ledger's POST /v1/events is not in this build")
        yield c, keys
    app.state.database.dispose()


def _count(client: TestClient, table: object) -> int:
    with client.app.state.database.unit() as conn:  # type: ignore[attr-defined]
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def _envelope(party: str, nonce: str) -> dict[str, str]:
    now = datetime.now(UTC)
    payload = epcis_document(f"urn:epc:id:sgtin:0614141.107346.{nonce[-3:]}", now)
    return sign_submission(
        payload, party_id=party, signer=PARTY_KEY, nonce=nonce, signed_at=now
    ).to_json()


def test_a_party_key_cannot_submit_another_partys_envelopes(
    client: tuple[TestClient, Keys],
) -> None:
    c, keys = client
    admin = keys.headers("admin")
    for party in (PARTY_A, PARTY_B):
        assert (
            c.post(
                "/v1/ledger/parties", json={"party_id": party, "name": party}, headers=admin
            ).status_code
            == 201
        )
    key = {"public_key_b64": b64encode(PARTY_KEY.public_key)}
    assert c.post(f"/v1/ledger/parties/{PARTY_A}/keys", json=key, headers=admin).status_code == 201
    leaves = _count(c, log_leaves_table)

    as_b = c.post(
        "/v1/events", json=_envelope(PARTY_A, "sec-000001"), headers=keys.headers("vendor_b")
    )
    assert as_b.status_code == 403
    batch = [_envelope(PARTY_A, "sec-000002")]
    assert c.post("/v1/events", json=batch, headers=keys.headers("vendor_b")).status_code == 403
    landmark = c.post(
        "/v1/events", json=_envelope(PARTY_A, "sec-000003"), headers=keys.headers("landmark")
    )
    assert landmark.status_code == 403
    auditor = c.post(
        "/v1/events", json=_envelope(PARTY_A, "sec-000004"), headers=keys.headers("auditor")
    )
    assert auditor.status_code == 403
    assert _count(c, log_leaves_table) == leaves  # nothing stored

    own = c.post(
        "/v1/events", json=_envelope(PARTY_A, "sec-000005"), headers=keys.headers("vendor_a")
    )
    assert own.status_code == 201, own.text
    assert _count(c, log_leaves_table) == leaves + 1
    replay = c.post(
        "/v1/events", json=_envelope(PARTY_A, "sec-000005"), headers=keys.headers("vendor_a")
    )
    assert replay.status_code == 400
    assert _count(c, log_leaves_table) == leaves + 1


def _measurement(nonce: int) -> dict[str, object]:
    now = datetime.now(UTC)
    landmark = Landmark(LandmarkConfig(LandmarkId("lm-sec")), LANDMARK_KEY)
    challenge = landmark.issue_challenge(CHIP.chip_id, nonce.to_bytes(32, "big"), now, 0)
    record = landmark.accept_response(answer_challenge(challenge, CHIP), 5_000_000, now)
    return record_to_json(record)


def test_forged_and_replayed_measurements_and_wrong_roles(client: tuple[TestClient, Keys]) -> None:
    c, keys = client
    admin = keys.headers("admin")
    landmark = {
        "landmark_id": "lm-sec",
        "lat": 1.29,
        "lon": 103.85,
        "public_key": b64encode(LANDMARK_KEY.public_key),
    }
    assert c.post("/v1/landmarks", json=landmark, headers=admin).status_code == 201
    device = {"scheme": "ed25519", "public_key": b64encode(CHIP.public_key)}
    assert (
        c.post(f"/v1/chips/{CHIP.chip_id}/device-key", json=device, headers=admin).status_code
        == 201
    )
    submitter = keys.headers("landmark")

    forged = _measurement(1)
    signature = bytearray(base64.b64decode(str(forged["landmark_signature"])))
    signature[0] ^= 1
    forged["landmark_signature"] = base64.b64encode(bytes(signature)).decode()
    assert (
        c.post("/v1/measurements", json={"records": [forged]}, headers=submitter).status_code == 400
    )
    for role in ("vendor_a", "analyst", "auditor"):
        refused = c.post(
            "/v1/measurements", json={"records": [_measurement(2)]}, headers=keys.headers(role)
        )
        assert refused.status_code == 403, role
    assert _count(c, measurements_table) == 0

    good = {"records": [_measurement(3)]}
    assert c.post("/v1/measurements", json=good, headers=submitter).status_code == 201
    assert c.post("/v1/measurements", json=good, headers=submitter).status_code == 409
    assert _count(c, measurements_table) == 1
