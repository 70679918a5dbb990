"""Who may call what: credentials, the per-path role policy, rate limits, ``CallerDep``.

The route table (``api/access.py``) is applied centrally to every ``/v1`` route (``app.py`` adds
``enforce_policy`` to each router); routes that need the identity declare ``caller: CallerDep``
and pass it to the service, which filters lists by ``chiptrail.service.access.scope``.
Key hashing and signature checks live in ``service/auth.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from chiptrail.api.access import (
    ADMIN_ONLY,
    ALL,
    PARTY_ROLES,
    PUBLIC,
    READERS,
    STAFF,
    Access,
    Scope,
    access_for,
)
from chiptrail.api.ratelimit import RateLimit, TokenBuckets
from chiptrail.errors import PermissionDenied, RateLimited, Unauthenticated
from chiptrail.service.access import scope
from chiptrail.service.auth import (
    Caller,
    Role,
    SignedRequest,
    authenticate_signed,
    authenticate_token,
)
from chiptrail.store.database import Database

__all__ = [
    "ADMIN_ONLY",
    "ALL",
    "PARTY_ROLES",
    "PUBLIC",
    "READERS",
    "STAFF",
    "AuthConfig",
    "CallerDep",
    "enforce_policy",
    "get_caller",
    "roles_for",
]

log = logging.getLogger(__name__)

KEY_ID_HEADER = "X-Chiptrail-Key-Id"
SIGNATURE_HEADER = "X-Chiptrail-Signature"
TIMESTAMP_HEADER = "X-Chiptrail-Timestamp"
NONCE_HEADER = "X-Chiptrail-Nonce"
SUBMISSION_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def roles_for(method: str, path_template: str) -> frozenset[Role]:
    """The roles allowed for ``method`` on a route template (``PUBLIC``: no key needed)."""
    return access_for(method, path_template).roles


def _body_parties(body: bytes, path: tuple[str, ...]) -> list[str] | None:
    """Every party id at ``path`` in a JSON body, walking lists met on the way; ``None`` when
    the body is not JSON (the route refuses it itself, and nothing was named)."""
    try:
        doc: object = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    found: list[str] = []
    stack: list[tuple[object, int]] = [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, list):
            stack.extend((item, depth) for item in node)
        elif isinstance(node, dict) and depth < len(path) and path[depth] in node:
            if depth == len(path) - 1:
                found.append(str(node[path[depth]]))
            else:
                stack.append((node[path[depth]], depth + 1))
    return found


@dataclass
class AuthConfig:
    """How the app authenticates. ``unsafe_no_auth`` switches every check off (tests, demos).

    Attributes:
        unsafe_no_auth: treat every caller as an admin of no party; logs a warning at start.
        rate_limit: token bucket per key on submission endpoints.
        failed_auth_limit: token bucket per client address spent by each failed
            authentication; once empty, requests from that address with credentials are
            refused with 429 before any database access and without an audit row.
        max_body_bytes: larger request bodies are refused with 413.
        token_cache_s: how long a process trusts a bearer token it authenticated (0: ask the
            database every request). A revoked token keeps working for at most this long.
        clock_s: monotonic seconds for the buckets (injected in tests).
    """

    unsafe_no_auth: bool = False
    rate_limit: RateLimit = field(default_factory=RateLimit)
    failed_auth_limit: RateLimit = field(
        default_factory=lambda: RateLimit(rate_per_s=1.0, burst=20)
    )
    max_body_bytes: int = 1 << 20
    token_cache_s: float = 0.0
    clock_s: Callable[[], float] = field(default=time.monotonic)
    buckets: TokenBuckets = field(init=False)
    failures: TokenBuckets = field(init=False)
    tokens: TokenCache = field(init=False)

    def __post_init__(self) -> None:
        self.buckets = TokenBuckets(self.rate_limit, self.clock_s)
        self.failures = TokenBuckets(self.failed_auth_limit, self.clock_s)
        self.tokens = TokenCache(self.token_cache_s, self.clock_s)


@dataclass
class TokenCache:
    """Callers of bearer tokens authenticated in the last ``ttl_s`` seconds, by token digest
    (saves a database transaction per request; 0 keeps nothing)."""

    ttl_s: float
    clock_s: Callable[[], float]
    max_entries: int = 10_000
    _entries: dict[bytes, tuple[Caller, float]] = field(default_factory=dict)

    def get(self, token: str) -> Caller | None:
        """The cached caller of ``token`` while fresh."""
        if self.ttl_s <= 0:
            return None
        hit = self._entries.get(hashlib.sha256(token.encode()).digest())
        if hit is None or hit[1] < self.clock_s():
            return None
        return hit[0]

    def put(self, token: str, caller: Caller) -> None:
        """Remember an authenticated caller for ``ttl_s`` seconds."""
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        digest = hashlib.sha256(token.encode()).digest()
        self._entries[digest] = (caller, self.clock_s() + self.ttl_s)


UNSAFE_CALLER = Caller(key_id=None, role=Role.ADMIN, party_id=None)

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer ctk_...`")
_key_id = APIKeyHeader(
    name=KEY_ID_HEADER,
    auto_error=False,
    description="Signed requests: key id, with X-Chiptrail-Timestamp/-Nonce/-Signature.",
)


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def _authenticate(
    request: Request, bearer: HTTPAuthorizationCredentials | None, key_id: str | None
) -> Caller:
    """The caller behind the request's credentials; the database work runs in a worker thread.

    Failed attempts spend the client address's failure bucket; an empty bucket refuses at once
    (429, no database read, no audit write), so guessing keys costs the guesser, not the store.
    """
    db: Database = request.app.state.database
    config: AuthConfig = request.app.state.auth
    address = _client_address(request)
    if bearer is None and not key_id:
        raise Unauthenticated(
            "this endpoint needs an API key: send 'Authorization: Bearer ctk_...' "
            "(create one with: chiptrail keys create --role ROLE --party PARTY)"
        )
    wait_s = config.failures.peek(address)
    if wait_s > 0:
        request.state.skip_audit = True
        raise RateLimited(
            "too many failed authentications from this address: retry after the given delay",
            {"retry_after_s": round(wait_s, 3)},
        )
    try:
        if bearer is not None:
            cached = config.tokens.get(bearer.credentials)
            if cached is not None:
                return cached
            caller = await run_in_threadpool(authenticate_token, db, bearer.credentials)
            config.tokens.put(bearer.credentials, caller)
            return caller
        headers = request.headers
        query = request.scope.get("query_string", b"").decode("latin-1")
        path = request.scope["path"] + (f"?{query}" if query else "")
        signed = SignedRequest(
            key_id=str(key_id),
            method=request.method,
            path=path,
            body=await request.body(),
            timestamp=headers.get(TIMESTAMP_HEADER, ""),
            nonce=headers.get(NONCE_HEADER, ""),
            signature_b64=headers.get(SIGNATURE_HEADER, ""),
        )
        return await run_in_threadpool(authenticate_signed, db, signed, now=datetime.now(UTC))
    except Unauthenticated:
        config.failures.take(address)
        raise


async def _check_scope(request: Request, caller: Caller, access: Access) -> None:
    """Apply the route's scope: path parameters and body parties must be the caller's reach."""
    party_id = request.path_params.get("party_id")
    if party_id is not None:
        caller.require_party(str(party_id))
    if caller.sees_all_parties:
        return
    db: Database = request.app.state.database
    if access.scope is Scope.ASSET:
        epc = request.path_params.get("chip_id", request.path_params.get("epc"))
        await run_in_threadpool(scope.require_asset, db, caller, str(epc))
    elif access.scope is Scope.FINDING:
        finding_id = str(request.path_params.get("finding_id"))
        await run_in_threadpool(scope.require_finding, db, caller, finding_id)
    elif access.scope is Scope.BODY:
        claimed = _body_parties(await request.body(), access.body_party)
        for party in claimed or ():
            caller.require_party(party)
    elif access.scope is Scope.BODY_ASSETS:
        epcs = _body_parties(await request.body(), access.body_party) or []
        await run_in_threadpool(scope.require_assets, db, caller, epcs)


async def enforce_policy(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    key_id: Annotated[str | None, Depends(_key_id)],
) -> None:
    """Router dependency: authenticate, check the route table, scope, rate-limit.

    Sets ``request.state.caller`` (``None`` on public routes). The route's row in
    ``api/access.py`` names its roles and scope; the data-dependent part is decided by
    ``chiptrail.service.access.scope``.

    Raises:
        Unauthenticated: no or bad credentials on a non-public route.
        PermissionDenied: the role may not call this route, or the data is another party's.
        RateLimited: the key's bucket, or the address's failed-authentication bucket, is empty
            (``details.retry_after_s``).
    """
    config: AuthConfig = request.app.state.auth
    if config.unsafe_no_auth:
        request.state.caller = UNSAFE_CALLER
        return
    template = _route_template(request)
    access = access_for(request.method, template)
    if access.roles == PUBLIC:
        request.state.caller = None
        return
    caller = await _authenticate(request, bearer, key_id)
    request.state.caller = caller
    if caller.role not in access.roles:
        raise PermissionDenied(
            f"role {caller.role.value} may not {request.method} {template}",
            {"role": caller.role.value, "allowed_roles": sorted(r.value for r in access.roles)},
        )
    await _check_scope(request, caller, access)
    if request.method in SUBMISSION_METHODS and caller.key_id is not None:
        wait_s = config.buckets.take(caller.key_id)
        if wait_s > 0:
            raise RateLimited(
                "too many submissions for this key: retry after the given delay",
                {"retry_after_s": round(wait_s, 3)},
            )


def get_caller(request: Request) -> Caller:
    """The authenticated caller of this request (routes: ``caller: CallerDep``).

    Raises:
        Unauthenticated: the route is public, so no caller was established.
    """
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise Unauthenticated("this endpoint needs an API key")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
