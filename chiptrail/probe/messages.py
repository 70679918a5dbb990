"""Probe messages and the canonical bytes each party signs (docs/probe-protocol.md).

The chip signs ``chip_message(nonce, landmark_id, chip_id)``; the landmark signs
``measurement_message(record)``. Both are domain-separated, length-prefixed byte strings, so
the signatures do not depend on JSON spelling. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chiptrail.crypto import Signer, sha256, verify_signature
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.probe._canonical import encode_fields, format_time
from chiptrail.probe.attestation import (
    NONCE_SIZE,
    Attestation,
    AttestationScheme,
    verify_attestation,
)
from chiptrail.types import ChipId, LandmarkId

CHIP_DOMAIN = b"chiptrail/probe/v1/chip-response"
MEASUREMENT_DOMAIN = b"chiptrail/probe/v1/measurement"
MAX_ID_LENGTH = 200


def check_id(value: str, field: str) -> None:
    """Ids are 1..200 printable characters without spaces.

    Raises:
        InvalidInput: empty, too long or with control/space characters.
    """
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable() or " " in value:
        raise InvalidInput(f"{field}: must be 1-{MAX_ID_LENGTH} printable characters, no spaces")


def check_nonce(nonce: bytes) -> None:
    """Nonces are exactly 32 bytes.

    Raises:
        InvalidInput: other length.
    """
    if len(nonce) != NONCE_SIZE:
        raise InvalidInput(f"nonce must be {NONCE_SIZE} bytes", {"length": len(nonce)})


@dataclass(frozen=True, slots=True)
class Challenge:
    """Landmark to chip: a fresh nonce, who asks, and when (landmark's UTC clock)."""

    landmark_id: LandmarkId
    nonce: bytes
    issued_at: datetime

    def __post_init__(self) -> None:
        check_id(self.landmark_id, "landmark_id")
        check_nonce(self.nonce)
        format_time(self.issued_at)


@dataclass(frozen=True, slots=True)
class ChipResponse:
    """Chip to landmark: the challenge's nonce signed together with landmark id and chip id."""

    chip_id: ChipId
    landmark_id: LandmarkId
    nonce: bytes
    attestation: Attestation

    def __post_init__(self) -> None:
        check_id(self.chip_id, "chip_id")
        check_id(self.landmark_id, "landmark_id")
        check_nonce(self.nonce)


@dataclass(frozen=True, slots=True)
class MeasurementRecord:
    """One timed challenge/response, signed by the landmark.

    Attributes:
        rtt_ns: round trip measured on the landmark's monotonic clock, nanoseconds.
        issued_at / measured_at: landmark's UTC wall clock when sending / receiving.
        scheme, device_public_key, chip_signature: the chip's attestation, as received.
        landmark_signature: Ed25519 over ``measurement_message(self)``.
    """

    chip_id: ChipId
    landmark_id: LandmarkId
    nonce: bytes
    rtt_ns: int
    issued_at: datetime
    measured_at: datetime
    scheme: AttestationScheme
    device_public_key: bytes
    chip_signature: bytes
    landmark_signature: bytes = b""

    def __post_init__(self) -> None:
        check_id(self.chip_id, "chip_id")
        check_id(self.landmark_id, "landmark_id")
        check_nonce(self.nonce)
        if self.rtt_ns < 0 or self.rtt_ns >= 2**63:
            raise InvalidInput("rtt_ns must be a non-negative 63-bit integer")
        if self.measured_at < self.issued_at:
            raise InvalidInput("measured_at is before issued_at")

    @property
    def rtt_ms(self) -> float:
        """Round trip in milliseconds."""
        return self.rtt_ns / 1e6

    @property
    def attestation(self) -> Attestation:
        """The chip's attestation this record carries."""
        return Attestation(self.scheme, self.device_public_key, self.chip_signature)


def chip_message(nonce: bytes, landmark_id: str, chip_id: str) -> bytes:
    """The bytes a chip's device key signs: domain, nonce, landmark id, chip id."""
    check_nonce(nonce)
    return encode_fields(CHIP_DOMAIN, nonce, landmark_id.encode(), chip_id.encode())


def measurement_message(record: MeasurementRecord) -> bytes:
    """The bytes a landmark signs; the chip's signature enters as its SHA-256."""
    return encode_fields(
        MEASUREMENT_DOMAIN,
        record.chip_id.encode(),
        record.landmark_id.encode(),
        record.nonce,
        record.rtt_ns.to_bytes(8, "big"),
        format_time(record.issued_at).encode(),
        format_time(record.measured_at).encode(),
        record.scheme.value.encode(),
        record.device_public_key,
        sha256(record.chip_signature),
    )


def sign_measurement(record: MeasurementRecord, signer: Signer) -> MeasurementRecord:
    """A copy of ``record`` carrying the landmark's signature."""
    return MeasurementRecord(
        chip_id=record.chip_id,
        landmark_id=record.landmark_id,
        nonce=record.nonce,
        rtt_ns=record.rtt_ns,
        issued_at=record.issued_at,
        measured_at=record.measured_at,
        scheme=record.scheme,
        device_public_key=record.device_public_key,
        chip_signature=record.chip_signature,
        landmark_signature=signer.sign(measurement_message(record)),
    )


def verify_measurement(record: MeasurementRecord, landmark_public_key: bytes) -> None:
    """Check the landmark's signature and the chip's attestation carried in ``record``.

    Whether ``device_public_key`` is the chip's registered key is the caller's check.

    Raises:
        VerificationError: either signature fails.
    """
    try:
        verify_signature(
            landmark_public_key, measurement_message(record), record.landmark_signature
        )
    except VerificationError as exc:
        raise VerificationError(
            f"landmark signature on measurement from {record.landmark_id} does not verify",
            {"landmark_id": record.landmark_id, "reason": "bad_landmark_signature"},
        ) from exc
    try:
        verify_attestation(
            record.attestation, chip_message(record.nonce, record.landmark_id, record.chip_id)
        )
    except VerificationError as exc:
        raise VerificationError(
            f"chip {record.chip_id}'s signature in the measurement does not verify",
            {"chip_id": record.chip_id, "reason": "bad_chip_signature"},
        ) from exc
