"""The app starts on an empty database, answers /healthz, publishes OpenAPI, shapes errors."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from chiptrail.api.app import create_app
from chiptrail.service.settings import load_settings


def _client(tmp_path: Path) -> TestClient:
    settings = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path)}, str(tmp_path / "api.db"))
    return TestClient(create_app(settings))


def test_healthz_and_openapi(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        spec = client.get("/openapi.json").json()
        assert "/healthz" in spec["paths"]


def test_unknown_route_has_the_error_shape(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        body = client.get("/v1/no-such-thing").json()
        assert body["error"]["code"] == "not_found"
        assert set(body["error"]) == {"code", "message", "details"}
