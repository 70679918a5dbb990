"""The chip agent's side: answer a challenge with the device key, check the landmark's record.

No sockets: ``service/location/probe_net.py`` sends and receives. The agent runs on the chip's host,
which the adversary may own, so nothing here is trusted by verifiers; it only keeps honest
agents from signing for the wrong landmark and from keeping a wrong record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.probe.attestation import DeviceKey
from chiptrail.probe.messages import (
    Challenge,
    ChipResponse,
    MeasurementRecord,
    chip_message,
    verify_measurement,
)
from chiptrail.types import LandmarkId


def answer_challenge(
    challenge: Challenge,
    device_key: DeviceKey,
    expected_landmarks: Collection[LandmarkId] | None = None,
) -> ChipResponse:
    """Sign ``(nonce, landmark id, chip id)`` with the device key.

    Args:
        expected_landmarks: when given, challenges from other landmark ids are refused.

    Raises:
        InvalidInput: the challenge names a landmark the agent did not ask.
    """
    if expected_landmarks is not None and challenge.landmark_id not in expected_landmarks:
        raise InvalidInput(f"challenge from unexpected landmark {challenge.landmark_id!r}")
    message = chip_message(challenge.nonce, challenge.landmark_id, device_key.chip_id)
    return ChipResponse(
        chip_id=device_key.chip_id,
        landmark_id=challenge.landmark_id,
        nonce=challenge.nonce,
        attestation=device_key.attest(message),
    )


def check_record(
    record: MeasurementRecord,
    response: ChipResponse,
    landmark_keys: Mapping[LandmarkId, bytes] | None = None,
) -> None:
    """Check that ``record`` measures ``response`` (and, given its key, the landmark signed it).

    Raises:
        VerificationError: the record is for another nonce, chip or landmark, or a signature fails.
    """
    same = (record.nonce, record.chip_id, record.landmark_id, record.chip_signature) == (
        response.nonce,
        response.chip_id,
        response.landmark_id,
        response.attestation.signature,
    )
    if not same:
        raise VerificationError("record does not match the answer sent", {"reason": "mismatch"})
    if landmark_keys is not None:
        key = landmark_keys.get(record.landmark_id)
        if key is None:
            raise VerificationError(f"no public key known for landmark {record.landmark_id}")
        verify_measurement(record, key)
