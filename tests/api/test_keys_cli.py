"""``chiptrail keys create|list|revoke``: a token printed once, only its hash stored, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chiptrail.api.auth import AuthConfig
from chiptrail.cli.main import app
from chiptrail.crypto import Ed25519Signer, b64encode
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
