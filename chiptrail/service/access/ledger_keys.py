"""Who may change a party's ledger signing keys: an admin, or the party proving it holds the key.

Owns the proof messages and their checks; the key entries themselves are appended by
``service/ledger/events.py``. A vendor's API token alone never adds a signing key: otherwise a
leaked token would let its holder sign custody events in the party's name.
"""

from __future__ import annotations

from datetime import datetime

from chiptrail.crypto import verify_signature
from chiptrail.errors import InvalidInput, NotFound
from chiptrail.ledger.keys import KeyRecord
from chiptrail.service.auth import Caller, Role
from chiptrail.service.ledger import events as ledger
from chiptrail.store.database import Database

ROTATION_CONTEXT = "chiptrail-key-rotation-v1"
REVOCATION_CONTEXT = "chiptrail-key-revocation-v1"


def rotation_message(party_id: str, old_key_id: str, new_public_key: bytes) -> bytes:
    """The bytes the old key signs to hand over to ``new_public_key`` (one field a line)."""
    lines = [ROTATION_CONTEXT, party_id, old_key_id, new_public_key.hex()]
    return ("\n".join(lines) + "\n").encode("utf-8")


def revocation_message(party_id: str, key_id: str) -> bytes:
    """The bytes a key signs to revoke itself."""
    return ("\n".join([REVOCATION_CONTEXT, party_id, key_id]) + "\n").encode("utf-8")


def _check_proof(
    db: Database, caller: Caller, party_id: str, key_id: str, message: bytes, proof: bytes | None
) -> None:
    """Admins need no proof; anyone else signs ``message`` with the party's active ``key_id``.

    Raises:
        InvalidInput: no proof given by a non-admin.
        NotFound: the party has no active key ``key_id``.
        VerificationError: the proof is not the key's signature of ``message``.
    """
    if caller.role is Role.ADMIN:
        return
    if proof is None:
        raise InvalidInput(
            "proof_b64 is required: sign the rotation or revocation message with the key "
            "being replaced (or ask an admin)",
            {"field": "proof_b64"},
        )
    keys = {k.key_id: k for k in ledger.list_party_keys(db, party_id)}
    record = keys.get(key_id)
    if record is None or record.revoked_leaf is not None:
        raise NotFound(f"party {party_id} has no active key {key_id!r}", {"key_id": key_id})
    verify_signature(record.public_key, message, proof)


def rotate_key_with_proof(
    db: Database,
    caller: Caller,
    *,
    party_id: str,
    old_key_id: str,
    new_public_key: bytes,
    proof: bytes | None,
    now: datetime,
) -> KeyRecord:
    """Replace ``old_key_id`` by ``new_public_key`` once the caller proves it holds the old key.

    Raises:
        InvalidInput, NotFound, VerificationError: see ``_check_proof``.
    """
    message = rotation_message(party_id, old_key_id, new_public_key)
    _check_proof(db, caller, party_id, old_key_id, message, proof)
    return ledger.rotate_party_key(
        db, party_id=party_id, old_key_id=old_key_id, new_public_key=new_public_key, now=now
    )


def revoke_key_with_proof(
    db: Database, caller: Caller, *, party_id: str, key_id: str, proof: bytes | None, now: datetime
) -> KeyRecord:
    """Revoke ``key_id`` once the caller proves it holds it (a lost key: ask an admin).

    Raises:
        InvalidInput, NotFound, VerificationError: see ``_check_proof``.
    """
    _check_proof(db, caller, party_id, key_id, revocation_message(party_id, key_id), proof)
    return ledger.revoke_party_key(db, party_id=party_id, key_id=key_id, now=now)
