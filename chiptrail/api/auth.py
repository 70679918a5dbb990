"""Who may call what: credentials, the per-path role policy, rate limits, ``CallerDep``.

The policy is applied centrally to every ``/v1`` route (``app.py`` adds ``enforce_policy`` to each
router); routes that need the identity declare ``caller: CallerDep`` and scope data by
``caller.require_party(owner)``. Key hashing and signature checks live in ``service/auth.py``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from chiptrail.api.ratelimit import RateLimit, TokenBuckets
from chiptrail.errors import PermissionDenied, RateLimited, Unauthenticated
from chiptrail.service.auth import (
    Caller,
    Role,
    SignedRequest,
    authenticate_signed,
    authenticate_token,
)
from chiptrail.store.database import Database

log = logging.getLogger(__name__)

KEY_ID_HEADER = "X-Chiptrail-Key-Id"
SIGNATURE_HEADER = "X-Chiptrail-Signature"
TIMESTAMP_HEADER = "X-Chiptrail-Timestamp"
NONCE_HEADER = "X-Chiptrail-Nonce"
SUBMISSION_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ALL = frozenset(Role)
PUBLIC: frozenset[Role] = frozenset()
"""Marker: no credentials needed."""
READERS = ALL - {Role.AUDITOR}
PARTY_ROLES = frozenset({Role.VENDOR, Role.OPERATOR, Role.ANALYST, Role.ADMIN})
STAFF = frozenset({Role.ANALYST, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """Roles allowed on routes whose path template starts with ``prefix`` for ``methods``."""

    methods: frozenset[str]
    prefix: str
    roles: frozenset[Role]


def _rule(methods: str, prefix: str, roles: frozenset[Role]) -> PolicyRule:
    return PolicyRule(frozenset(methods.split()), prefix, roles)


_GET = "GET HEAD"
_WRITE = "POST PUT PATCH DELETE"
_ANY = _GET + " " + _WRITE

POLICY: tuple[PolicyRule, ...] = (
    # A transparency log is public: checkpoints, proofs and tiles need no key.
    _rule(_GET, "/v1/log/", PUBLIC),
    _rule(_GET, "/v1/me", ALL),
    _rule(_ANY, "/v1/keys", ADMIN_ONLY),
    _rule(_ANY, "/v1/audit/", ADMIN_ONLY),
    _rule(_WRITE, "/v1/events", frozenset({Role.VENDOR, Role.OPERATOR, Role.ADMIN})),
    _rule(_GET, "/v1/events", PARTY_ROLES),
    _rule(_GET, "/v1/chips/{chip_id}/verdicts", STAFF),
    _rule(_GET, "/v1/verdicts", STAFF),
    _rule(_GET, "/v1/chips", PARTY_ROLES),
    _rule(_WRITE, "/v1/chips", frozenset({Role.VENDOR, Role.ADMIN})),
    _rule(_WRITE, "/v1/measurements", frozenset({Role.LANDMARK, Role.ADMIN})),
    _rule(_GET, "/v1/measurements", frozenset({Role.LANDMARK, Role.ANALYST, Role.ADMIN})),
    _rule(_GET, "/v1/landmarks", READERS),
    _rule(_WRITE, "/v1/landmarks", ADMIN_ONLY),
    _rule(_WRITE, "/v1/screen", PARTY_ROLES),
    _rule(_GET, "/v1/parties", PARTY_ROLES),
    _rule(_WRITE, "/v1/parties", STAFF),
    _rule(_WRITE, "/v1/rules/run", STAFF),
    _rule(_GET, "/v1/rules", READERS),
    _rule(_WRITE, "/v1/findings", STAFF),
    _rule(_GET, "/v1/findings", PARTY_ROLES),
    _rule(_ANY, "/v1/cases", STAFF),
    _rule(_GET, "/v1/hardware", READERS),
    _rule(_WRITE, "/v1/hardware/classify", READERS),
    _rule(_WRITE, "/v1/hardware", frozenset({Role.VENDOR, Role.ADMIN})),
    _rule(_WRITE, "/v1/license-check", PARTY_ROLES),
    _rule(_ANY, "/v1/geoloc", PARTY_ROLES),
    _rule(_ANY, "/v1/reports/", STAFF),
    _rule(_WRITE, "/v1/tenancy", frozenset({Role.OPERATOR, Role.ANALYST, Role.ADMIN})),
    _rule(_WRITE, "/v1/ledger/parties/{party_id}/keys", PARTY_ROLES),  # own party only
    _rule(_GET, "/v1/ledger/parties/{party_id}/keys", PARTY_ROLES),
    _rule(_ANY, "/v1/ledger/", STAFF),
    # Anything not listed: readers may read, staff may write. Auditors only read the log.
    _rule(_GET, "/v1/", READERS),
    _rule(_WRITE, "/v1/", STAFF),
)


BODY_PARTY_FIELDS: dict[tuple[str, str], str] = {("POST", "/v1/events"): "party_id"}
"""Submissions whose JSON body (an object or a list of objects) names the submitting party: a
party-bound key may only submit its own party's envelopes."""


