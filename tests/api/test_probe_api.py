"""Location verification over HTTP: landmarks, device keys, signed measurement batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chiptrail.api.app import create_app
from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.probe.wire import record_to_json
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.service.settings import load_settings
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import T0, seed, signed_record

LM_KEY = Ed25519Signer(seed(1))
CHIP = SoftwareDeviceKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))


def measure(n: int, rtt_ns: int = 2_000_000) -> MeasurementRecord:
    lm = Landmark(LandmarkConfig(LandmarkId("lm-sg")), LM_KEY)
    challenge = lm.issue_challenge(CHIP.chip_id, n.to_bytes(32, "big"), T0, 0)
    return lm.accept_response(answer_challenge(challenge, CHIP), rtt_ns, T0)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path)}, str(tmp_path / "api.db"))
    with TestClient(create_app(settings)) as c:
        yield c


def setup(client: TestClient) -> None:
    body = {
        "landmark_id": "lm-sg",
        "lat": 1.29,
        "lon": 103.85,
        "country": "SG",
        "public_key": b64encode(LM_KEY.public_key),
    }
    r = client.post("/v1/landmarks", json=body)
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1/chips/GPU-1/device-key",
        json={
            "scheme": "ed25519",
            "public_key": b64encode(CHIP.public_key),
            "identity": {"uuid": "GPU-1"},
        },
    )
    assert r.status_code == 201, r.text


def test_landmarks_register_and_list(client: TestClient) -> None:
    setup(client)
    listed = client.get("/v1/landmarks").json()["landmarks"]
    assert [(lm["landmark_id"], lm["country"]) for lm in listed] == [("lm-sg", "SG")]
    moved = {
        "landmark_id": "lm-sg",
        "lat": 2.0,
        "lon": 103.85,
        "public_key": b64encode(LM_KEY.public_key),
    }
    r = client.post("/v1/landmarks", json=moved)
    assert r.status_code == 409
    assert set(r.json()["error"]) == {"code", "message", "details"}


def test_batch_stored_then_replay_is_409(client: TestClient) -> None:
    setup(client)
    batch = {"records": [record_to_json(measure(1)), record_to_json(measure(2))]}
    r = client.post("/v1/measurements", json=batch)
    assert r.status_code == 201, r.text
    assert r.json()["stored"] == 2
    r = client.post("/v1/measurements", json={"records": [record_to_json(measure(1))]})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


def test_atomic_one_forged_record_refuses_the_batch(client: TestClient) -> None:
    setup(client)
    forged = dataclasses.replace(measure(4), rtt_ns=10)
    batch = {"records": [record_to_json(measure(3)), record_to_json(forged)]}
    r = client.post("/v1/measurements?atomic=true", json=batch)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "verification_failed"
    assert r.json()["error"]["details"]["index"] == 1
    r = client.post("/v1/measurements", json={"records": [record_to_json(measure(3))]})
    assert r.status_code == 201  # nothing of the refused batch was stored


def test_partial_batch_stores_valid_records_and_lists_refusals(client: TestClient) -> None:
    setup(client)
    forged = record_to_json(dataclasses.replace(measure(4), rtt_ns=10))
    unparsable = {**record_to_json(measure(5)), "nonce": "!!"}
    batch = {
        "records": [record_to_json(measure(3)), forged, unparsable, record_to_json(measure(6))]
    }
    r = client.post("/v1/measurements", json=batch)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["stored"] == 2
    assert [(x["index"], x["code"]) for x in answer["refused"]] == [
        (1, "verification_failed"),
        (2, "invalid_input"),
    ]
    r = client.post("/v1/measurements", json={"records": [record_to_json(measure(3))]})
    assert r.status_code == 409  # stored by the partial batch


def test_bulk_device_keys_and_landmarks(client: TestClient) -> None:
    keys = [
        {
            "chip_id": f"GPU-{i}",
            "scheme": "ed25519",
            "public_key": b64encode(Ed25519Signer(i.to_bytes(32, "big")).public_key),
        }
        for i in range(1, 1201)
    ]
    keys[1] = {**keys[1], "public_key": "!!"}
    r = client.post("/v1/chips/device-keys", json={"device_keys": keys})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert len(answer["registered"]) == 1199
    assert [(x["index"], x["code"]) for x in answer["refused"]] == [(1, "invalid_input")]
    again = {"device_keys": [keys[0], {**keys[2], "public_key": keys[3]["public_key"]}]}
    answer = client.post("/v1/chips/device-keys", json=again).json()
    assert answer["unchanged"] == ["GPU-1"]
    assert [(x["index"], x["code"]) for x in answer["refused"]] == [(1, "conflict")]
    r = client.post("/v1/chips/device-keys?atomic=true", json=again)
    assert r.status_code == 409
    landmarks = [
        {
            "landmark_id": f"lm-{i}",
            "lat": 1.0 + i / 100,
            "lon": 103.0,
            "country": "SG",
            "public_key": b64encode(Ed25519Signer(seed(50 + i)).public_key),
        }
        for i in range(30)
    ]
    r = client.post("/v1/landmarks/batch", json={"landmarks": [*landmarks, {**landmarks[0]}]})
    assert r.status_code == 201, r.text
    assert len(r.json()["registered"]) == 30
    assert [x["code"] for x in r.json()["refused"]] == ["conflict"]  # named twice
    assert len(client.get("/v1/landmarks").json()["landmarks"]) == 30


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/measurements", {"records": []}, 422),
        ("/v1/measurements", {"records": [{"chip_id": "x"}]}, 422),
        ("/v1/chips/GPU-1/device-key", {"scheme": "rsa", "public_key": "AAAA"}, 422),
        ("/v1/chips/GPU-1/device-key", {"scheme": "ed25519", "public_key": "!!"}, 422),
        ("/v1/landmarks", {"landmark_id": "x", "lat": 99, "lon": 0, "public_key": "AA=="}, 422),
        ("/v1/chips/device-keys", {"device_keys": []}, 422),
        ("/v1/landmarks/batch", {"landmarks": [{"landmark_id": "x"}]}, 422),
    ],
    ids=["empty batch", "bad record", "scheme", "base64", "lat", "no keys", "bad landmark"],
)
def test_bad_bodies(client: TestClient, path: str, body: object, status: int) -> None:
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == {"code", "message", "details"}


def test_unknown_chip_key_is_404(client: TestClient) -> None:
    body = {
        "landmark_id": "lm-sg",
        "lat": 1.29,
        "lon": 103.85,
        "public_key": b64encode(LM_KEY.public_key),
    }
    client.post("/v1/landmarks", json=body)
    r = client.post("/v1/measurements", json={"records": [record_to_json(measure(1))]})
    assert r.status_code == 404


HK_KEY = Ed25519Signer(seed(5))


def seed_location(client: TestClient) -> None:
    """A chip measured 0.5 ms from Hong Kong and 40 ms from Singapore."""
    setup(client)
    body = {
        "landmark_id": "lm-hk",
        "lat": 22.30,
        "lon": 114.17,
        "country": "HK",
        "public_key": b64encode(HK_KEY.public_key),
    }
    assert client.post("/v1/landmarks", json=body).status_code == 201
    records = [
        signed_record("lm-hk", HK_KEY, CHIP, 100, 500_000),
        signed_record("lm-sg", LM_KEY, CHIP, 101, 40_000_000),
    ]
    r = client.post("/v1/measurements", json={"records": [record_to_json(x) for x in records]})
    assert r.status_code == 201, r.text


def test_location_against_a_query_site(client: TestClient) -> None:
    seed_location(client)
    r = client.get("/v1/chips/GPU-1/location", params={"lat": 1.49, "lon": 103.74, "country": "my"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "VIOLATION"
    assert body["declared_site"]["source"] == "query"
    assert body["declared_site"]["country"] == "MY"
    assert body["evidence"][0]["landmark_id"] == "lm-hk"
    assert body["evidence"][0]["distance_km"] > body["evidence"][0]["bound_km"]
    assert "HK" in body["proven_countries"]
    r = client.get(
        "/v1/chips/GPU-1/location",
        params={"lat": 22.5, "lon": 114.1, "country": "HK", "radius_km": 200},
    )
    assert r.json()["verdict"] in ("VERIFIED", "UNVERIFIED")
    assert r.json()["verdict"] != "VIOLATION"


@pytest.mark.parametrize(
    "params",
    [{"lat": 1.0}, {"lat": 1.0, "lon": 2.0, "country": "XX"}, {"window_h": 0}],
    ids=["partial site", "bad country", "window"],
)
def test_location_bad_params(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/v1/chips/GPU-1/location", params=params)
    assert r.status_code == 422, r.text
    assert set(r.json()["error"]) == {"code", "message", "details"}


def test_location_without_measurements_is_unverified(client: TestClient) -> None:
    r = client.get("/v1/chips/GPU-404/location")
    assert r.status_code == 200
    assert r.json()["verdict"] == "UNVERIFIED"
    assert r.json()["measurements"] == []
