"""The landmark and agent state machines: timing, refusals and their counters."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import Conflict, InvalidInput, VerificationError
from chiptrail.probe.agent import answer_challenge, check_record
from chiptrail.probe.attestation import AttestationScheme, DevicePublicKey
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import verify_measurement
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import T0, SoftKey, seed

LM_ID = LandmarkId("lm-sg")
CHIP = SoftKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))
OTHER = SoftKey(ChipId("GPU-2"), Ed25519Signer(seed(3)))


def nonce(i: int) -> bytes:
    return i.to_bytes(32, "big")


def landmark(with_keys: bool = False, **config: int) -> Landmark:
    keys = None
    if with_keys:
        keys = {
            CHIP.chip_id: DevicePublicKey(CHIP.chip_id, AttestationScheme.ED25519, CHIP.public_key)
        }
    return Landmark(LandmarkConfig(LM_ID, **config), Ed25519Signer(seed(1)), keys)


def test_honest_round_is_timed_and_signed() -> None:
    lm = landmark(with_keys=True)
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, sent_ns=1_000)
    response = answer_challenge(challenge, CHIP, {LM_ID})
    record = lm.accept_response(response, received_ns=3_501_000, measured_at=T0)
    assert record.rtt_ns == 3_500_000
    assert record.rtt_ms == 3.5
    verify_measurement(record, lm.public_key)
    check_record(record, response, {LM_ID: lm.public_key})
    assert lm.counters.measured == 1
    assert lm.counters.refused == 0
    assert lm.outstanding == 0


def test_replay_is_refused_and_counted() -> None:
    lm = landmark()
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    response = answer_challenge(challenge, CHIP)
    lm.accept_response(response, 10, T0)
    with pytest.raises(Conflict):
        lm.accept_response(response, 20, T0)
    assert lm.counters.replayed == 1
    assert lm.counters.measured == 1


def test_foreign_nonce_is_refused() -> None:
    lm = landmark()
    other = landmark()
    challenge = other.issue_challenge(CHIP.chip_id, nonce(5), T0, 0)
    with pytest.raises(VerificationError) as info:
        lm.accept_response(answer_challenge(challenge, CHIP), 10, T0)
    assert info.value.details["reason"] == "foreign"
    assert lm.counters.foreign == 1


def test_answer_from_another_chip_than_challenged_is_foreign() -> None:
    lm = landmark()
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    with pytest.raises(VerificationError):
        lm.accept_response(answer_challenge(challenge, OTHER), 10, T0)
    assert lm.counters.foreign == 1


def test_late_answer_is_stale() -> None:
    lm = landmark(challenge_ttl_ns=1_000_000)
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    with pytest.raises(VerificationError):
        lm.accept_response(answer_challenge(challenge, CHIP), 1_000_001, T0)
    assert lm.counters.stale == 1


def test_answer_after_expiry_is_stale_not_foreign() -> None:
    lm = landmark(challenge_ttl_ns=1_000)
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    assert lm.expire_challenges(now_ns=500) == 0
    assert lm.expire_challenges(now_ns=5_000) == 1
    with pytest.raises(VerificationError):
        lm.accept_response(answer_challenge(challenge, CHIP), 6_000, T0)
    assert lm.counters.stale == 1
    assert lm.counters.dropped == 1


def test_wrong_key_and_unknown_chip_are_refused_with_a_directory() -> None:
    lm = landmark(with_keys=True)
    impostor = SoftKey(CHIP.chip_id, Ed25519Signer(seed(4)))
    c1 = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    with pytest.raises(VerificationError):
        lm.accept_response(answer_challenge(c1, impostor), 10, T0)
    with pytest.raises(VerificationError):  # no challenge is spent on an unknown chip
        lm.issue_challenge(OTHER.chip_id, nonce(2), T0, 0)
    assert (lm.counters.wrong_key, lm.counters.unknown_chip, lm.counters.issued) == (1, 1, 1)


def test_chip_removed_from_the_directory_after_its_challenge_is_refused() -> None:
    keys = {CHIP.chip_id: DevicePublicKey(CHIP.chip_id, AttestationScheme.ED25519, CHIP.public_key)}
    lm = Landmark(LandmarkConfig(LM_ID), Ed25519Signer(seed(1)), keys)
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    del keys[CHIP.chip_id]  # the directory is live: a revoked key stops counting at once
    with pytest.raises(VerificationError):
        lm.accept_response(answer_challenge(challenge, CHIP), 10, T0)
    assert lm.counters.unknown_chip == 1


def test_bad_signature_is_refused() -> None:
    lm = landmark()
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    response = answer_challenge(challenge, CHIP)
    forged = dataclasses.replace(
        response, attestation=dataclasses.replace(response.attestation, signature=bytes(64))
    )
    with pytest.raises(VerificationError):
        lm.accept_response(forged, 10, T0)
    assert lm.counters.bad_signature == 1
    # the nonce is consumed: the honest answer afterwards is a replay
    with pytest.raises(Conflict):
        lm.accept_response(response, 20, T0)


def test_outstanding_challenges_are_bounded() -> None:
    lm = landmark(max_outstanding=2)
    for i in range(5):
        lm.issue_challenge(CHIP.chip_id, nonce(i), T0, i)
    assert lm.outstanding == 2
    assert lm.counters.dropped == 3


def test_reused_nonce_from_the_landmark_rng_is_refused() -> None:
    lm = landmark()
    lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    with pytest.raises(InvalidInput):
        lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)


def test_agent_refuses_unexpected_landmark_and_mismatched_record() -> None:
    lm = landmark()
    challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, 0)
    with pytest.raises(InvalidInput):
        answer_challenge(challenge, CHIP, {LandmarkId("lm-hk")})
    response = answer_challenge(challenge, CHIP)
    record = lm.accept_response(response, 10, T0 + timedelta(seconds=1))
    other = dataclasses.replace(response, nonce=nonce(9))
    with pytest.raises(VerificationError):
        check_record(record, other)
    with pytest.raises(VerificationError):
        check_record(record, response, {})


def test_bad_config_is_refused() -> None:
    with pytest.raises(InvalidInput):
        LandmarkConfig(LM_ID, challenge_ttl_ns=0)


def test_counters_to_json_names_every_reason() -> None:
    keys = set(landmark().counters.to_json())
    assert {"replayed", "stale", "foreign", "bad_signature", "wrong_key", "unknown_chip"} <= keys


@settings(max_examples=50, deadline=None)
@given(
    sent_ns=st.integers(0, 10**15),
    base_ns=st.integers(0, 10**8),
    extra_ns=st.integers(0, 10**9),
)
def test_added_delay_never_shortens_the_measured_rtt(
    sent_ns: int, base_ns: int, extra_ns: int
) -> None:
    """Whatever a relay adds is added to rtt_ns, and so to the proven bound c * rtt / 2."""
    rtts = []
    for delay in (0, extra_ns):
        lm = landmark()
        challenge = lm.issue_challenge(CHIP.chip_id, nonce(1), T0, sent_ns)
        received = sent_ns + base_ns + delay
        rtts.append(lm.accept_response(answer_challenge(challenge, CHIP), received, T0).rtt_ns)
    assert rtts[1] - rtts[0] == extra_ns
    assert rtts[1] >= rtts[0]
