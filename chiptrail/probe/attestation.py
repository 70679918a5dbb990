"""Device keys and their attestations: what a chip signs and how a verifier checks it.

Two schemes: a software Ed25519 key, and NVIDIA confidential-computing attestation (an SPDM
GET_MEASUREMENTS report signed by the GPU's ECDSA P-384 attestation key). No I/O: the keys
themselves live in ``service/location/device_keys.py``; here are the Protocol and the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chiptrail.crypto import sha256, verify_signature
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.types import ChipId

# SPDM 1.1 GET_MEASUREMENTS (DSP0274 section 10.11): request = version, code 0xE0, param1,
# param2, 32-byte nonce, slot id (37 bytes); the response (code 0x60) ends with the signature,
# ECDSA P-384 raw r||s (96 bytes) over request || response-without-signature, SHA-384.
SPDM_REQUEST_SIZE = 37
SPDM_GET_MEASUREMENTS = 0xE0
SPDM_MEASUREMENTS = 0x60
P384_SIGNATURE_SIZE = 96
NONCE_SIZE = 32


class AttestationScheme(StrEnum):
    """How a chip's answer is signed; the value is the wire string."""

    ED25519 = "ed25519"
    NVIDIA_CC = "nvidia-cc"


@dataclass(frozen=True, slots=True)
class Attestation:
    """A device key's answer over one message.

    Attributes:
        scheme: the signing scheme.
        public_key: Ed25519 raw 32 bytes, or for ``nvidia-cc`` the P-384 point (SEC1 uncompressed).
        signature: the Ed25519 signature, or the whole SPDM attestation report for ``nvidia-cc``.
    """

    scheme: AttestationScheme
    public_key: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class DevicePublicKey:
    """A chip's registered device key (what verifiers compare an attestation's key against)."""

    chip_id: ChipId
    scheme: AttestationScheme
    public_key: bytes


class DeviceKey(Protocol):
    """A chip's hardware (or, in tests and simulation, software) key."""

    @property
    def chip_id(self) -> ChipId: ...

    @property
    def scheme(self) -> AttestationScheme: ...

    @property
    def public_key(self) -> bytes: ...

    @property
    def identity(self) -> Mapping[str, str]:
        """What the device says about itself: ``uuid``, ``serial``, ``board_id`` where known."""
        ...

    def attest(self, message: bytes) -> Attestation:
        """Sign ``message`` (already bound to nonce, landmark and chip)."""
        ...


def parse_scheme(text: str) -> AttestationScheme:
    """The scheme named ``text``.

    Raises:
        InvalidInput: unknown scheme.
    """
    try:
        return AttestationScheme(text)
    except ValueError as exc:
        names = [s.value for s in AttestationScheme]
        raise InvalidInput(f"unknown attestation scheme {text!r}; use one of {names}") from exc


def nvidia_nonce(message: bytes) -> bytes:
    """The 32-byte nonce handed to the GPU: SHA-256 of the bound message."""
    return sha256(message)


def verify_attestation(attestation: Attestation, message: bytes) -> None:
    """Check that ``attestation`` signs ``message`` under its own public key.

    Whether that key is the chip's registered key is the caller's check.

    Raises:
        VerificationError: the signature or report does not verify.
    """
    if attestation.scheme is AttestationScheme.ED25519:
        verify_signature(attestation.public_key, message, attestation.signature)
        return
    verify_nvidia_report(attestation.public_key, attestation.signature, nvidia_nonce(message))


def verify_nvidia_report(public_key: bytes, report: bytes, nonce: bytes) -> None:
    """Check an SPDM GET_MEASUREMENTS report: it carries ``nonce`` and its signature verifies.

    Certificate-chain validation of ``public_key`` up to NVIDIA's root is not done here: the
    key is compared with the registered device key by the caller.

    Raises:
        VerificationError: malformed report, other nonce, or bad signature.
    """
    if len(report) < SPDM_REQUEST_SIZE + 4 + P384_SIGNATURE_SIZE:
        raise VerificationError("attestation report is too short to be SPDM", {"size": len(report)})
    if report[1] != SPDM_GET_MEASUREMENTS or report[SPDM_REQUEST_SIZE + 1] != SPDM_MEASUREMENTS:
        raise VerificationError("attestation report is not an SPDM GET_MEASUREMENTS exchange")
    if report[4 : 4 + NONCE_SIZE] != nonce:
        raise VerificationError("attestation report carries another nonce")
    try:
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP384R1(), public_key)
    except ValueError as exc:
        raise VerificationError("device public key is not a P-384 point") from exc
    raw = report[-P384_SIGNATURE_SIZE:]
    half = P384_SIGNATURE_SIZE // 2
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
    try:
        point.verify(der, report[:-P384_SIGNATURE_SIZE], ec.ECDSA(hashes.SHA384()))
    except InvalidSignature as exc:
        raise VerificationError("attestation report signature does not verify") from exc
