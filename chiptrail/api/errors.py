"""The one table mapping chiptrail errors to HTTP statuses, and the one error body shape.

Every error answers ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    """The single error shape."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so every error, ours or the framework's, has the one shape."""

    @app.exception_handler(ChiptrailError)
    async def _chiptrail(_req: Request, exc: ChiptrailError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return JSONResponse(
            error_body("invalid_input", f"invalid request: {fields}", {"errors": errors}), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        return JSONResponse(error_body("internal", "internal server error"), 500)
