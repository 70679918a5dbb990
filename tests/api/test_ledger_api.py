"""Ledger over HTTP: parties and keys, signed batches, chips, checkpoint, proofs, tiles."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from chiptrail.api.app import create_app
from chiptrail.ledger.checkpoint import parse_checkpoint
from chiptrail.ledger.merkle import hash_leaf
from chiptrail.ledger.proof import verify_inclusion
from chiptrail.ledger.tiles import parse_entry_bundle
from chiptrail.service.settings import load_settings
from tests.ledger.helpers import chip, document, envelope, event, signer


def _client(tmp_path: Path) -> TestClient:
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path)}, str(tmp_path / "api.db"))
    return TestClient(create_app(settings))


def test_ledger_routes(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        r = client.post(
            "/v1/ledger/parties", json={"party_id": "vendor", "name": "V", "country": "US"}
        )
        assert r.status_code == 201
        key = base64.b64encode(signer(1).public_key).decode()
        r = client.post("/v1/ledger/parties/vendor/keys", json={"public_key_b64": key})
        assert r.status_code == 201
        payload = document(
            event("commissioning", [chip(1)]), event("shipping", [chip(1)], minute=1)
        )
        # The server checks signed_at against its own clock: sign at that time, not at a fixed date.
        signed_at = datetime.now(UTC)
        env = envelope("vendor", 1, payload, "n-000001", at=signed_at).to_json()
        r = client.post("/v1/events", json=[env])
        assert r.status_code == 201, r.text
        assert r.json()["appended"] == 2
        replay = client.post("/v1/events", json=env)
        assert replay.status_code == 400
        assert replay.json()["error"]["code"] == "verification_failed"
        bad = envelope(
            "vendor", 1, document({"type": "ObjectEvent"}), "n-000002", at=signed_at
        ).to_json()
        r = client.post("/v1/events", json=bad)
        assert r.status_code == 422
        assert r.json()["error"]["details"]["errors"][0]["path"].startswith("$.epcisBody")

        chip_view = client.get(f"/v1/chips/{chip(1)}").json()
        assert chip_view["state"]["status"] == "in_transit"
        assert len(chip_view["history"]) == 2
        assert client.get("/v1/parties/vendor/chips").json()[0]["epc"] == chip(1)
        assert client.get("/v1/chips/urn:epc:id:sgtin:1.2.3").status_code == 404

        note = client.get("/v1/log/checkpoint")
        assert note.headers["content-type"].startswith("text/plain")
        cp = parse_checkpoint(note.text.split("\n\n")[0] + "\n")
        assert cp.size == 4
        proof = client.get("/v1/log/proof/inclusion", params={"index": 3, "size": 4}).json()
        bundle = client.get("/v1/log/tile/entries/000.p/4")
        assert bundle.status_code == 200
        dec = base64.b64decode
        entries = parse_entry_bundle(bundle.content)
        assert len(entries) == 4
        assert hash_leaf(entries[3]) == dec(proof["leaf_hash"])
        verify_inclusion(
            dec(proof["leaf_hash"]), 3, 4, [dec(h) for h in proof["hashes"]], cp.root_hash
        )
        tile = client.get("/v1/log/tile/0/000.p/4")
        assert tile.status_code == 200
        assert len(tile.content) == 4 * 32
        again = client.get(
            "/v1/log/tile/0/000.p/4", headers={"If-None-Match": tile.headers["etag"]}
        )
        assert again.status_code == 304
        assert client.get("/v1/log/tile/0/001").status_code == 404
        cons = client.get("/v1/log/proof/consistency", params={"old_size": 2, "size": 4})
        assert cons.status_code == 200


def test_key_routes(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        client.post("/v1/ledger/parties", json={"party_id": "dist", "name": "D", "country": "SG"})
        first = client.post(
            "/v1/ledger/parties/dist/keys",
            json={"public_key_b64": base64.b64encode(signer(2).public_key).decode()},
        ).json()
        rotated = client.post(
            "/v1/ledger/parties/dist/keys/rotate",
            json={
                "old_key_id": first["key_id"],
                "public_key_b64": base64.b64encode(signer(3).public_key).decode(),
            },
        )
        assert rotated.status_code == 201
        keys = client.get("/v1/ledger/parties/dist/keys").json()
        assert [k["revoked_leaf"] is None for k in keys] == [False, True]
        revoked = client.post(f"/v1/ledger/parties/dist/keys/{rotated.json()['key_id']}/revoke")
        assert revoked.json()["revoked_leaf"] is not None
        again = client.post(f"/v1/ledger/parties/dist/keys/{rotated.json()['key_id']}/revoke")
        assert again.status_code == 409
        assert client.get("/v1/ledger/parties/nobody/keys").status_code == 404
        dup = client.post("/v1/ledger/parties", json={"party_id": "dist", "name": "D2"})
        assert dup.status_code == 409
