"""API test fixtures: apps with authentication on, keys of every role, signed-request helpers.

Other capabilities' API tests build apps with ``create_app(load_settings(...))`` and test their
routes, not auth: for them this folder switches auth off (``CHIPTRAIL_UNSAFE_NO_AUTH=1``, which
logs a warning). Tests of auth build their app with an explicit ``AuthConfig`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chiptrail.api.app import UNSAFE_NO_AUTH_ENV, create_app
from chiptrail.api.auth import AuthConfig
from chiptrail.crypto import Ed25519Signer
from chiptrail.service.auth import Role, create_api_key
from chiptrail.service.settings import load_settings
from chiptrail.store.database import Database

PARTY_A = "party-a"
PARTY_B = "party-b"
SIGNER_SEED = bytes(range(32))
FORGER_SEED = bytes(range(1, 33))


@pytest.fixture(autouse=True)
def _unsafe_no_auth_for_capability_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UNSAFE_NO_AUTH_ENV, "1")


@dataclass(frozen=True)
class Keys:
    """Bearer tokens of every role (vendors of two parties) and one registered signing key."""

    admin: str
    vendor_a: str
    vendor_b: str
    operator_a: str
    landmark: str
    analyst: str
    auditor: str
    signing_key_id: str

    def headers(self, role: str) -> dict[str, str]:
        """``Authorization`` header for one of the tokens above."""
        return {"Authorization": f"Bearer {getattr(self, role)}"}


def make_keys(db: Database) -> Keys:
    """Create one key per role in ``db``."""
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def token(role: Role, party: str | None) -> str:
        created = create_api_key(db, role=role, party_id=party, label=role.value, now=now)
        assert created.token is not None
        return created.token

    signing = create_api_key(
        db,
        role=Role.VENDOR,
        party_id=PARTY_A,
        label="machine",
        now=now,
        public_key=Ed25519Signer(SIGNER_SEED).public_key,
    )
    return Keys(
        admin=token(Role.ADMIN, None),
        vendor_a=token(Role.VENDOR, PARTY_A),
        vendor_b=token(Role.VENDOR, PARTY_B),
        operator_a=token(Role.OPERATOR, PARTY_A),
        landmark=token(Role.LANDMARK, "landmark-org"),
        analyst=token(Role.ANALYST, None),
        auditor=token(Role.AUDITOR, None),
        signing_key_id=signing.key.key_id,
    )


def build_app(db_url: str, tmp_path: Path, auth: AuthConfig | None = None) -> FastAPI:
    """An app on ``db_url`` with authentication on (unless ``auth`` says otherwise)."""
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path)}, db_url)
    return create_app(settings, auth=auth or AuthConfig())


@pytest.fixture
def authed(database: Database, tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    """A client of an app with auth on, over every engine, and keys of every role."""
    url = database.engine.url.render_as_string(hide_password=False)
    app = build_app(url, tmp_path)
    with TestClient(app) as client:
        yield client, make_keys(app.state.database)
    app.state.database.dispose()


@pytest.fixture
def authed_sqlite(tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    """``authed`` on SQLite only, for the many table-driven cases (the engine-specific paths are
    covered by the ``authed`` tests on every engine)."""
    app = build_app(f"sqlite:///{tmp_path / 'auth.db'}", tmp_path)
    with TestClient(app) as client:
        yield client, make_keys(app.state.database)
    app.state.database.dispose()
