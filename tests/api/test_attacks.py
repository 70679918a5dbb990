"""Attacks from the issue "Custody nobody can forge or read without right", on every engine.

Access: party A's keys against party B's chips, findings, triage, device keys, tenancy and ledger
signing keys. Robustness: checkpoints under concurrency, inputs that used to answer 500, and
``Connection: close`` on server errors. Each is refused with a 4xx and nothing is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chiptrail.api.auth import AuthConfig
from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.service.access.ledger_keys import revocation_message, rotation_message
from chiptrail.service.ledger.log import load_log_signer, sign_log_checkpoint
from chiptrail.service.settings import load_settings
from chiptrail.store.auth_tables import refused_requests_table
from chiptrail.store.database import Database
from tests.api.conftest import PARTY_A, PARTY_B, Keys, build_app, make_keys
from tests.api.load import epcis_document
from tests.api.world import SIGNERS, World, build_world, envelope


@pytest.fixture
def attack(database: Database, tmp_path: Path) -> Iterator[tuple[TestClient, Keys, World]]:
    """An app with auth on over each engine, keys of every role, and the two-party world."""
    url = database.engine.url.render_as_string(hide_password=False)
    app = build_app(url, tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        keys = make_keys(app.state.database)
        yield client, keys, build_world(client, keys)
    app.state.database.dispose()


# --- access ----------------------------------------------------------------------------------


def test_a_vendor_cannot_read_another_partys_chip(attack: tuple[TestClient, Keys, World]) -> None:
    client, keys, world = attack
    theirs, own = world.chips[PARTY_B], world.chips[PARTY_A]
    vendor_a = keys.headers("vendor_a")
    assert client.get(f"/v1/chips/{theirs}", headers=vendor_a).status_code == 403
    assert client.get(f"/v1/chips/{theirs}/location", headers=vendor_a).status_code == 403
    assert client.get("/v1/chips/urn:no-such-chip", headers=vendor_a).status_code == 403
    assert client.get(f"/v1/chips/{own}", headers=vendor_a).status_code == 200
    assert client.get(f"/v1/chips/{theirs}", headers=keys.headers("vendor_b")).status_code == 200


def test_a_vendor_sees_only_findings_about_its_own_chips(
    attack: tuple[TestClient, Keys, World],
) -> None:
    client, keys, world = attack
    vendor_a = keys.headers("vendor_a")
    listed = client.get("/v1/findings", headers=vendor_a).json()
    assert [f["subject"] for f in listed["items"]] == [world.chips[PARTY_A]]
    assert listed["total"] == 1
    theirs = world.findings[PARTY_B]
    assert client.get(f"/v1/findings/{theirs}", headers=vendor_a).status_code == 403
    assert client.get(f"/v1/findings/{theirs}/triage", headers=vendor_a).status_code == 403
    own = world.findings[PARTY_A]
    assert client.get(f"/v1/findings/{own}", headers=vendor_a).status_code == 200
    staff = client.get("/v1/findings", headers=keys.headers("analyst")).json()
    assert staff["total"] == 2


def test_a_vendor_cannot_register_a_device_key_on_another_partys_chip(
    attack: tuple[TestClient, Keys, World],
) -> None:
    client, keys, world = attack
    theirs = world.chips[PARTY_B]
    body = {"scheme": "ed25519", "public_key": b64encode(Ed25519Signer(bytes([5]) * 32).public_key)}
    hijack = client.post(
        f"/v1/chips/{theirs}/device-key", json=body, headers=keys.headers("vendor_a")
    )
    assert hijack.status_code == 403
    bulk = {"device_keys": [{"chip_id": theirs, **body}]}
    assert (
        client.post(
            "/v1/chips/device-keys", json=bulk, headers=keys.headers("vendor_a")
        ).status_code
        == 403
    )
    own_body = {**body, "public_key": b64encode(Ed25519Signer(bytes([6]) * 32).public_key)}
    owner = client.post(
        f"/v1/chips/{theirs}/device-key", json=own_body, headers=keys.headers("vendor_b")
    )
    assert owner.status_code == 201, owner.text


def test_an_operator_cannot_report_tenancy_for_another_operator(
    attack: tuple[TestClient, Keys, World],
) -> None:
    client, keys, _ = attack
    report = {
        "tenant_id": "tenant-x",
        "chip_model": "H100",
        "chip_hours": 10.0,
        "period_start_at": "2026-01-01T00:00:00Z",
        "period_end_at": "2026-01-02T00:00:00Z",
    }
    operator_a = keys.headers("operator_a")
    theirs = {"reports": [{**report, "operator_id": PARTY_B}]}
    assert client.post("/v1/tenancy", json=theirs, headers=operator_a).status_code == 403
    mixed = {"reports": [{**report, "operator_id": PARTY_A}, {**report, "operator_id": PARTY_B}]}
    assert client.post("/v1/tenancy", json=mixed, headers=operator_a).status_code == 403
    own = {"reports": [{**report, "operator_id": PARTY_A}]}
    assert client.post("/v1/tenancy", json=own, headers=operator_a).status_code == 201


def test_a_vendor_token_cannot_register_ledger_signing_keys(
    attack: tuple[TestClient, Keys, World],
) -> None:
    client, keys, _ = attack
    key = {"public_key_b64": b64encode(Ed25519Signer(bytes([7]) * 32).public_key)}
    for role in ("vendor_a", "operator_a", "analyst"):
        answer = client.post(
            f"/v1/ledger/parties/{PARTY_A}/keys", json=key, headers=keys.headers(role)
        )
        assert answer.status_code == 403, role
    assert (
        client.post(
            f"/v1/ledger/parties/{PARTY_A}/keys", json=key, headers=keys.headers("admin")
        ).status_code
        == 201
    )


def _refusal_count(client: TestClient) -> int:
    db: Database = client.app.state.database  # type: ignore[attr-defined]
    with db.unit() as conn:
        return int(conn.scalar(select(func.count()).select_from(refused_requests_table)) or 0)


def test_failed_authentication_is_rate_limited_without_a_write_per_attempt(
    database: Database, tmp_path: Path
) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    app = build_app(url, tmp_path, AuthConfig(clock_s=lambda: 0.0))  # time stands still
    burst = app.state.auth.failed_auth_limit.burst
    with TestClient(app) as client:
        before = _refusal_count(client)
        statuses = [
            client.get("/v1/me", headers={"Authorization": f"Bearer ctk_g{i}_wrong"}).status_code
            for i in range(burst + 30)
        ]
        assert statuses == [401] * burst + [429] * 30
        assert _refusal_count(client) - before == burst  # the 429s wrote nothing
        keys = make_keys(app.state.database)
        # a real key from the same address is refused too until the bucket refills: the
        # guesser and the holder cannot be told apart by address (the cost of this limit)
        assert client.get("/v1/me", headers=keys.headers("admin")).status_code == 429
    app.state.database.dispose()


# --- robustness --------------------------------------------------------------------------------


def test_checkpoints_are_safe_under_concurrency(database: Database, tmp_path: Path) -> None:
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path / "fresh")})
    notes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def first_use() -> None:
        try:
            start.wait()
            notes.append(sign_log_checkpoint(database, settings, now=datetime.now(UTC)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(notes)) == 1  # one key, one checkpoint: every caller got the same note
    assert load_log_signer(settings).public_key  # the key file is whole


def test_checkpoints_while_submitting(attack: tuple[TestClient, Keys, World]) -> None:
    client, keys, _ = attack
    statuses: list[int] = []

    def read_checkpoints() -> None:
        statuses.extend(client.get("/v1/log/checkpoint").status_code for _ in range(15))

    reader = threading.Thread(target=read_checkpoints)
    reader.start()
    for i in range(15):
        doc = epcis_document(f"urn:epc:id:sgtin:0614141.107346.{3000 + i}", datetime.now(UTC))
        answer = client.post(
            "/v1/events",
            json=envelope(PARTY_A, doc, f"conc-{i:04d}"),
            headers=keys.headers("vendor_a"),
        )
        assert answer.status_code == 201, answer.text
        statuses.append(client.get("/v1/log/checkpoint").status_code)
    reader.join()
    assert set(statuses) == {200}


@pytest.mark.parametrize("path", ["/v1/cases", "/v1/findings"])
def test_huge_offsets_are_refused(attack: tuple[TestClient, Keys, World], path: str) -> None:
    client, keys, _ = attack
    answer = client.get(f"{path}?offset=100000000000000000000", headers=keys.headers("admin"))
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("role", ["admin", "vendor_a"])
def test_deeply_nested_bodies_are_refused(
    attack: tuple[TestClient, Keys, World], role: str
) -> None:
    client, keys, _ = attack
    body = b"[" * 100_000
    answer = client.post(
        "/v1/events",
        content=body,
        headers={**keys.headers(role), "Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500, answer.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/chips/urn:epc:id:sgtin:0614141.107346.1%00", None),
        ("GET", "/v1/findings?subject=chip%00x", None),
        ("GET", "/v1/findings/f-about-a%00", None),
        ("POST", "/v1/findings/f-about-a/triage", {"action": "comment", "comment": "a\u0000b"}),
        ("POST", "/v1/ledger/parties", {"party_id": "p\u0000", "name": "x"}),
    ],
    ids=["in a path", "in a query", "in a finding id", "in a comment", "in a party id"],
)
def test_nul_bytes_never_answer_500(
    attack: tuple[TestClient, Keys, World], method: str, path: str, body: object
) -> None:
    client, keys, _ = attack
    answer = client.request(method, path, json=body, headers=keys.headers("admin"))
    assert answer.status_code < 500, answer.text


def test_server_errors_close_the_connection(tmp_path: Path) -> None:
    app = build_app(f"sqlite:///{tmp_path / 'boom.db'}", tmp_path)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom")
        assert answer.status_code == 500
        assert answer.headers["connection"] == "close"
        assert answer.json()["error"]["code"] == "internal"
        assert "connection" not in client.get("/healthz").headers
    app.state.database.dispose()


def test_a_party_rotates_and_revokes_its_key_only_by_proving_possession(
    attack: tuple[TestClient, Keys, World],
) -> None:
    client, keys, _ = attack
    old = SIGNERS[PARTY_A]
    old_key_id = next(
        k["key_id"]
        for k in client.get(
            f"/v1/ledger/parties/{PARTY_A}/keys", headers=keys.headers("vendor_a")
        ).json()
        if k["revoked_leaf"] is None
    )
    new = Ed25519Signer(bytes([44]) * 32)
    body: dict[str, object] = {
        "old_key_id": old_key_id,
        "public_key_b64": b64encode(new.public_key),
    }
    url = f"/v1/ledger/parties/{PARTY_A}/keys/rotate"
    vendor_a = keys.headers("vendor_a")
    assert client.post(url, json=body, headers=vendor_a).status_code == 422  # no proof
    message = rotation_message(PARTY_A, old_key_id, new.public_key)
    forged = {**body, "proof_b64": b64encode(new.sign(message))}  # signed by the new key
    assert client.post(url, json=forged, headers=vendor_a).status_code == 400
    proven = {**body, "proof_b64": b64encode(old.sign(message))}
    assert client.post(url, json=proven, headers=keys.headers("vendor_b")).status_code == 403
    rotated = client.post(url, json=proven, headers=vendor_a)
    assert rotated.status_code == 201, rotated.text
    new_key_id = rotated.json()["key_id"]

    revoke = f"/v1/ledger/parties/{PARTY_A}/keys/{new_key_id}/revoke"
    assert client.post(revoke, headers=vendor_a).status_code == 422
    stale_proof = {"proof_b64": b64encode(old.sign(revocation_message(PARTY_A, new_key_id)))}
    assert client.post(revoke, json=stale_proof, headers=vendor_a).status_code == 400
    proof = {"proof_b64": b64encode(new.sign(revocation_message(PARTY_A, new_key_id)))}
    revoked = client.post(revoke, json=proof, headers=vendor_a)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_leaf"] is not None


def test_a_small_order_key_is_refused_where_keys_are_registered(
    attack: tuple[TestClient, Keys, World],
) -> None:
    """With the identity point as its key, OpenSSL would accept a signature made without any
    private key on every envelope or measurement; no route stores such a key."""
    client, keys, world = attack
    identity = b64encode(bytes([1]) + bytes(31))
    admin = keys.headers("admin")
    ledger = client.post(
        f"/v1/ledger/parties/{PARTY_A}/keys", json={"public_key_b64": identity}, headers=admin
    )
    assert ledger.status_code == 422, ledger.text
    assert "small order" in ledger.text
    own = world.chips[PARTY_A]
    device = {"scheme": "ed25519", "public_key": identity}
    answer = client.post(f"/v1/chips/{own}/device-key", json=device, headers=admin)
    assert answer.status_code == 422, answer.text
    bulk = client.post(
        "/v1/chips/device-keys", json={"device_keys": [{"chip_id": own, **device}]}, headers=admin
    )
    assert bulk.status_code == 422, bulk.text  # nothing stored: every key was refused
    assert [x["code"] for x in bulk.json()["error"]["details"]["refused"]] == ["invalid_input"]
