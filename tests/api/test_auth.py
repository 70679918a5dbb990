"""Authentication, roles, party scoping, signed requests, rate limits and the refusal audit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from chiptrail.api.access import PARTY_ROLES, ROUTES, Access, Scope
from chiptrail.api.auth import (
    ADMIN_ONLY,
    PUBLIC,
    AuthConfig,
    CallerDep,
    enforce_policy,
    roles_for,
)
from chiptrail.api.ratelimit import RateLimit
from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.errors import PermissionDenied
from chiptrail.service.auth import Caller, Role, signed_request_message
from tests.api.conftest import (
    FORGER_SEED,
    PARTY_A,
    PARTY_B,
    SIGNER_SEED,
    Keys,
    build_app,
    make_keys,
)


def _refusals(client: TestClient, keys: Keys) -> list[dict[str, object]]:
    body = client.get("/v1/audit/refused", headers=keys.headers("admin")).json()
    items: list[dict[str, object]] = body["items"]
    return items


def test_public_endpoints_need_no_key(authed_sqlite: tuple[TestClient, Keys]) -> None:
    client, _ = authed_sqlite
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_missing_key_is_refused_with_problem_json_and_audited(
    authed: tuple[TestClient, Keys],
) -> None:
    client, keys = authed
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"]["code"] == "unauthenticated"
    assert body["status"] == 401
    assert body["title"] == "Unauthorized"
    assert body["type"].endswith("/unauthenticated")
    assert body["detail"] == body["error"]["message"]
    refused = _refusals(client, keys)
    assert [(r["path"], r["status"], r["key_id"]) for r in refused] == [("/v1/me", 401, None)]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nonsense",
        "Bearer ctk_0000000000000000_secret",
        "Bearer ctk__",
        "Basic dXNlcjpwYXNz",
        "Bearer ' OR 1=1 --",
    ],
    ids=["malformed", "unknown key id", "empty parts", "wrong scheme", "sql-injection shaped"],
)
def test_bad_credentials_are_refused(authed_sqlite: tuple[TestClient, Keys], header: str) -> None:
    client, _ = authed_sqlite
    assert client.get("/v1/me", headers={"Authorization": header}).status_code == 401


def test_wrong_secret_for_a_real_key_is_refused(authed_sqlite: tuple[TestClient, Keys]) -> None:
    client, keys = authed_sqlite
    prefix = keys.vendor_a.rsplit("_", 1)[0]
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {prefix}_wrong"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "wrong API key secret"


def test_each_key_knows_its_role_and_party(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    me = client.get("/v1/me", headers=keys.headers("vendor_a")).json()
    assert (me["role"], me["party_id"]) == ("vendor", PARTY_A)
    me = client.get("/v1/me", headers=keys.headers("auditor")).json()
    assert (me["role"], me["party_id"]) == ("auditor", None)


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        ("vendor_a", "GET", "/v1/keys", 403),
        ("analyst", "POST", "/v1/keys", 403),
        ("auditor", "GET", "/v1/keys", 403),
        ("auditor", "GET", "/v1/audit/refused", 403),
        ("landmark", "DELETE", "/v1/keys/abc", 403),
        ("admin", "GET", "/v1/keys", 200),
        ("auditor", "GET", "/v1/me", 200),
    ],
    ids=[
        "vendor lists keys",
        "analyst creates a key",
        "auditor lists keys",
        "auditor reads the refusal audit",
        "landmark revokes a key",
        "admin lists keys",
        "auditor asks who it is",
    ],
)
def test_role_policy_on_service_routes(
    authed_sqlite: tuple[TestClient, Keys], role: str, method: str, path: str, status: int
) -> None:
    client, keys = authed_sqlite
    response = client.request(method, path, headers=keys.headers(role), json={"role": "admin"})
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "template", "allowed"),
    [
        ("GET", "/v1/log/checkpoint", PUBLIC),
        ("GET", "/v1/log/tile/{path:path}", PUBLIC),
        ("POST", "/v1/log/checkpoint", ADMIN_ONLY),
        ("POST", "/v1/events", frozenset({Role.VENDOR, Role.OPERATOR, Role.ADMIN})),
        ("POST", "/v1/measurements", frozenset({Role.LANDMARK, Role.ADMIN})),
        ("GET", "/v1/keys", ADMIN_ONLY),
        ("GET", "/v1/chips/{epc:path}", frozenset(Role) - {Role.AUDITOR, Role.LANDMARK}),
        ("POST", "/v1/ledger/parties/{party_id}/keys", ADMIN_ONLY),
        ("GET", "/v1/something-new", ADMIN_ONLY),
    ],
    ids=[
        "checkpoint is public",
        "tiles are public",
        "an unlisted write under /v1/log is admin only",
        "vendors and operators submit events",
        "landmarks submit measurements",
        "keys are admin only",
        "chips are read by parties and staff",
        "ledger signing keys are registered by admins only",
        "an unclassified route is admin only",
    ],
)
def test_policy_table(method: str, template: str, allowed: frozenset[Role]) -> None:
    assert roles_for(method, template) == allowed


def test_caller_party_scoping() -> None:
    vendor = Caller(key_id="k", role=Role.VENDOR, party_id=PARTY_A)
    vendor.require_party(PARTY_A)
    with pytest.raises(PermissionDenied):
        vendor.require_party(PARTY_B)
    with pytest.raises(PermissionDenied):
        vendor.require_party(None)
    Caller(key_id="k", role=Role.ANALYST, party_id=None).require_party(PARTY_B)


def _party_router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/parties/{party_id}/things")
    def things(party_id: str, caller: CallerDep) -> dict[str, str | None]:
        return {"party_id": party_id, "caller": caller.party_id}

    return router


def test_path_party_id_is_scoped_centrally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    route = ("GET", "/v1/parties/{party_id}/things")
    monkeypatch.setitem(ROUTES, route, Access(PARTY_ROLES, Scope.PARTY))
    db_url = f"sqlite:///{tmp_path / 'scoped.db'}"
    app = build_app(db_url, tmp_path)
    app.include_router(_party_router(), dependencies=[Depends(enforce_policy)])
    with TestClient(app) as client:
        keys = make_keys(app.state.database)
        own = client.get(f"/v1/parties/{PARTY_A}/things", headers=keys.headers("vendor_a"))
        assert own.status_code == 200
        assert own.json() == {"party_id": PARTY_A, "caller": PARTY_A}
        other = client.get(f"/v1/parties/{PARTY_A}/things", headers=keys.headers("vendor_b"))
        assert other.status_code == 403
        staff = client.get(f"/v1/parties/{PARTY_B}/things", headers=keys.headers("analyst"))
        assert staff.status_code == 200
        refused = _refusals(client, keys)
        assert refused[0]["party_id"] == PARTY_B
        assert refused[0]["status"] == 403
    app.state.database.dispose()


def _signed_headers(
    key_id: str,
    method: str,
    path: str,
    body: bytes,
    *,
    seed: bytes = SIGNER_SEED,
    at: datetime | None = None,
    nonce: str = "nonce-0001",
) -> dict[str, str]:
    timestamp = (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    message = signed_request_message(method, path, body, timestamp, nonce)
    return {
        "X-Chiptrail-Key-Id": key_id,
        "X-Chiptrail-Timestamp": timestamp,
        "X-Chiptrail-Nonce": nonce,
        "X-Chiptrail-Signature": b64encode(Ed25519Signer(seed).sign(message)),
    }


def test_signed_request_is_accepted(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    headers = _signed_headers(keys.signing_key_id, "GET", "/v1/me", b"")
    me = client.get("/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {"key_id": keys.signing_key_id, "role": "vendor", "party_id": PARTY_A}


def test_signed_message_covers_every_field() -> None:
    base = ("POST", "/v1/events", b"{}", "2026-01-01T00:00:00Z", "nonce-0001")
    reference = signed_request_message(*base)
    for i, other in enumerate(("GET", "/v1/eventz", b"{ }", "2026-01-01T00:00:01Z", "nonce-0002")):
        changed = list(base)
        changed[i] = other
        assert signed_request_message(*changed) != reference  # type: ignore[arg-type]
    assert hashlib.sha256(b"{}").hexdigest().encode() in reference


@pytest.mark.parametrize(
    "tamper",
    ["forged key", "other path", "other method", "other body", "stale timestamp", "bad base64"],
)
def test_bad_signed_requests_are_refused(
    authed_sqlite: tuple[TestClient, Keys], tamper: str
) -> None:
    client, keys = authed_sqlite
    body = b'{"role": "admin"}'
    signed = {"method": "POST", "path": "/v1/keys", "body": body}
    kwargs: dict[str, object] = {}
    if tamper == "forged key":
        kwargs["seed"] = FORGER_SEED
    if tamper == "other path":
        signed["path"] = "/v1/me"
    if tamper == "other method":
        signed["method"] = "GET"
    if tamper == "other body":
        signed["body"] = b'{"role": "vendor"}'
    if tamper == "stale timestamp":
        kwargs["at"] = datetime.now(UTC) - timedelta(minutes=10)
    headers = _signed_headers(
        keys.signing_key_id,
        str(signed["method"]),
        str(signed["path"]),
        signed["body"],  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    if tamper == "bad base64":
        headers["X-Chiptrail-Signature"] = "!!!"
    response = client.post("/v1/keys", headers=headers, content=body)
    assert response.status_code == 401, tamper
    keys_now = client.get("/v1/keys", headers=keys.headers("admin")).json()["items"]
    assert len(keys_now) == 8  # nothing created


def test_replayed_signed_request_is_refused(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    headers = _signed_headers(keys.signing_key_id, "GET", "/v1/me", b"", nonce="once-only-1")
    assert client.get("/v1/me", headers=headers).status_code == 200
    replay = client.get("/v1/me", headers=headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["error"]["message"]


def test_revoked_key_is_refused(authed: tuple[TestClient, Keys]) -> None:
    client, keys = authed
    key_id = keys.vendor_a.split("_")[1]
    assert client.get("/v1/me", headers=keys.headers("vendor_a")).status_code == 200
    revoked = client.delete(f"/v1/keys/{key_id}", headers=keys.headers("admin"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/v1/me", headers=keys.headers("vendor_a")).status_code == 401
    missing = client.delete("/v1/keys/nope", headers=keys.headers("admin"))
    assert missing.status_code == 404


class _Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_submissions_are_rate_limited_per_key(tmp_path: Path) -> None:
    clock = _Clock()
    auth = AuthConfig(rate_limit=RateLimit(rate_per_s=0.5, burst=2), clock_s=clock)
    app = build_app(f"sqlite:///{tmp_path / 'rl.db'}", tmp_path, auth)
    with TestClient(app) as client:
        keys = make_keys(app.state.database)
        body = {"role": "analyst"}
        statuses = [
            client.post("/v1/keys", headers=keys.headers("admin"), json=body).status_code
            for _ in range(3)
        ]
        assert statuses == [201, 201, 429]
        limited = client.post("/v1/keys", headers=keys.headers("admin"), json=body)
        assert limited.headers["retry-after"] == "2"
        assert limited.json()["error"]["code"] == "rate_limited"
        # reads are not limited; another key has its own bucket
        assert client.get("/v1/keys", headers=keys.headers("admin")).status_code == 200
        clock.now_s += 2.0
        assert client.post("/v1/keys", headers=keys.headers("admin"), json=body).status_code == 201
        assert len(client.get("/v1/keys", headers=keys.headers("admin")).json()["items"]) == 11
        statuses_429 = [r["status"] for r in _refusals(client, keys)]
        assert statuses_429 == [429, 429]
    app.state.database.dispose()


def test_unsafe_no_auth_treats_callers_as_admin(tmp_path: Path) -> None:
    app = build_app(f"sqlite:///{tmp_path / 'open.db'}", tmp_path, AuthConfig(unsafe_no_auth=True))
    with TestClient(app) as client:
        me = client.get("/v1/me").json()
    assert me == {"key_id": None, "role": "admin", "party_id": None}
    app.state.database.dispose()
