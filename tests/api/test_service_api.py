"""App-wide behaviour: one error shape on every route, ETags on the log, size limit, pagination,
hostile strings refused without side effects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, Response
from fastapi.testclient import TestClient

from tests.api.conftest import Keys, build_app, make_keys

INJECTIONS = ["' OR '1'='1", "1; DROP TABLE service_api_keys; --", "%27%20OR%201=1--"]


def _assert_problem(response: object, status: int | None = None) -> None:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["status"] == response.status_code  # type: ignore[attr-defined]
    assert {"type", "title", "detail"} <= set(body)
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    if status is not None:
        assert response.status_code == status  # type: ignore[attr-defined]


def _log_router() -> APIRouter:
    router = APIRouter(prefix="/v1/log")

    @router.get("/etag-probe")
    def probe() -> dict[str, int]:
        return {"size": 3}

    @router.get("/etag-own")
    def own() -> Response:
        return Response(b"tile", headers={"ETag": '"mine"'})

    return router


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    app = build_app(f"sqlite:///{tmp_path / 'svc.db'}", tmp_path)
    app.include_router(_log_router())
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, make_keys(app.state.database)
    app.state.database.dispose()


def _key_count(client: TestClient, keys: Keys) -> int:
    return len(client.get("/v1/keys?limit=500", headers=keys.headers("admin")).json()["items"])


def test_every_route_answers_errors_in_the_one_shape(client: tuple[TestClient, Keys]) -> None:
    c, keys = client
    spec = c.get("/openapi.json").json()
    checked, server_errors = 0, []
    for template, operations in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "no-such-thing", template)
        for method in operations:
            for headers in ({}, keys.headers("admin")):
                response = c.request(method, path, headers=headers, content=b"{not json")
                if response.status_code >= 500:
                    server_errors.append(f"{method.upper()} {path}: {response.status_code}")
                if response.status_code >= 400:
                    _assert_problem(response)
                    checked += 1
    assert server_errors == []
    assert checked >= 8


def test_log_reads_carry_etags_and_answer_304(client: tuple[TestClient, Keys]) -> None:
    c, _ = client
    first = c.get("/v1/log/etag-probe")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    assert c.get("/v1/log/etag-probe").headers["etag"] == etag  # stable
    cached = c.get("/v1/log/etag-probe", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert c.get("/v1/log/etag-probe", headers={"If-None-Match": '"other"'}).status_code == 200
    own = c.get("/v1/log/etag-own", headers={"If-None-Match": '"mine"'})
    assert own.status_code == 304
    assert own.headers["etag"] == '"mine"'


def test_oversized_bodies_are_refused_with_413_and_nothing_stored(
    client: tuple[TestClient, Keys],
) -> None:
    c, keys = client
    before = _key_count(c, keys)
    big = b'{"role": "admin", "label": "' + b"x" * (1 << 20) + b'"}'
    declared = c.post("/v1/keys", headers=keys.headers("admin"), content=big)
    _assert_problem(declared, 413)

    def chunks() -> Iterator[bytes]:
        yield big[: 1 << 19]
        yield big[1 << 19 :]

    streamed = c.post("/v1/keys", headers=keys.headers("admin"), content=chunks())
    _assert_problem(streamed, 413)
    assert _key_count(c, keys) == before
    refused = c.get("/v1/audit/refused?status=413", headers=keys.headers("admin")).json()
    assert len(refused["items"]) == 2


def test_pagination_visits_every_key_once(client: tuple[TestClient, Keys]) -> None:
    c, keys = client
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "/v1/keys?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = c.get(query, headers=keys.headers("admin")).json()
        seen += [k["key_id"] for k in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    assert pages == 3
    bad = c.get("/v1/keys?cursor=garbage!", headers=keys.headers("admin"))
    _assert_problem(bad, 422)
    too_big = c.get("/v1/keys?limit=100000", headers=keys.headers("admin"))
    _assert_problem(too_big, 422)


@pytest.mark.parametrize("hostile", INJECTIONS, ids=["quote or", "drop table", "url-encoded"])
def test_sql_injection_shaped_strings_are_refused_without_effect(
    client: tuple[TestClient, Keys], hostile: str
) -> None:
    c, keys = client
    before = _key_count(c, keys)
    admin = keys.headers("admin")
    _assert_problem(c.delete(f"/v1/keys/{hostile}", headers=admin), 404)
    _assert_problem(c.get("/v1/keys", params={"cursor": hostile}, headers=admin), 422)
    created = c.post("/v1/keys", json={"role": "vendor", "party_id": hostile}, headers=admin)
    assert created.status_code == 201  # stored as data, verbatim, not as SQL
    assert created.json()["party_id"] == hostile
    token = created.json()["token"]
    me = c.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["party_id"] == hostile
    assert _key_count(c, keys) == before + 1
    _assert_problem(c.post("/v1/keys", json={"role": hostile}, headers=admin), 422)
