"""Use cases of authentication: API keys, signed machine requests, the refused-request audit.

Owns key hashing and verification; leaves HTTP (headers, statuses, role policy) to ``api/auth.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from chiptrail.crypto import b64decode, sha256, verify_signature
from chiptrail.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    VerificationError,
)
from chiptrail.store import auth_tables
from chiptrail.store.database import Database

TOKEN_PREFIX = "ctk"  # noqa: S105 - a public marker, not a secret
SIGNED_REQUEST_VERSION = "chiptrail-request-v1"
MAX_CLOCK_SKEW_S = 300.0


class Role(StrEnum):
    """What a key may do; bound to the key at creation (see docs/auth.md for the policy table)."""

    VENDOR = "vendor"
    OPERATOR = "operator"
    LANDMARK = "landmark"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"


SEES_ALL_PARTIES = frozenset({Role.ADMIN, Role.ANALYST})
"""Roles not restricted to their own party's data."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated identity behind a request.

    Attributes:
        key_id: the API key's public id (``None`` only when auth is switched off).
        role: what the key may do.
        party_id: the party the key acts for; ``None`` for keys that act for no party.
    """

    key_id: str | None
    role: Role
    party_id: str | None

    @property
    def sees_all_parties(self) -> bool:
        """True for roles that may read every party's data (admin, analyst)."""
        return self.role in SEES_ALL_PARTIES

    def require_party(self, party_id: str | None) -> None:
        """Refuse unless the caller may act for ``party_id`` (its own, or it sees all).

        Raises:
            PermissionDenied: the data belongs to another party.
        """
        if self.sees_all_parties:
            return
        if party_id is None or party_id != self.party_id:
            raise PermissionDenied(
                "this key may only read and submit its own party's data",
                {"caller_party_id": self.party_id, "party_id": party_id},
            )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, never its secret."""

    key_id: str
    kind: str
    role: Role
    party_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None
    public_key_b64: str | None = None
    expires_at: datetime | None = None

    def state_at(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key; ``token`` is shown once and never stored (``None`` for signing keys)."""

    key: ApiKey
    token: str | None


def _utc(at: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns: they were stored as UTC."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)


def _key_from_row(row: Row[Any]) -> ApiKey:
    public = row.public_key
    created_at = _utc(row.created_at)
    assert created_at is not None  # noqa: S101 - the column is NOT NULL
    return ApiKey(
        key_id=row.key_id,
        kind=row.kind,
        role=Role(row.role),
        party_id=row.party_id,
        label=row.label,
        created_at=created_at,
        revoked_at=_utc(row.revoked_at),
        public_key_b64=None if public is None else _b64(public),
        expires_at=_utc(row.expires_at),
    )


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def parse_role(text: str) -> Role:
    """A role from its wire string.

    Raises:
        InvalidInput: not one of the six roles.
    """
    try:
        return Role(text)
    except ValueError as exc:
        raise InvalidInput(
            f"role {text!r} is not one of {', '.join(r.value for r in Role)}",
            {"field": "role", "value": text},
        ) from exc


def create_api_key(
    db: Database,
    *,
    role: Role,
    party_id: str | None,
    label: str,
    now: datetime,
    public_key: bytes | None = None,
    expires_at: datetime | None = None,
) -> CreatedKey:
    """Create a bearer-token key, or register an Ed25519 signing key when ``public_key`` is given.

    The token is ``ctk_<key_id>_<secret>``; only SHA-256(secret) is stored. A key with
    ``expires_at`` is refused (401) from that time on.

    Raises:
        InvalidInput: a non-admin/analyst/auditor role without a party, a bad public key, or an
            expiry that is not in the future.
    """
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise InvalidInput(
            "expires_at must be a time zone-aware time in the future", {"field": "expires_at"}
        )
    if role not in (Role.ADMIN, Role.ANALYST, Role.AUDITOR) and not party_id:
        raise InvalidInput(f"a {role.value} key must be bound to a party", {"field": "party_id"})
    if public_key is not None and len(public_key) != 32:
        raise InvalidInput("Ed25519 public key must be 32 bytes", {"field": "public_key"})
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = None if public_key is not None else f"{TOKEN_PREFIX}_{key_id}_{secret}"
    values = {
        "key_id": key_id,
        "kind": "ed25519" if public_key is not None else "token",
        "secret_sha256": None if public_key is not None else sha256(secret.encode("ascii")),
        "public_key": public_key,
        "role": role.value,
        "party_id": party_id or None,
        "label": label,
        "created_at": now,
        "revoked_at": None,
        "expires_at": expires_at,
    }
    with db.unit() as conn:
        auth_tables.insert_key(conn, values)
    key = ApiKey(
        key_id=key_id,
        kind=str(values["kind"]),
        role=role,
        party_id=party_id or None,
        label=label,
        created_at=now,
        revoked_at=None,
        public_key_b64=None if public_key is None else _b64(public_key),
        expires_at=expires_at,
    )
    return CreatedKey(key=key, token=token)


_EXPIRY_UNITS_S = {"m": 60, "h": 3600, "d": 86400}


def parse_expiry(text: str, now: datetime) -> datetime | None:
    """An expiry from ``30d``, ``12h``, ``90m``, an ISO 8601 time (UTC if no offset) or ``never``.

    Raises:
        InvalidInput: none of those forms, or not in the future.
    """
    value = text.strip().lower()
    if value == "never":
        return None
    unit = _EXPIRY_UNITS_S.get(value[-1:]) if value[:-1].isdigit() else None
    if unit is not None:
        at = now + timedelta(seconds=int(value[:-1]) * unit)
    else:
        try:
            at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                f"expiry {text!r}: give 30d, 12h, 90m, an ISO 8601 time or never",
                {"field": "expires"},
            ) from exc
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if at <= now:
        raise InvalidInput(f"expiry {text!r} is not in the future", {"field": "expires"})
    return at


