"""Device keys: key files, and the NVML path against a fake NVML object passed in.

The fake implements the nvidia-ml-py functions the agent calls and signs real SPDM reports with
a fixed P-384 key. The real NVML path has not run on GPU hardware in this project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.errors import InvalidInput, Unavailable, VerificationError
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.attestation import AttestationScheme, verify_attestation
from chiptrail.probe.messages import Challenge, chip_message
from chiptrail.service.location.device_keys import (
    NvmlDeviceKey,
    SoftwareDeviceKey,
    attestation_public_key,
    load_nvml,
    open_device_key,
    read_seed_file,
    write_seed_file,
)
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import T0, p384_key, p384_point, seed, spdm_report


class FakeNvmlError(Exception):
    """Stands for pynvml.NVMLError."""


def self_signed_pem(n: int = 7) -> bytes:
    key = p384_key(n)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake GPU attestation key")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Struct:
    """Plays the ctypes structures NVML returns."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class FakeNvml:
    """The nvidia-ml-py functions the agent calls, for one GPU."""

    NVMLError = FakeNvmlError

    def __init__(self, cc_on: bool = True, serial_supported: bool = True) -> None:
        self.cc_on = cc_on
        self.serial_supported = serial_supported
        self.nonces: list[bytes] = []

    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"handle-{index}"

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return "GPU-8f2e1c3a-0000-4000-8000-000000000001"

    def nvmlDeviceGetSerial(self, handle: Any) -> bytes:
        if not self.serial_supported:
            raise FakeNvmlError("not supported")
        return b"1654922000123"

    def nvmlDeviceGetBoardId(self, handle: Any) -> int:
        return 0x1B00

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return "NVIDIA H100 80GB HBM3"

    def nvmlSystemGetConfComputeState(self) -> Struct:
        return Struct({"ccFeature": 1 if self.cc_on else 0})

    def nvmlDeviceGetConfComputeGpuCertificate(self, handle: Any) -> Struct:
        pem = self_signed_pem()
        buffer = list(pem) + [0] * 64
        return Struct({"attestationCertChain": buffer, "attestationCertChainSize": len(pem)})

    def nvmlDeviceGetConfComputeGpuAttestationReport(self, handle: Any, nonce: bytes) -> Struct:
        self.nonces.append(bytes(nonce))
        report = spdm_report(p384_key(7), bytes(nonce))
        return Struct(
            {"attestationReport": list(report) + [0] * 100, "attestationReportSize": len(report)}
        )


CHALLENGE = Challenge(LandmarkId("lm-sg"), bytes(range(32)), T0)


def test_nvml_key_reads_identity_and_attests_the_bound_nonce() -> None:
    nvml = FakeNvml()
    key = open_device_key(None, None, nvml)
    assert isinstance(key, NvmlDeviceKey)
    assert key.chip_id == "GPU-8f2e1c3a-0000-4000-8000-000000000001"
    assert key.identity == {
        "uuid": "GPU-8f2e1c3a-0000-4000-8000-000000000001",
        "serial": "1654922000123",
        "name": "NVIDIA H100 80GB HBM3",
        "board_id": "0x00001b00",
    }
    assert key.scheme is AttestationScheme.NVIDIA_CC
    assert key.public_key == p384_point(p384_key(7))
    response = answer_challenge(CHALLENGE, key)
    message = chip_message(CHALLENGE.nonce, "lm-sg", key.chip_id)
    verify_attestation(response.attestation, message)
    assert len(nvml.nonces) == 1
    assert (
        nvml.nonces[0] != CHALLENGE.nonce
    )  # the GPU signs sha256(bound message), not the raw nonce
    with pytest.raises(VerificationError):
        verify_attestation(
            response.attestation, chip_message(CHALLENGE.nonce, "lm-hk", key.chip_id)
        )


def test_cc_off_falls_back_to_software_key_with_gpu_identity() -> None:
    nvml = FakeNvml(cc_on=False, serial_supported=False)
    key = open_device_key(None, seed(2), nvml)
    assert isinstance(key, SoftwareDeviceKey)
    assert key.chip_id.startswith("GPU-8f2e")
    assert "serial" not in key.identity
    assert key.identity["board_id"] == "0x00001b00"
    with pytest.raises(InvalidInput):
        open_device_key(None, None, nvml)


def test_software_key_needs_chip_id_and_seed() -> None:
    key = open_device_key(ChipId("GPU-1"), seed(2), None)
    assert key.public_key == Ed25519Signer(seed(2)).public_key
    with pytest.raises(InvalidInput):
        open_device_key(None, seed(2), None)


def test_certificate_chain_must_hold_a_p384_key() -> None:
    assert attestation_public_key(self_signed_pem()) == p384_point(p384_key(7))
    with pytest.raises(VerificationError):
        attestation_public_key(b"not pem")


@pytest.mark.parametrize("form", ["hex", "base64"])
def test_seed_files_round_trip(tmp_path: Path, form: str) -> None:
    path = tmp_path / "chip.key"
    if form == "hex":
        write_seed_file(path, seed(3))
        assert path.stat().st_mode & 0o777 == 0o600
    else:
        path.write_text(b64encode(seed(3)) + "\n")
    assert read_seed_file(path) == seed(3)


@pytest.mark.parametrize("text", ["zz" * 32, "abcd", "!!!!"], ids=["bad-hex", "short", "garbage"])
def test_bad_seed_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(text)
    with pytest.raises(InvalidInput):
        read_seed_file(path)
    with pytest.raises(InvalidInput):
        read_seed_file(tmp_path / "missing.key")


def test_load_nvml_without_a_driver_is_unavailable() -> None:
    if Path("/proc/driver/nvidia").exists():
        pytest.skip("an NVIDIA driver is present: NVML would load")
    with pytest.raises(Unavailable):
        load_nvml()
