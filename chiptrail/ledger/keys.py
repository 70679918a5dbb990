"""Parties and their signing keys: the registry rules (who may sign, rotation, revocation).

No I/O: the service layer loads ``KeyRecord``s and asks these functions to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from chiptrail.countries import parse_country
from chiptrail.crypto import check_public_key
from chiptrail.errors import Conflict, InvalidInput, VerificationError
from chiptrail.ledger.submission import key_id_for

_PARTY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


class PartyKind(StrEnum):
    """FollowTheMoney schema of a party."""

    COMPANY = "Company"
    PERSON = "Person"
    ORGANIZATION = "Organization"
    LEGAL_ENTITY = "LegalEntity"


@dataclass(frozen=True, slots=True)
class Party:
    """A registered party (FollowTheMoney-compatible id, so FtM data joins on it)."""

    party_id: str
    name: str
    country: str | None
    kind: PartyKind


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A registered Ed25519 public key and the log entries that added / revoked it."""

    key_id: str
    party_id: str
    public_key: bytes
    added_leaf: int
    revoked_leaf: int | None = None

    @property
    def is_active(self) -> bool:
        """True until revoked."""
        return self.revoked_leaf is None


def make_party(party_id: str, name: str, country: str | None, kind: str) -> Party:
    """Validate and build a party.

    Raises:
        InvalidInput: an id that is not FtM-compatible (letters, digits, ``.-_:``; 1-200
            characters), an empty name, an unknown country or kind.
    """
    if not _PARTY_ID.match(party_id):
        raise InvalidInput(
            "party id: 1-200 letters, digits or . _ : - (FollowTheMoney-compatible)",
            {"field": "party_id", "value": party_id},
        )
    if not name.strip():
        raise InvalidInput("party name is empty", {"field": "name"})
    try:
        party_kind = PartyKind(kind)
    except ValueError as exc:
        raise InvalidInput(
            f"party kind must be one of {[k.value for k in PartyKind]}", {"field": "kind"}
        ) from exc
    code = str(parse_country(country)) if country else None
    return Party(party_id, name.strip(), code, party_kind)


def make_key(party_id: str, public_key: bytes, added_leaf: int) -> KeyRecord:
    """A new key record for ``public_key`` (32 raw bytes).

    Raises:
        InvalidInput: the key is not 32 bytes, or not a point of large order (``check_public_key``).
    """
    check_public_key(public_key)
    return KeyRecord(key_id_for(public_key), party_id, public_key, added_leaf)


def check_new_key(existing: KeyRecord | None) -> None:
    """A key may be registered once, ever (a revoked key never comes back).

    Raises:
        Conflict: the key is already registered (to this or another party).
    """
    if existing is not None:
        raise Conflict(
            "this public key is already registered",
            {"key_id": existing.key_id, "party_id": existing.party_id},
        )


def check_revocable(record: KeyRecord | None, party_id: str, key_id: str) -> KeyRecord:
    """The key to revoke must exist, belong to ``party_id`` and still be active.

    Raises:
        NotFound-like InvalidInput: unknown key or another party's; Conflict: already revoked.
    """
    if record is None or record.party_id != party_id:
        raise InvalidInput(
            f"party {party_id} has no key {key_id}", {"field": "key_id", "key_id": key_id}
        )
    if not record.is_active:
        raise Conflict("key is already revoked", {"key_id": key_id})
    return record


def check_signing_key(record: KeyRecord | None, party_id: str, key_id: str) -> KeyRecord:
    """The key named by a submission must be registered to its party and not revoked.

    Raises:
        VerificationError: unknown key, a key of another party, or a revoked key.
    """
    if record is None:
        raise VerificationError(
            "submission signed by an unregistered key", {"field": "key_id", "key_id": key_id}
        )
    if record.party_id != party_id:
        raise VerificationError(
            "key is registered to another party", {"field": "party_id", "key_id": key_id}
        )
    if not record.is_active:
        raise VerificationError(
            "key was revoked", {"field": "key_id", "key_id": key_id, "at": record.revoked_leaf}
        )
    return record
