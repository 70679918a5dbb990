"""Canonical bytes, signatures over every field, and the JSON wire forms."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.probe.attestation import AttestationScheme
from chiptrail.probe.messages import (
    Challenge,
    MeasurementRecord,
    chip_message,
    sign_measurement,
    verify_measurement,
)
from chiptrail.probe.wire import (
    Hello,
    RecordMessage,
    Refusal,
    decode_datagram,
    encode_datagram,
    record_from_json,
    record_to_json,
)
from chiptrail.types import ChipId, LandmarkId
from tests.probe.fakes import T0, SoftKey, seed

LANDMARK = Ed25519Signer(seed(1))
CHIP = SoftKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))
NONCE = bytes(range(32))


def make_record() -> MeasurementRecord:
    message = chip_message(NONCE, "lm-sg", CHIP.chip_id)
    att = CHIP.attest(message)
    record = MeasurementRecord(
        chip_id=CHIP.chip_id,
        landmark_id=LandmarkId("lm-sg"),
        nonce=NONCE,
        rtt_ns=1_234_567,
        issued_at=T0,
        measured_at=T0 + timedelta(milliseconds=2),
        scheme=att.scheme,
        device_public_key=att.public_key,
        chip_signature=att.signature,
    )
    return sign_measurement(record, LANDMARK)


def test_chip_message_is_length_prefixed_and_injective() -> None:
    a = chip_message(NONCE, "ab", "c")
    b = chip_message(NONCE, "a", "bc")
    assert a != b
    assert a.startswith(b"\x00\x00\x00\x20chiptrail/probe/v1/chip-response")


def test_chip_message_known_answer() -> None:
    assert chip_message(bytes(32), "L", "C").hex() == (
        "00000020"
        + b"chiptrail/probe/v1/chip-response".hex()
        + "00000020"
        + "00" * 32
        + "00000001"
        + b"L".hex()
        + "00000001"
        + b"C".hex()
    )


def test_signed_record_verifies() -> None:
    record = make_record()
    verify_measurement(record, LANDMARK.public_key)
    assert record.rtt_ms == pytest.approx(1.234567)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("chip_id", ChipId("GPU-2")),
        ("landmark_id", LandmarkId("lm-hk")),
        ("nonce", bytes(32)),
        ("rtt_ns", 1_234_566),
        ("issued_at", T0 - timedelta(microseconds=1)),
        ("measured_at", T0 + timedelta(seconds=1)),
        ("device_public_key", Ed25519Signer(seed(3)).public_key),
        ("chip_signature", b"\x00" * 64),
    ],
    ids=lambda v: str(v)[:20],
)
def test_changing_any_signed_field_breaks_the_landmark_signature(field: str, value: object) -> None:
    forged = dataclasses.replace(make_record(), **{field: value})
    with pytest.raises(VerificationError) as info:
        verify_measurement(forged, LANDMARK.public_key)
    assert info.value.details["reason"] == "bad_landmark_signature"


def test_bad_chip_signature_is_named() -> None:
    good = make_record()
    forged_chip = dataclasses.replace(good, chip_signature=bytes(64))
    resigned = sign_measurement(forged_chip, LANDMARK)
    with pytest.raises(VerificationError) as info:
        verify_measurement(resigned, LANDMARK.public_key)
    assert info.value.details["reason"] == "bad_chip_signature"


def test_other_landmark_key_fails() -> None:
    with pytest.raises(VerificationError):
        verify_measurement(make_record(), Ed25519Signer(seed(9)).public_key)


def test_record_json_round_trip_keeps_signature_valid() -> None:
    record = make_record()
    again = record_from_json(record_to_json(record))
    assert again == record
    verify_measurement(again, LANDMARK.public_key)


@pytest.mark.parametrize(
    "message",
    [
        Hello(ChipId("GPU-1")),
        Challenge(LandmarkId("lm-sg"), NONCE, T0),
        Refusal("stale", "too late"),
    ],
    ids=["hello", "challenge", "refusal"],
)
def test_datagram_round_trip(message: object) -> None:
    assert decode_datagram(encode_datagram(message)) == message  # type: ignore[arg-type]


def test_record_datagram_round_trip() -> None:
    msg = RecordMessage(make_record())
    assert decode_datagram(encode_datagram(msg)) == msg


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1]",
        b'{"v": 2, "type": "hello", "chip_id": "x"}',
        b'{"v": 1, "type": "bogus"}',
        b'{"v": 1, "type": "hello", "chip_id": 5}',
        b'{"v": 1, "type": "challenge", "landmark_id": "l", "nonce": "AAAA", "issued_at": "x"}',
        b'{"v": 1, "type": "hello", "chip_id": "has space"}',
        b'{"v": 1, "type": "record", "record": []}',
        b"{" + b" " * 70_000 + b"}",
    ],
    ids=[
        "garbage",
        "array",
        "version",
        "type",
        "chip-id-int",
        "short-nonce",
        "space",
        "rec",
        "big",
    ],
)
def test_malformed_datagrams_are_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        decode_datagram(data)


def test_naive_times_and_negative_rtt_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Challenge(LandmarkId("l"), NONCE, T0.replace(tzinfo=None))
    with pytest.raises(InvalidInput):
        dataclasses.replace(make_record(), rtt_ns=-1)
    with pytest.raises(InvalidInput):
        dataclasses.replace(make_record(), measured_at=T0 - timedelta(seconds=1))


def test_scheme_wire_value() -> None:
    assert record_to_json(make_record())["scheme"] == AttestationScheme.ED25519 == "ed25519"


def test_times_need_an_offset_and_come_back_utc() -> None:
    from chiptrail.probe._canonical import format_time, parse_time

    with pytest.raises(InvalidInput):
        parse_time("2026-11-25T19:00:00", "issued_at")
    with pytest.raises(InvalidInput):
        parse_time("yesterday", "issued_at")
    at = parse_time("2026-11-25T20:00:00.5+01:00", "issued_at")
    assert format_time(at) == "2026-11-25T19:00:00.500000Z"


@pytest.mark.parametrize(
    ("field", "value"),
    [("rtt_ns", "12"), ("rtt_ns", True), ("nonce", 5), ("scheme", "rsa")],
    ids=["rtt-string", "rtt-bool", "nonce-int", "scheme"],
)
def test_record_fields_are_typed(field: str, value: object) -> None:
    obj = record_to_json(make_record())
    obj[field] = value
    with pytest.raises(InvalidInput):
        record_from_json(obj)
