"""``chiptrail keys create|list|revoke``: a token printed once, only its hash stored, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chiptrail.api.auth import AuthConfig
from chiptrail.cli.main import app
from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.errors import Unauthenticated
from chiptrail.service.auth import Role, authenticate_token, create_api_key
from chiptrail.store.migrate import open_database
from tests.api.conftest import build_app

runner = CliRunner()


def test_create_list_revoke_and_use_a_key(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.db")
    created = runner.invoke(app, ["keys", "create", "--role", "admin", "--db", db, "--json"])
    assert created.exit_code == 0, created.output
    doc = json.loads(created.stdout)
    token, key_id = doc["token"], doc["key"]["key_id"]
    assert token.startswith(f"ctk_{key_id}_")
    raw = (tmp_path / "keys.db").read_bytes()
    assert token.split("_", 2)[2].encode() not in raw  # only the digest is stored

    plain = runner.invoke(app, ["keys", "create", "--role", "vendor", "--party", "p1", "--db", db])
    assert plain.exit_code == 0
    assert plain.stdout.strip().startswith("ctk_")
    signing = b64encode(Ed25519Signer(bytes(32)).public_key)
    machine = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--role",
            "vendor",
            "--party",
            "p1",
            "--public-key",
            signing,
            "--db",
            db,
            "--json",
        ],
    )
    assert json.loads(machine.stdout)["token"] is None

    listed = json.loads(runner.invoke(app, ["keys", "list", "--db", db, "--json"]).stdout)
    assert sorted(k["role"] for k in listed) == ["admin", "vendor", "vendor"]
    assert all("secret" not in json.dumps(k) for k in listed)

    app_ = build_app(f"sqlite:///{db}", tmp_path, AuthConfig())
    with TestClient(app_) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/me", headers=headers).json()["role"] == "admin"
        revoked = runner.invoke(app, ["keys", "revoke", key_id, "--db", db])
        assert revoked.exit_code == 0
        assert client.get("/v1/me", headers=headers).status_code == 401
    app_.state.database.dispose()


def test_bad_input_exits_2(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.db")
    no_party = runner.invoke(app, ["keys", "create", "--role", "vendor", "--db", db])
    assert no_party.exit_code == 2
    bad_role = runner.invoke(app, ["keys", "create", "--role", "root", "--db", db])
    assert bad_role.exit_code == 2
    missing = runner.invoke(app, ["keys", "revoke", "nope", "--db", db])
    assert missing.exit_code == 2


def test_keys_expire(tmp_path: Path) -> None:
    db = str(tmp_path / "expiry.db")
    created = runner.invoke(
        app, ["keys", "create", "--role", "admin", "--expires", "30d", "--db", db, "--json"]
    )
    assert created.exit_code == 0, created.output
    expires_at = datetime.fromisoformat(json.loads(created.stdout)["key"]["expires_at"])
    assert timedelta(days=29) < expires_at - datetime.now(UTC) <= timedelta(days=30)
    for bad in ("yesterday", "2001-01-01T00:00:00Z", "0d"):
        refused = runner.invoke(
            app, ["keys", "create", "--role", "admin", "--expires", bad, "--db", db]
        )
        assert refused.exit_code == 2, bad

    app_ = build_app(f"sqlite:///{db}", tmp_path, AuthConfig())
    with TestClient(app_) as client:
        headers = {"Authorization": f"Bearer {json.loads(created.stdout)['token']}"}
        assert client.get("/v1/me", headers=headers).status_code == 200
        # a key created over the API that expired an hour ago (created_at in the past)
        stale = create_api_key(
            app_.state.database,
            role=Role.ADMIN,
            party_id=None,
            label="stale",
            now=datetime.now(UTC) - timedelta(days=2),
            expires_at=datetime.now(UTC) - timedelta(hours=1),
        )
        answer = client.get("/v1/me", headers={"Authorization": f"Bearer {stale.token}"})
        assert answer.status_code == 401
        assert "expired" in answer.json()["error"]["message"]
        body = {"role": "vendor", "party_id": "p1", "expires_at": "2001-01-01T00:00:00Z"}
        assert client.post("/v1/keys", json=body, headers=headers).status_code == 422
        body["expires_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        made = client.post("/v1/keys", json=body, headers=headers)
        assert made.status_code == 201
        assert made.json()["expires_at"] is not None
        listed = runner.invoke(app, ["keys", "list", "--db", db])
        assert "expired" in listed.stdout
    app_.state.database.dispose()
    token = stale.token
    assert token is not None
    with pytest.raises(Unauthenticated, match="expired"):
        authenticate_token(open_database(f"sqlite:///{db}"), token)
