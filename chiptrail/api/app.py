"""The FastAPI application factory: one app per Settings, every capability's router included.

Global concerns live here: authentication and the role policy (``api/auth.py``) on every ``/v1``
router, the request size limit, ETags on the public log, the one error shape in the OpenAPI
document, and the dashboard's static files under ``/ui``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from chiptrail import __version__
from chiptrail.api.auth import PUBLIC, AuthConfig, enforce_policy, roles_for
from chiptrail.api.errors import PROBLEM_JSON, install_error_handlers
from chiptrail.api.middleware import BodySizeLimit, LogETags
from chiptrail.api.ratelimit import RateLimit
from chiptrail.api.routes import (
    geoloc,
    hardware,
    health,
    ledger,
    parties,
    probe,
    records,
    rules,
    service,
)
from chiptrail.errors import InvalidInput
from chiptrail.service.ledger.sequencer import Sequencer
from chiptrail.service.settings import Settings, load_settings
from chiptrail.store.migrate import open_database

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
UNSAFE_NO_AUTH_ENV = "CHIPTRAIL_UNSAFE_NO_AUTH"
RATE_LIMIT_PER_S_ENV = "CHIPTRAIL_RATE_LIMIT_PER_S"
RATE_LIMIT_BURST_ENV = "CHIPTRAIL_RATE_LIMIT_BURST"
AUTH_CACHE_ENV = "CHIPTRAIL_AUTH_CACHE_S"
ERROR_STATUSES = {
    "400": "Bad evidence (a signature or proof did not verify)",
    "401": "Missing or wrong credentials",
    "403": "The key's role or party may not do this",
    "404": "Not found",
    "409": "Conflicts with stored state",
    "413": "Request body too large",
    "422": "Invalid input",
    "429": "Rate limited (see Retry-After)",
    "503": "A needed service is unavailable",
}


def auth_from_env(env: Mapping[str, str]) -> AuthConfig:
    """Auth settings from ``CHIPTRAIL_UNSAFE_NO_AUTH`` (1/true: every check off; tests, demos)
    the per-key submission limit ``CHIPTRAIL_RATE_LIMIT_PER_S`` / ``_BURST`` (default 50/s,
    burst 200; raise them for a landmark fleet or a load test behind few keys), and
    ``CHIPTRAIL_AUTH_CACHE_S``, how long a bearer token stays trusted without a database read
    (default 0; ``chiptrail serve`` sets 2).

    Raises:
        InvalidInput: a rate limit that is not a positive number.
    """
    unsafe = env.get(UNSAFE_NO_AUTH_ENV, "").strip().lower() in ("1", "true", "yes")
    default = RateLimit()
    try:
        rate = float(env.get(RATE_LIMIT_PER_S_ENV) or default.rate_per_s)
        burst = int(env.get(RATE_LIMIT_BURST_ENV) or default.burst)
    except ValueError as exc:
        raise InvalidInput(
            f"{RATE_LIMIT_PER_S_ENV} / {RATE_LIMIT_BURST_ENV}: not a number"
        ) from exc
    if not (rate > 0 and burst >= 1):
        raise InvalidInput(f"{RATE_LIMIT_PER_S_ENV} / {RATE_LIMIT_BURST_ENV} must be positive")
    try:
        cache_s = float(env.get(AUTH_CACHE_ENV) or 0.0)
    except ValueError as exc:
        raise InvalidInput(f"{AUTH_CACHE_ENV}: not a number") from exc
    if not 0.0 <= cache_s <= 60.0:
        raise InvalidInput(f"{AUTH_CACHE_ENV} must be between 0 and 60 seconds")
    return AuthConfig(
        unsafe_no_auth=unsafe, rate_limit=RateLimit(rate, burst), token_cache_s=cache_s
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.sequencer.close()  # appends what has queued, then stops the thread


def create_app_from_env() -> FastAPI:
    """The app of ``load_settings(os.environ)``: the factory each ``serve --workers`` process
    calls (``chiptrail serve`` passes ``--db`` down as ``CHIPTRAIL_DB``)."""
    return create_app(load_settings(os.environ))


def create_app(settings: Settings, *, auth: AuthConfig | None = None) -> FastAPI:
    """Build the app; opens (and migrates) the database named in ``settings``.

    Args:
        settings: database and data directory.
        auth: authentication settings; by default authentication is on unless the environment
            sets ``CHIPTRAIL_UNSAFE_NO_AUTH=1``.
    """
    auth = auth if auth is not None else auth_from_env(os.environ)
    if auth.unsafe_no_auth:
        log.warning("unsafe_no_auth: authentication, roles and rate limits are OFF")
    app = FastAPI(
        title="chiptrail",
        version=__version__,
        description="Traceability for export-controlled AI accelerators. Authenticate with "
        "`Authorization: Bearer ctk_...` (create keys with `chiptrail keys create`). "
        "Errors are `application/problem+json`.",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.auth = auth
    app.state.database = open_database(settings.database_url)
    app.state.sequencer = Sequencer(app.state.database, clock=lambda: datetime.now(UTC))
    install_error_handlers(app)
    app.include_router(health.router)
    policy = [Depends(enforce_policy)]
    # ledger last: its ``{epc:path}`` and ``{path:path}`` routes would shadow more specific ones
    # (``/v1/chips/{chip_id}/location``).
    for module in (hardware, probe, geoloc, parties, records, rules, service, ledger):
        app.include_router(module.router, dependencies=policy)
    app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="dashboard")

    _mount_docs(app)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.add_middleware(LogETags)
    app.add_middleware(BodySizeLimit, max_body_bytes=auth.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _mount_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI 5 served from the ``fastapi-offline`` package's assets (no CDN)."""
    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="chiptrail API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with the error responses every operation can give."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if path.startswith("/v1/") and roles_for(method.upper(), path) == PUBLIC:
                operation["security"] = []  # public transparency-log reads: no key
            responses = operation.setdefault("responses", {})
            for status, text in ERROR_STATUSES.items():
                if not path.startswith("/v1/") and status not in ("422", "503"):
                    continue
                entry = responses.setdefault(status, {"description": text})
                entry["content"] = {PROBLEM_JSON: {"schema": ref}}
    app.openapi_schema = spec
    return spec


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details plus chiptrail's one error shape.",
    "required": ["error", "type", "title", "status", "detail"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