def _body_parties(body: bytes, field_name: str) -> list[str]:
    """Every ``field_name`` value in a JSON object or list of objects (unparsable: none; the
    route refuses malformed bodies itself)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    docs = doc if isinstance(doc, list) else [doc]
    return [str(d[field_name]) for d in docs if isinstance(d, dict) and field_name in d]


def roles_for(method: str, path_template: str) -> frozenset[Role]:
    """The roles allowed for ``method`` on a route template (``PUBLIC``: no key needed)."""
    for rule in POLICY:
        if method in rule.methods and path_template.startswith(rule.prefix):
            return rule.roles
    return ADMIN_ONLY


@dataclass
class AuthConfig:
    """How the app authenticates. ``unsafe_no_auth`` switches every check off (tests, demos).

    Attributes:
        unsafe_no_auth: treat every caller as an admin of no party; logs a warning at start.
        rate_limit: token bucket per key on submission endpoints.
        max_body_bytes: larger request bodies are refused with 413.
        clock_s: monotonic seconds for the buckets (injected in tests).
    """

    unsafe_no_auth: bool = False
    rate_limit: RateLimit = field(default_factory=RateLimit)
    max_body_bytes: int = 1 << 20
    clock_s: Callable[[], float] = field(default=time.monotonic)
    buckets: TokenBuckets = field(init=False)

    def __post_init__(self) -> None:
        self.buckets = TokenBuckets(self.rate_limit, self.clock_s)


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


async def _authenticate(
    request: Request, bearer: HTTPAuthorizationCredentials | None, key_id: str | None
) -> Caller:
    db: Database = request.app.state.database
    if bearer is not None:
        return authenticate_token(db, bearer.credentials)
    if key_id:
        headers = request.headers
        query = request.scope.get("query_string", b"").decode("latin-1")
        path = request.scope["path"] + (f"?{query}" if query else "")
        signed = SignedRequest(
            key_id=key_id,
            method=request.method,
            path=path,
            body=await request.body(),
            timestamp=headers.get(TIMESTAMP_HEADER, ""),
            nonce=headers.get(NONCE_HEADER, ""),
            signature_b64=headers.get(SIGNATURE_HEADER, ""),
        )
        return authenticate_signed(db, signed, now=datetime.now(UTC))
    raise Unauthenticated(
        "this endpoint needs an API key: send 'Authorization: Bearer ctk_...' "
        "(create one with: chiptrail keys create --role ROLE --party PARTY)"
    )


async def enforce_policy(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    key_id: Annotated[str | None, Depends(_key_id)],
) -> None:
    """Router dependency: authenticate, check the role policy, rate-limit, scope ``{party_id}``.

    Sets ``request.state.caller`` (``None`` on public routes).

    Raises:
        Unauthenticated: no or bad credentials on a non-public route.
        PermissionDenied: the role may not call this route, or another party's ``{party_id}``.
        RateLimited: the key's bucket is empty (``details.retry_after_s``).
    """
    config: AuthConfig = request.app.state.auth
    if config.unsafe_no_auth:
        request.state.caller = UNSAFE_CALLER
        return
    template = _route_template(request)
    roles = roles_for(request.method, template)
    if roles == PUBLIC:
        request.state.caller = None
        return
    caller = await _authenticate(request, bearer, key_id)
    request.state.caller = caller
    if caller.role not in roles:
        raise PermissionDenied(
            f"role {caller.role.value} may not {request.method} {template}",
            {"role": caller.role.value, "allowed_roles": sorted(r.value for r in roles)},
        )
    party_id = request.path_params.get("party_id")
    if party_id is not None:
        caller.require_party(str(party_id))
    field_name = BODY_PARTY_FIELDS.get((request.method, template))
    if field_name is not None and not caller.sees_all_parties:
        for claimed in _body_parties(await request.body(), field_name):
            caller.require_party(claimed)
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
