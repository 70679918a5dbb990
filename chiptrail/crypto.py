"""Ed25519 signing and verification and the hashing primitives shared by ledger and probe.

No key storage and no I/O: callers pass key bytes in and keep them where they like.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from chiptrail.errors import InvalidInput, VerificationError


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of ``data`` (32 bytes)."""
    return hashlib.sha256(data).digest()


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as C2SP and RFC 9162 tools print hashes."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, field: str = "value") -> bytes:
    """Decode standard base64, raising ``InvalidInput`` naming ``field`` on garbage."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(f"{field}: not valid base64", {"field": field}) from exc


class Signer(Protocol):
    """Anything that signs bytes with an Ed25519 key and tells its public key."""

    def sign(self, message: bytes) -> bytes: ...

    @property
    def public_key(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    """A software Ed25519 key. Build it from a 32-byte seed (tests use fixed seeds)."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise InvalidInput("Ed25519 seed must be 32 bytes", {"length": len(self.seed)})

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message``; returns the 64-byte signature."""
        return self._key.sign(message)

    @property
    def public_key(self) -> bytes:
        """Raw 32-byte public key."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


def generate_seed() -> bytes:
    """A fresh random 32-byte Ed25519 seed (uses the OS CSPRNG)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature.

    Raises:
        VerificationError: when the key is malformed or the signature does not verify.
    """
    if len(public_key) != 32:
        raise VerificationError("Ed25519 public key must be 32 bytes")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature as exc:
        raise VerificationError("Ed25519 signature does not verify") from exc
