"""Every operation of the OpenAPI document against every role and a foreign party.

The expected answer comes from the route table (``chiptrail/api/access.py``): a role not listed is
refused with 403 (no key: 401); a listed role of party A reaches A's chip, finding and party; the
same role of party B (the foreign party) is refused on A's data. A route missing from the table
fails ``test_every_operation_is_classified``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from chiptrail.api.access import ROUTES, Scope, access_for
from chiptrail.errors import PermissionDenied
from chiptrail.service.alerts.triage import get_triage
from chiptrail.service.auth import Caller, Role
from chiptrail.service.ledger.events import get_chip
from chiptrail.service.location.probe import locate_chip
from chiptrail.types import ChipId
from tests.api.conftest import PARTY_A, PARTY_B, Keys, build_app, make_keys
from tests.api.world import World, build_world

CALLERS: dict[str, tuple[Role | None, str | None]] = {
    "admin": (Role.ADMIN, None),
    "analyst": (Role.ANALYST, None),
    "auditor": (Role.AUDITOR, None),
    "landmark": (Role.LANDMARK, "landmark-org"),
    "vendor_a": (Role.VENDOR, PARTY_A),
    "operator_a": (Role.OPERATOR, PARTY_A),
    "vendor_b": (Role.VENDOR, "party-b"),
    "anonymous": (None, None),
}
"""Callers: the key name in ``Keys`` (``anonymous`` sends none), its role and party."""

SCOPED = {Scope.PARTY, Scope.ASSET, Scope.FINDING, Scope.BODY, Scope.BODY_ASSETS}


@pytest.fixture(scope="module")
def world_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Keys, World]]:
    tmp = tmp_path_factory.mktemp("access")
    app = build_app(f"sqlite:///{tmp / 'access.db'}", tmp)
    with TestClient(app) as client:
        keys = make_keys(app.state.database)
        yield client, keys, build_world(client, keys)
    app.state.database.dispose()


def _operations(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return sorted((method.upper(), path) for path, ops in spec["paths"].items() for method in ops)


def test_every_operation_is_classified(world_client: tuple[TestClient, Keys, World]) -> None:
    client, _, _ = world_client
    missing = [op for op in _operations(client) if op not in ROUTES]
    assert missing == [], f"add these operations to ROUTES in chiptrail/api/access.py: {missing}"
    stale = sorted(set(ROUTES) - set(_operations(client)))
    assert stale == [], f"ROUTES names operations the app does not have: {stale}"


def test_table_gives_party_data_only_to_party_roles() -> None:
    for (method, path), access in ROUTES.items():
        if access.scope is Scope.STAFF:
            assert access.roles <= {Role.ADMIN, Role.ANALYST}, (method, path)
        if access.scope is Scope.PUBLIC:
            assert access.roles == frozenset(), (method, path)


def _concrete(path: str, world: World) -> str:
    values = {
        "party_id": PARTY_A,
        "chip_id": world.chips[PARTY_A],
        "epc": world.chips[PARTY_A],
        "finding_id": world.findings[PARTY_A],
        "key_id": "no-such-key",
        "model": "H100",
        "path": "0/000",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _body(method: str, path: str, world: World) -> object:
    access = access_for(method, path)
    if access.scope in (Scope.BODY, Scope.BODY_ASSETS):
        # a body naming party A (its chip) at the table's path (otherwise invalid: own party gets
        # a 4xx that is not a refusal)
        doc: object = PARTY_A if access.scope is Scope.BODY else world.chips[PARTY_A]
        for key in reversed(access.body_party):
            doc = [{key: doc}] if key == access.body_party[-1] else {key: doc}
        return doc
    return {}


def _expected_refusal(method: str, path: str, caller: str) -> int | None:
    """The refusal status this caller must get on party A's data, or None when allowed."""
    role, party = CALLERS[caller]
    access = access_for(method, path)
    if access.scope is Scope.PUBLIC:
        return None
    if role is None:
        return 401
    if role not in access.roles:
        return 403
    sees_all = role in (Role.ADMIN, Role.ANALYST)
    if access.scope in SCOPED and not sees_all and party != PARTY_A:
        return 403
    return None


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_route_against_every_role(
    world_client: tuple[TestClient, Keys, World], caller: str
) -> None:
    client, keys, world = world_client
    headers = {} if caller == "anonymous" else keys.headers(caller)
    wrong: list[str] = []
    for method, template in _operations(client):
        if method == "DELETE" and caller == "admin":
            continue  # would revoke; covered by the keys tests
        url = _concrete(template, world)
        answer = client.request(method, url, headers=headers, json=_body(method, template, world))
        expected = _expected_refusal(method, template, caller)
        status = answer.status_code
        if expected is None and status in (401, 403):
            wrong.append(f"{method} {template}: {status} (expected allowed) {answer.text[:120]}")
        elif expected is not None and status != expected:
            wrong.append(f"{method} {template}: {status} (expected {expected})")
        if status >= 500:
            wrong.append(f"{method} {template}: {status}")
    assert wrong == []


@pytest.mark.parametrize("caller", ["vendor_a", "operator_a", "vendor_b"])
def test_finding_lists_show_only_the_callers_findings(
    world_client: tuple[TestClient, Keys, World], caller: str
) -> None:
    client, keys, world = world_client
    items = client.get("/v1/findings", headers=keys.headers(caller)).json()["items"]
    subjects = {item["subject"] for item in items}
    party = CALLERS[caller][1]
    assert subjects == {world.chips[party]} if party in world.chips else set()


def test_staff_see_every_finding(world_client: tuple[TestClient, Keys, World]) -> None:
    client, keys, world = world_client
    for staff in ("admin", "analyst"):
        items = client.get("/v1/findings", headers=keys.headers(staff)).json()["items"]
        assert {item["subject"] for item in items} == set(world.chips.values())


def test_service_functions_refuse_another_partys_chip_and_finding(
    world_client: tuple[TestClient, Keys, World],
) -> None:
    """Python API callers get the same scoping as HTTP callers (defence behind the route table)."""
    client, _keys, world = world_client
    db = client.app.state.database  # type: ignore[attr-defined]
    a = Caller(key_id="k-a", role=Role.VENDOR, party_id=PARTY_A)
    analyst = Caller(key_id="k-x", role=Role.ANALYST, party_id=None)
    now = datetime.now(UTC)
    assert get_chip(db, world.chips[PARTY_A], caller=a).state.epc == world.chips[PARTY_A]
    with pytest.raises(PermissionDenied):
        get_chip(db, world.chips[PARTY_B], caller=a)
    with pytest.raises(PermissionDenied):
        locate_chip(db, ChipId(world.chips[PARTY_B]), now, caller=a)
    with pytest.raises(PermissionDenied):
        get_triage(db, world.findings[PARTY_B], caller=a)
    assert get_triage(db, world.findings[PARTY_A], caller=a).case_id
    assert get_triage(db, world.findings[PARTY_B], caller=analyst).case_id
    assert get_chip(db, world.chips[PARTY_B], caller=analyst).state.epc == world.chips[PARTY_B]
