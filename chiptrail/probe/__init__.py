"""chiptrail.probe: the challenge/response protocol of location verification (no sockets).

Message formats and their canonical signed bytes, device-key attestations, and the landmark and
agent state machines. Time, nonces and keys come in as arguments; ``service/location/probe_net.py``
owns the sockets and the clocks.
"""

from chiptrail.probe.attestation import (
    Attestation,
    AttestationScheme,
    DeviceKey,
    DevicePublicKey,
    verify_attestation,
)
from chiptrail.probe.landmark import Landmark, LandmarkConfig, LandmarkCounters
from chiptrail.probe.messages import (
    Challenge,
    ChipResponse,
    MeasurementRecord,
    chip_message,
    measurement_message,
    sign_measurement,
    verify_measurement,
)

__all__ = [
    "Attestation",
    "AttestationScheme",
    "Challenge",
    "ChipResponse",
    "DeviceKey",
    "DevicePublicKey",
    "Landmark",
    "LandmarkConfig",
    "LandmarkCounters",
    "MeasurementRecord",
    "chip_message",
    "measurement_message",
    "sign_measurement",
    "verify_attestation",
    "verify_measurement",
]
