"""Device keys: a software Ed25519 key and NVIDIA GPU confidential-computing attestation.

Implements ``chiptrail.probe.attestation.DeviceKey``. The NVML module (``pynvml`` from the
``nvidia-ml-py`` package) is passed in, so tests hand a fake object with the same functions.
Reads key files; the protocol logic stays in ``chiptrail.probe``.
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chiptrail.crypto import Ed25519Signer, b64decode
from chiptrail.errors import InvalidInput, Unavailable, VerificationError
from chiptrail.probe.attestation import Attestation, AttestationScheme, nvidia_nonce
from chiptrail.types import ChipId

log = logging.getLogger(__name__)

NVML_CC_FEATURE_ENABLED = 1  # pynvml.NVML_CC_SYSTEM_FEATURE_ENABLED


class Nvml(Protocol):
    """The part of ``pynvml`` the agent uses (NVML's own names, as nvidia-ml-py spells them)."""

    NVMLError: type[Exception]

    def nvmlInit(self) -> None: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetUUID(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetSerial(self, handle: Any) -> str | bytes: ...
    def nvmlDeviceGetBoardId(self, handle: Any) -> int: ...
    def nvmlDeviceGetName(self, handle: Any) -> str | bytes: ...
    def nvmlSystemGetConfComputeState(self) -> Any: ...
    def nvmlDeviceGetConfComputeGpuCertificate(self, handle: Any) -> Any: ...
    def nvmlDeviceGetConfComputeGpuAttestationReport(self, handle: Any, nonce: bytes) -> Any: ...


def read_seed_file(path: Path) -> bytes:
    """Read a 32-byte Ed25519 seed written as 64 hex digits or base64 (one line).

    Raises:
        InvalidInput: missing file or not a 32-byte seed.
    """
    if not path.is_file():
        raise InvalidInput(f"{path}: no such key file", {"field": "key", "value": str(path)})
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        seed = bytes.fromhex(text) if len(text) == 64 else b64decode(text, "key")
    except (ValueError, binascii.Error, InvalidInput) as exc:
        raise InvalidInput(f"{path}: not a hex or base64 Ed25519 seed", {"field": "key"}) from exc
    if len(seed) != 32:
        raise InvalidInput(f"{path}: an Ed25519 seed is 32 bytes, found {len(seed)}")
    return seed


def write_seed_file(path: Path, seed: bytes) -> None:
    """Write ``seed`` as hex, readable only by the owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(seed.hex() + "\n", encoding="ascii")
    path.chmod(0o600)


@dataclass(frozen=True)
class SoftwareDeviceKey:
    """A software Ed25519 device key (tests, simulation, hosts without GPU attestation).

    The private key object is built once: signing sits inside the timed round trip, and
    rebuilding it from the seed on every signature would add to every RTT.
    """

    chip_id: ChipId
    signer: Ed25519Signer
    identity: Mapping[str, str] = field(default_factory=dict)
    _key: Ed25519PrivateKey = field(init=False, repr=False, compare=False)
    _public: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", Ed25519PrivateKey.from_private_bytes(self.signer.seed))
        object.__setattr__(self, "_public", self.signer.public_key)

    @property
    def scheme(self) -> AttestationScheme:
        """Always ``ed25519``."""
        return AttestationScheme.ED25519

    @property
    def public_key(self) -> bytes:
        """Raw 32-byte Ed25519 public key."""
        return self._public

    def attest(self, message: bytes) -> Attestation:
        """Ed25519 signature over ``message``."""
        return Attestation(self.scheme, self._public, self._key.sign(message))


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def read_gpu_identity(nvml: Nvml, handle: Any) -> dict[str, str]:
    """The GPU's UUID, serial number, board id and name as NVML reports them."""
    identity = {"uuid": _text(nvml.nvmlDeviceGetUUID(handle))}
    for key, read in (("serial", nvml.nvmlDeviceGetSerial), ("name", nvml.nvmlDeviceGetName)):
        try:
            identity[key] = _text(read(handle))
        except nvml.NVMLError as exc:  # NVMLError_NotSupported on some boards
            log.info("NVML could not read %s: %s", key, exc)
    try:
        identity["board_id"] = f"0x{int(nvml.nvmlDeviceGetBoardId(handle)):08x}"
    except nvml.NVMLError as exc:
        log.info("NVML could not read board id: %s", exc)
    return identity


def is_cc_enabled(nvml: Nvml) -> bool:
    """True when the system runs in confidential-computing mode (attestation available)."""
    try:
        state = nvml.nvmlSystemGetConfComputeState()
    except nvml.NVMLError as exc:  # older drivers lack the call
        log.info("NVML confidential-computing state unavailable: %s", exc)
        return False
    return int(getattr(state, "ccFeature", 0)) == NVML_CC_FEATURE_ENABLED


def attestation_public_key(cert_chain_pem: bytes) -> bytes:
    """The P-384 point (SEC1 uncompressed) of the leaf of the GPU's attestation certificate chain.

    Raises:
        VerificationError: no certificate, or its key is not P-384.
    """
    try:
        certs = x509.load_pem_x509_certificates(cert_chain_pem)
    except ValueError as exc:
        raise VerificationError("GPU attestation certificate chain is not PEM") from exc
    key = certs[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise VerificationError("GPU attestation key is not ECDSA P-384")
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class NvmlDeviceKey:
    """The GPU's own attestation key, reached through NVML (needs confidential-computing mode).

    ``attest`` hands NVML the SHA-256 of the bound message as the 32-byte SPDM nonce and
    returns the signed report. Not run on real hardware in this project's tests.
    """

    def __init__(self, nvml: Nvml, index: int = 0, chip_id: ChipId | None = None) -> None:
        self._nvml = nvml
        self._handle = nvml.nvmlDeviceGetHandleByIndex(index)
        self._identity = read_gpu_identity(nvml, self._handle)
        self._chip_id = chip_id or ChipId(self._identity["uuid"])
        cert = nvml.nvmlDeviceGetConfComputeGpuCertificate(self._handle)
        chain = bytes(cert.attestationCertChain[: cert.attestationCertChainSize])
        self._public_key = attestation_public_key(chain)

    @property
    def chip_id(self) -> ChipId:
        """The chip id (the GPU UUID unless given)."""
        return self._chip_id

    @property
    def scheme(self) -> AttestationScheme:
        """Always ``nvidia-cc``."""
        return AttestationScheme.NVIDIA_CC

    @property
    def public_key(self) -> bytes:
        """The attestation key's P-384 point."""
        return self._public_key

    @property
    def identity(self) -> Mapping[str, str]:
        """UUID, serial, board id, name."""
        return dict(self._identity)

    def attest(self, message: bytes) -> Attestation:
        """The GPU's SPDM attestation report over ``sha256(message)``."""
        report = self._nvml.nvmlDeviceGetConfComputeGpuAttestationReport(
            self._handle, nvidia_nonce(message)
        )
        data = bytes(report.attestationReport[: report.attestationReportSize])
        return Attestation(self.scheme, self._public_key, data)


def load_nvml() -> Nvml:
    """Import and initialise ``pynvml``.

    Raises:
        Unavailable: the package or the NVIDIA driver is missing.
    """
    try:
        import pynvml  # only agents on GPU hosts get here
    except ImportError as exc:
        raise Unavailable("NVML needs the nvidia-ml-py package") from exc
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:  # NVMLError_LibraryNotFound without a driver
        raise Unavailable(f"NVML is not available on this host: {exc}") from exc
    nvml: Nvml = pynvml
    return nvml


def open_device_key(
    chip_id: ChipId | None,
    seed: bytes | None,
    nvml: Nvml | None = None,
    index: int = 0,
) -> SoftwareDeviceKey | NvmlDeviceKey:
    """The device key an agent uses.

    With ``nvml``: the GPU's attestation key when confidential computing is on, else the
    software key carrying the GPU's NVML identity (and the GPU UUID as chip id when none given).

    Raises:
        InvalidInput: no key is available (no NVML attestation and no seed, or no chip id).
    """
    if nvml is not None:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        if is_cc_enabled(nvml):
            return NvmlDeviceKey(nvml, index, chip_id)
        identity = read_gpu_identity(nvml, handle)
        log.warning(
            "GPU %s is not in confidential-computing mode: signing with the software key",
            identity["uuid"],
        )
        if seed is None:
            raise InvalidInput("the GPU cannot attest (CC mode off): pass --key KEYFILE")
        return SoftwareDeviceKey(chip_id or ChipId(identity["uuid"]), Ed25519Signer(seed), identity)
    if seed is None or chip_id is None:
        raise InvalidInput("a software device key needs --chip-id and --key")
    return SoftwareDeviceKey(chip_id, Ed25519Signer(seed))
