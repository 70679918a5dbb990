"""The one table mapping chiptrail errors to HTTP statuses, and the one error body shape.

Every error answers ``{"error": {"code", "message", "details"}}`` as ``application/problem+json``
with the RFC 9457 members ``type``, ``title``, ``status`` and ``detail`` alongside. Refusals
(401, 403, 413, 429) are also recorded in the audit table served at ``GET /v1/audit/refused``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from chiptrail.errors import (
    ChiptrailError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    VerificationError,
)
from chiptrail.service.auth import Refusal, record_refusal

log = logging.getLogger(__name__)

HTTP_STATUS: dict[type[ChiptrailError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    Unauthenticated: 401,
    VerificationError: 400,
    Unavailable: 503,
    RateLimited: 429,
}


def status_for(exc: ChiptrailError) -> int:
    """HTTP status for an error, walking its class hierarchy."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400


PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://chiptrail.dev/problems/"
REFUSAL_STATUSES = frozenset({401, 403, 413, 429})


def error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    """The single error shape."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def problem_body(status: int, code: str, message: str, details: object = None) -> dict[str, object]:
    """The error shape plus the RFC 9457 problem-details members (type, title, status, detail)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        **error_body(code, message, details),
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": message,
    }


async def problem_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: object = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` error response; audits refusals."""
    if status in REFUSAL_STATUSES and not getattr(request.state, "skip_audit", False):
        await run_in_threadpool(audit_refusal, request, status, code, message)
    if status >= 500:
        # the connection may be in any state after a server error: the client reconnects
        headers = {**(headers or {}), "Connection": "close"}
    return JSONResponse(
        problem_body(status, code, message, details),
        status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def audit_refusal(request: Request, status: int, code: str, reason: str) -> None:
    """Record a refused request (who, what, why); a failing audit write is logged, not raised."""
    caller = getattr(request.state, "caller", None)
    refusal = Refusal(
        refusal_id=0,
        refused_at=datetime.now(UTC),
        key_id=getattr(caller, "key_id", None),
        role=None if caller is None else str(caller.role),
        party_id=getattr(caller, "party_id", None),
        method=request.method,
        path=request.url.path,
        status=status,
        code=code,
        reason=reason,
    )
    database = getattr(request.app.state, "database", None)
    if database is None:
        return
    try:
        record_refusal(database, refusal)
    except Exception:  # the refusal itself must still be answered
        log.exception("could not audit a refused request")


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so every error, ours or the framework's, has the one shape."""

    @app.exception_handler(ChiptrailError)
    async def _chiptrail(req: Request, exc: ChiptrailError) -> JSONResponse:
        status = status_for(exc)
        headers = None
        if isinstance(exc, RateLimited):
            retry_s = exc.details.get("retry_after_s", 1)
            seconds = float(retry_s) if isinstance(retry_s, int | float) else 1.0
            headers = {"Retry-After": str(max(1, int(seconds + 0.999)))}
        elif isinstance(exc, Unauthenticated):
            headers = {"WWW-Authenticate": 'Bearer realm="chiptrail"'}
        return await problem_response(req, status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return await problem_response(
            req, 422, "invalid_input", f"invalid request: {fields}", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return await problem_response(
            req, exc.status_code, code, str(exc.detail), None, exc.headers
        )

    @app.exception_handler(Exception)
    async def _internal(req: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        return await problem_response(req, 500, "internal", "internal server error")


HTTP_CODES = {
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}
