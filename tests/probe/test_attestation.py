"""Device attestations: Ed25519 and NVIDIA SPDM reports (real ECDSA P-384, fixed keys)."""

from __future__ import annotations

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.probe.attestation import (
    Attestation,
    AttestationScheme,
    nvidia_nonce,
    parse_scheme,
    verify_attestation,
)
from chiptrail.probe.messages import chip_message
from tests.probe.fakes import p384_key, p384_point, seed, spdm_report

MESSAGE = chip_message(bytes(range(32)), "lm-sg", "GPU-1")


def nvidia(message: bytes, key_n: int = 7, report_key_n: int = 7) -> Attestation:
    report = spdm_report(p384_key(report_key_n), nvidia_nonce(message))
    return Attestation(AttestationScheme.NVIDIA_CC, p384_point(p384_key(key_n)), report)


def test_ed25519_attestation_verifies_and_binds_message() -> None:
    signer = Ed25519Signer(seed(2))
    att = Attestation(AttestationScheme.ED25519, signer.public_key, signer.sign(MESSAGE))
    verify_attestation(att, MESSAGE)
    with pytest.raises(VerificationError):
        verify_attestation(att, MESSAGE + b"x")


def test_nvidia_report_verifies() -> None:
    verify_attestation(nvidia(MESSAGE), MESSAGE)


def test_nvidia_report_over_other_nonce_fails() -> None:
    with pytest.raises(VerificationError, match="nonce"):
        verify_attestation(nvidia(MESSAGE), chip_message(bytes(32), "lm-sg", "GPU-1"))


def test_nvidia_report_signed_by_other_key_fails() -> None:
    with pytest.raises(VerificationError, match="signature"):
        verify_attestation(nvidia(MESSAGE, key_n=7, report_key_n=8), MESSAGE)


@pytest.mark.parametrize("index", [0, 1, 40, 60, -1], ids=["ver", "code", "resp", "body", "sig"])
def test_flipping_a_report_byte_fails(index: int) -> None:
    att = nvidia(MESSAGE)
    report = bytearray(att.signature)
    report[index] ^= 0x01
    with pytest.raises(VerificationError):
        verify_attestation(Attestation(att.scheme, att.public_key, bytes(report)), MESSAGE)


def test_short_report_and_bad_point_fail() -> None:
    with pytest.raises(VerificationError, match="short"):
        verify_attestation(Attestation(AttestationScheme.NVIDIA_CC, b"", b"\x00" * 10), MESSAGE)
    att = nvidia(MESSAGE)
    with pytest.raises(VerificationError, match="P-384"):
        verify_attestation(Attestation(att.scheme, b"\x04" + bytes(96), att.signature), MESSAGE)


def test_parse_scheme() -> None:
    assert parse_scheme("nvidia-cc") is AttestationScheme.NVIDIA_CC
    with pytest.raises(InvalidInput):
        parse_scheme("rsa")
