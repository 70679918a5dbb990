"""ASGI middleware owned by the service edge: request size limit (413) and ETags on log reads.

Pure ASGI (no BaseHTTPMiddleware), so streaming and exceptions pass through unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ETAG_PREFIXES = ("/v1/log/",)


class BodySizeLimit:
    """Refuse request bodies over ``max_body_bytes`` with 413 (declared or streamed length).

    The refusal is raised as an HTTP exception from ``receive``, so the app's error handlers
    answer it in the one error shape and audit it.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length")
        too_large = f"request body over {limit} bytes: split the submission"
        if declared is not None and declared.isdigit() and int(declared) > limit:

            async def refuse() -> Message:
                raise StarletteHTTPException(413, too_large)

            await self.app(scope, refuse, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, counted, send)


class LogETags:
    """Strong ETags (SHA-256 of the body) on successful GETs of the public log; 304 on a match."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("GET", "HEAD")
            or not path.startswith(ETAG_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if_none_match = headers.get(b"if-none-match", b"").decode("latin-1")
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None  # noqa: S101 - ASGI orders start before body
            await _finish(send, start, b"".join(chunks), if_none_match)

        await self.app(scope, receive, buffered)


async def _finish(send: Send, start: Message, body: bytes, if_none_match: str) -> None:
    raw_headers = list(start.get("headers", []))
    if start["status"] != 200:
        await send(start)
        await send({"type": "http.response.body", "body": body})
        return
    existing = [v for k, v in raw_headers if k.lower() == b"etag"]
    if existing:  # the route chose its own validator
        etag = existing[0].decode("latin-1")
    else:
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        raw_headers.append((b"etag", etag.encode("ascii")))
    if not any(k.lower() == b"cache-control" for k, _ in raw_headers):
        raw_headers.append((b"cache-control", b"no-cache"))
    matches = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag in matches or "*" in matches:
        kept = [(k, v) for k, v in raw_headers if k.lower() not in (b"content-length",)]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({**start, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
