"""Test builders for the probe: fixed-seed keys, a software device key, SPDM reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chiptrail.crypto import Ed25519Signer
from chiptrail.probe.attestation import Attestation, AttestationScheme
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.types import ChipId, LandmarkId

T0 = datetime(2026, 11, 25, 19, 0, 0, 123456, tzinfo=UTC)


def seed(n: int) -> bytes:
    """A fixed 32-byte seed."""
    return bytes([n]) * 32


@dataclass(frozen=True)
class SoftKey:
    """A software Ed25519 device key (same shape as service.device_keys.SoftwareDeviceKey)."""

    chip_id: ChipId
    signer: Ed25519Signer
    identity: Mapping[str, str] = field(default_factory=dict)

    @property
    def scheme(self) -> AttestationScheme:
        return AttestationScheme.ED25519

    @property
    def public_key(self) -> bytes:
        return self.signer.public_key

    def attest(self, message: bytes) -> Attestation:
        return Attestation(self.scheme, self.public_key, self.signer.sign(message))


def p384_key(n: int = 7) -> ec.EllipticCurvePrivateKey:
    """A fixed P-384 key (the GPU's attestation key in tests)."""
    return ec.derive_private_key(10**20 + n, ec.SECP384R1())


def p384_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    """SEC1 uncompressed encoding of the public point (97 bytes)."""
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def spdm_report(key: ec.EllipticCurvePrivateKey, nonce: bytes, body: bytes = b"\x01" * 40) -> bytes:
    """An SPDM 1.1 GET_MEASUREMENTS request+response signed like a GPU's report."""
    request = bytes([0x11, 0xE0, 0x01, 0xFF]) + nonce + b"\x00"
    response = bytes([0x11, 0x60, 0x00, 0x00]) + body
    der = key.sign(request + response, ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    return request + response + r.to_bytes(48, "big") + s.to_bytes(48, "big")


def signed_record(
    landmark_id: str,
    landmark_key: Ed25519Signer,
    chip: object,
    n: int,
    rtt_ns: int,
    at: datetime = T0,
) -> MeasurementRecord:
    """A real landmark-signed record with a chosen RTT (the landmark state machine, no sockets)."""
    from chiptrail.probe.agent import answer_challenge
    from chiptrail.probe.landmark import Landmark, LandmarkConfig

    lm = Landmark(LandmarkConfig(LandmarkId(landmark_id)), landmark_key)
    challenge = lm.issue_challenge(chip.chip_id, n.to_bytes(32, "big"), at, 0)  # type: ignore[attr-defined]
    return lm.accept_response(answer_challenge(challenge, chip), rtt_ns, at)  # type: ignore[arg-type]