def list_api_keys(db: Database, *, after: str | None = None, limit: int = 100) -> list[ApiKey]:
    """Keys ordered by id, after the key id ``after``."""
    with db.unit() as conn:
        return [_key_from_row(r) for r in auth_tables.select_keys(conn, after, limit)]


def revoke_api_key(db: Database, key_id: str, *, now: datetime) -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key keeps its first revocation time).

    Raises:
        NotFound: no such key.
    """
    with db.unit() as conn:
        auth_tables.mark_key_revoked(conn, key_id, now)
        row = auth_tables.select_key(conn, key_id)
    if row is None:
        raise NotFound(f"API key {key_id!r} does not exist", {"key_id": key_id})
    return _key_from_row(row)


def _active_key(db: Database, key_id: str, now: datetime) -> Row[Any]:
    with db.unit() as conn:
        row = auth_tables.select_key(conn, key_id)
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked API key", {"key_id": key_id})
    expires_at = _utc(row.expires_at)
    if expires_at is not None and expires_at <= now:
        raise Unauthenticated(
            "this API key has expired: ask an admin for a new one (chiptrail keys create)",
            {"key_id": key_id},
        )
    return row


def authenticate_token(db: Database, token: str, *, now: datetime | None = None) -> Caller:
    """The caller behind a bearer token (constant-time comparison of the secret's digest).

    Raises:
        Unauthenticated: malformed, unknown, revoked, expired or wrong token.
    """
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        raise Unauthenticated("malformed API key: expected ctk_<id>_<secret>")
    row = _active_key(db, parts[1], now or datetime.now(UTC))
    digest = hashlib.sha256(parts[2].encode("utf-8", "surrogateescape")).digest()
    if row.kind != "token" or not hmac.compare_digest(digest, row.secret_sha256 or b""):
        raise Unauthenticated("wrong API key secret", {"key_id": parts[1]})
    return Caller(key_id=row.key_id, role=Role(row.role), party_id=row.party_id)


def signed_request_message(
    method: str, path: str, body: bytes, timestamp: str, nonce: str
) -> bytes:
    """The exact bytes a machine client signs: version, method, path (with query), body hash,
    timestamp (RFC 3339 UTC) and nonce, one per line."""
    lines = [SIGNED_REQUEST_VERSION, method.upper(), path, sha256(body).hex(), timestamp, nonce]
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of a signed request as received."""

    key_id: str
    method: str
    path: str
    body: bytes
    timestamp: str
    nonce: str
    signature_b64: str


def authenticate_signed(db: Database, request: SignedRequest, *, now: datetime) -> Caller:
    """The caller behind an Ed25519-signed request; refuses stale, forged or replayed requests.

    Raises:
        Unauthenticated: unknown key, timestamp outside the allowed skew, bad signature, or a
            nonce this key already used.
    """
    row = _active_key(db, request.key_id, now)
    if row.kind != "ed25519" or row.public_key is None:
        raise Unauthenticated("this key is not a signing key", {"key_id": request.key_id})
    try:
        signed_at = datetime.fromisoformat(request.timestamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unauthenticated("signed request: timestamp is not RFC 3339") from exc
    if signed_at.tzinfo is None or abs(now - signed_at) > timedelta(seconds=MAX_CLOCK_SKEW_S):
        raise Unauthenticated(
            f"signed request: timestamp outside ±{MAX_CLOCK_SKEW_S:.0f} s of server time",
            {"timestamp": request.timestamp},
        )
    if not 8 <= len(request.nonce) <= 100:
        raise Unauthenticated("signed request: nonce must be 8 to 100 characters")
    message = signed_request_message(
        request.method, request.path, request.body, request.timestamp, request.nonce
    )
    try:
        verify_signature(row.public_key, message, b64decode(request.signature_b64, "signature"))
    except (VerificationError, InvalidInput) as exc:
        raise Unauthenticated(f"signed request: {exc.message}", {"key_id": row.key_id}) from exc
    with db.unit() as conn:
        fresh = auth_tables.insert_nonce(conn, row.key_id, request.nonce, now)
    if not fresh:
        raise Unauthenticated(
            "signed request: nonce already used (replay)", {"nonce": request.nonce}
        )
    return Caller(key_id=row.key_id, role=Role(row.role), party_id=row.party_id)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused request, as audited."""

    refusal_id: int
    refused_at: datetime
    key_id: str | None
    role: str | None
    party_id: str | None
    method: str
    path: str
    status: int
    code: str
    reason: str


def record_refusal(db: Database, refusal: Refusal) -> None:
    """Append a refused request to the audit table (``refusal_id`` is assigned by the store)."""
    values = {
        "refused_at": refusal.refused_at,
        "key_id": refusal.key_id,
        "role": refusal.role,
        "party_id": refusal.party_id,
        "method": refusal.method[:10],
        "path": refusal.path[:2000],
        "status": refusal.status,
        "code": refusal.code[:50],
        "reason": refusal.reason,
    }
    with db.unit() as conn:
        auth_tables.insert_refusal(conn, values)


def list_refusals(
    db: Database, *, before_id: int | None = None, limit: int = 100, status: int | None = None
) -> list[Refusal]:
    """Refused requests, newest first."""
    with db.unit() as conn:
        rows = auth_tables.select_refusals(conn, before_id, limit, status)
    return [
        Refusal(
            refusal_id=r.refusal_id,
            refused_at=_utc(r.refused_at) or r.refused_at,
            key_id=r.key_id,
            role=r.role,
            party_id=r.party_id,
            method=r.method,
            path=r.path,
            status=r.status,
            code=r.code,
            reason=r.reason,
        )
        for r in rows
    ]
