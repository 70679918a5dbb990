"""Tables of the service capability: API keys, the refused-request audit, signed-request nonces.

Key secrets are stored only as SHA-256 digests; machine clients store only their Ed25519 public key.
Small repository functions live here; the service layer owns the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from chiptrail.store.metadata import metadata

api_keys_table = Table(
    "service_api_keys",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("kind", String(10), nullable=False),  # "token" or "ed25519"
    Column("secret_sha256", LargeBinary(32), nullable=True),
    Column("public_key", LargeBinary(32), nullable=True),
    Column("role", String(20), nullable=False),
    Column("party_id", String(200), nullable=True),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # migration 0011
)

refused_requests_table = Table(
    "service_refused_requests",
    metadata,
    Column("refusal_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("refused_at", DateTime(timezone=True), nullable=False),
    Column("key_id", String(40), nullable=True),
    Column("role", String(20), nullable=True),
    Column("party_id", String(200), nullable=True),
    Column("method", String(10), nullable=False),
    Column("path", String(2000), nullable=False),
    Column("status", Integer, nullable=False),
    Column("code", String(50), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_service_refused_requests_refused_at", "refused_at"),
)

request_nonces_table = Table(
    "service_request_nonces",
    metadata,
    Column("key_id", String(40), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("key_id", "nonce"),
)


def insert_key(conn: Connection, values: dict[str, Any]) -> None:
    """Insert one API key row."""
    conn.execute(insert(api_keys_table).values(**values))


def select_key(conn: Connection, key_id: str) -> Row[Any] | None:
    """The key row for ``key_id``, revoked or not."""
    return conn.execute(select(api_keys_table).where(api_keys_table.c.key_id == key_id)).first()


def select_keys(conn: Connection, after: str | None, limit: int) -> Sequence[Row[Any]]:
    """Keys ordered by id, starting after ``after``."""
    query = select(api_keys_table).order_by(api_keys_table.c.key_id).limit(limit)
    if after is not None:
        query = query.where(api_keys_table.c.key_id > after)
    return conn.execute(query).all()


def mark_key_revoked(conn: Connection, key_id: str, revoked_at: datetime) -> int:
    """Set ``revoked_at`` on an unrevoked key; returns the number of rows changed."""
    result = conn.execute(
        update(api_keys_table)
        .where(api_keys_table.c.key_id == key_id, api_keys_table.c.revoked_at.is_(None))
        .values(revoked_at=revoked_at)
    )
    return result.rowcount


def insert_refusal(conn: Connection, values: dict[str, Any]) -> None:
    """Append one refused-request row."""
    conn.execute(insert(refused_requests_table).values(**values))


def select_refusals(
    conn: Connection, before_id: int | None, limit: int, status: int | None
) -> Sequence[Row[Any]]:
    """Refusals newest first, with ids below ``before_id``, optionally of one status."""
    t = refused_requests_table
    query = select(t).order_by(t.c.refusal_id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(t.c.refusal_id < before_id)
    if status is not None:
        query = query.where(t.c.status == status)
    return conn.execute(query).all()


def insert_nonce(conn: Connection, key_id: str, nonce: str, seen_at: datetime) -> bool:
    """Remember a signed request's nonce; False when this key already used it (a replay)."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(request_nonces_table).values(key_id=key_id, nonce=nonce, seen_at=seen_at)
            )
    except IntegrityError:
        return False
    return True
