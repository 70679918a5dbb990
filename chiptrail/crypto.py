"""Ed25519 signing and verification and the hashing primitives shared by ledger and probe.

No key storage and no I/O: callers pass key bytes in and keep them where they like. Keys are
made and messages signed with pyca/cryptography; signatures are checked with libsodium (PyNaCl),
which verifies about twice as fast on this hardware and refuses small-order public keys, with
which OpenSSL accepts a forged signature on any message (docs/crypto.md).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import CryptoError

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


ED25519_PUBLIC_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64


def check_public_key(public_key: bytes, field: str = "public_key") -> bytes:
    """``public_key`` if it can verify anything: 32 bytes encoding a curve point of large order.

    A small-order point (the identity, the points of order 2, 4 and 8) is refused: with such a
    key, OpenSSL's Ed25519 accepts a signature made without any private key on every message.

    Raises:
        InvalidInput: the wrong length, not a point of the curve, or a small-order point.
    """
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
        raise InvalidInput(
            f"Ed25519 public key must be {ED25519_PUBLIC_KEY_BYTES} bytes",
            {"field": field, "length": len(public_key)},
        )
    if not crypto_core_ed25519_is_valid_point(public_key):
        raise InvalidInput(
            "Ed25519 public key is not a usable curve point (off the curve or of small order)",
            {"field": field},
        )
    return public_key


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature (RFC 8032, libsodium's strict checks).

    libsodium refuses what RFC 8032 allows a verifier to refuse: a non-canonical ``S``, a
    small-order or non-canonical public key or ``R``. It releases the GIL while it verifies, so
    threads verify on every core.

    Raises:
        VerificationError: when the key is malformed or the signature does not verify.
    """
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
        raise VerificationError("Ed25519 public key must be 32 bytes")
    if len(signature) != ED25519_SIGNATURE_BYTES:
        raise VerificationError("Ed25519 signature must be 64 bytes")
    try:
        crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except CryptoError as exc:
        raise VerificationError("Ed25519 signature does not verify") from exc
