"""Probe use cases on every database engine: register, verify-then-store, replay refusal."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chiptrail.crypto import Ed25519Signer
from chiptrail.errors import Conflict, InvalidInput, NotFound, VerificationError
from chiptrail.probe.agent import answer_challenge
from chiptrail.probe.attestation import AttestationScheme, DevicePublicKey
from chiptrail.probe.landmark import Landmark, LandmarkConfig
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.service.location.device_keys import SoftwareDeviceKey
from chiptrail.service.location.intake import submit_measurements
from chiptrail.service.location.probe import (
    RegisteredLandmark,
    get_device_key,
    list_landmarks,
    register_device_key,
    register_landmark,
)
from chiptrail.store.database import Database
from chiptrail.types import ChipId, Country, LandmarkId
from tests.probe.fakes import T0, seed

CHIP = SoftwareDeviceKey(ChipId("GPU-1"), Ed25519Signer(seed(2)))
LM_KEY = Ed25519Signer(seed(1))
SG = RegisteredLandmark(LandmarkId("lm-sg"), 1.29, 103.85, LM_KEY.public_key, Country("SG"))


def measure(
    n: int, landmark_key: Ed25519Signer = LM_KEY, chip: SoftwareDeviceKey = CHIP
) -> MeasurementRecord:
    lm = Landmark(LandmarkConfig(LandmarkId("lm-sg")), landmark_key)
    challenge = lm.issue_challenge(chip.chip_id, n.to_bytes(32, "big"), T0, 0)
    return lm.accept_response(answer_challenge(challenge, chip), 2_000_000 + n, T0)


def setup(db: Database) -> None:
    register_landmark(db, SG, T0)
    key = DevicePublicKey(CHIP.chip_id, AttestationScheme.ED25519, CHIP.public_key)
    register_device_key(db, key, T0, {"uuid": "GPU-1"})


def test_register_and_list_landmarks(database: Database) -> None:
    setup(database)
    again = register_landmark(database, SG, T0 + timedelta(days=1))
    assert again.registered_at == T0
    [stored] = list_landmarks(database)
    assert (stored.landmark_id, stored.country, stored.public_key) == (
        "lm-sg",
        "SG",
        LM_KEY.public_key,
    )
    moved = dataclasses.replace(SG, lat=2.0)
    with pytest.raises(Conflict):
        register_landmark(database, moved, T0)


def test_device_key_registration_is_not_silently_rotated(database: Database) -> None:
    setup(database)
    assert get_device_key(database, CHIP.chip_id).identity == {"uuid": "GPU-1"}
    other = DevicePublicKey(
        CHIP.chip_id, AttestationScheme.ED25519, Ed25519Signer(seed(9)).public_key
    )
    with pytest.raises(Conflict):
        register_device_key(database, other, T0)
    with pytest.raises(NotFound):
        get_device_key(database, ChipId("GPU-404"))
    with pytest.raises(InvalidInput):
        register_device_key(
            database, DevicePublicKey(ChipId("x"), AttestationScheme.NVIDIA_CC, b"1"), T0
        )


def test_atomic_batch_is_verified_then_stored_and_replays_refused(database: Database) -> None:
    setup(database)
    batch = [measure(1), measure(2)]
    result = submit_measurements(database, batch, T0, atomic=True)
    assert result.stored == 2
    assert result.refused == ()
    with pytest.raises(Conflict):
        submit_measurements(database, [measure(3), measure(1)], T0, atomic=True)
    # nothing of the refused batch landed: measure(3) is still new
    assert submit_measurements(database, [measure(3)], T0).stored == 1


def test_atomic_one_bad_record_refuses_the_whole_batch(database: Database) -> None:
    setup(database)
    forged = dataclasses.replace(measure(5), rtt_ns=1)
    with pytest.raises(VerificationError) as info:
        submit_measurements(database, [measure(4), forged], T0, atomic=True)
    assert info.value.details["index"] == 1
    assert submit_measurements(database, [measure(4)], T0).stored == 1


def test_partial_batch_stores_the_valid_records_and_names_each_refusal(
    database: Database,
) -> None:
    setup(database)
    submit_measurements(database, [measure(1)], T0)
    forged = dataclasses.replace(measure(5), rtt_ns=1)
    unknown = measure(6, chip=SoftwareDeviceKey(ChipId("GPU-9"), Ed25519Signer(seed(9))))
    batch = [measure(2), forged, measure(1), unknown, measure(3), measure(3)]
    result = submit_measurements(database, batch, T0)
    assert result.stored == 2
    assert len(result.measurement_ids) == 2
    assert [(r.index, r.code) for r in result.refused] == [
        (1, "verification_failed"),
        (2, "conflict"),
        (3, "not_found"),
        (5, "conflict"),
    ]
    assert result.refused[1].details["reason"] == "replayed"
    # what was stored is exactly the valid records: resubmitting them is refused as replays
    with pytest.raises(Conflict) as info:
        submit_measurements(database, [measure(2), measure(3)], T0)
    assert len(info.value.details["refused"]) == 2  # type: ignore[arg-type]


def test_a_record_the_edge_could_not_parse_is_refused_in_place(sqlite_database: Database) -> None:
    setup(sqlite_database)
    bad = InvalidInput("nonce: not base64", {"field": "nonce"})
    result = submit_measurements(sqlite_database, [bad, measure(1)], T0)
    assert result.stored == 1
    assert [(r.index, r.code, r.details["field"]) for r in result.refused] == [
        (0, "invalid_input", "nonce")
    ]
    with pytest.raises(InvalidInput):
        submit_measurements(sqlite_database, [bad, measure(2)], T0, atomic=True)


@pytest.mark.parametrize(
    ("record_factory", "error"),
    [
        (lambda: measure(7, landmark_key=Ed25519Signer(seed(8))), VerificationError),
        (
            lambda: measure(7, chip=SoftwareDeviceKey(ChipId("GPU-1"), Ed25519Signer(seed(9)))),
            VerificationError,
        ),
        (
            lambda: measure(7, chip=SoftwareDeviceKey(ChipId("GPU-9"), Ed25519Signer(seed(9)))),
            NotFound,
        ),
        (lambda: dataclasses.replace(measure(7), landmark_id=LandmarkId("lm-x")), NotFound),
    ],
    ids=["forged landmark key", "chip under another key", "unregistered chip", "unknown landmark"],
)
def test_refusals(
    sqlite_database: Database, record_factory: object, error: type[Exception]
) -> None:
    setup(sqlite_database)
    with pytest.raises(error):
        submit_measurements(sqlite_database, [record_factory()], T0)  # type: ignore[operator]


def test_duplicate_nonce_in_batch_and_empty_batch(sqlite_database: Database) -> None:
    setup(sqlite_database)
    with pytest.raises(Conflict):
        submit_measurements(sqlite_database, [measure(1), measure(1)], T0, atomic=True)
    with pytest.raises(InvalidInput):
        submit_measurements(sqlite_database, [], T0)


def test_unsafe_first_use_registers_the_key(sqlite_database: Database) -> None:
    register_landmark(sqlite_database, SG, T0)
    with pytest.raises(NotFound):
        submit_measurements(sqlite_database, [measure(1)], T0)
    submit_measurements(sqlite_database, [measure(1)], T0, unsafe_register_unknown_keys=True)
    assert get_device_key(sqlite_database, CHIP.chip_id).key.public_key == CHIP.public_key


def test_landmark_validation() -> None:
    with pytest.raises(InvalidInput):
        dataclasses.replace(SG, lat=91.0)
    with pytest.raises(InvalidInput):
        dataclasses.replace(SG, public_key=b"short")
    with pytest.raises(InvalidInput):
        dataclasses.replace(SG, uncertainty_km=-1.0)


def test_list_device_keys(sqlite_database: Database) -> None:
    from chiptrail.service.location.probe import list_device_keys

    assert list_device_keys(sqlite_database) == {}
    setup(sqlite_database)
    keys = list_device_keys(sqlite_database)
    assert list(keys) == ["GPU-1"]
    assert keys[ChipId("GPU-1")].public_key == CHIP.public_key


def _registry_reads(db: Database) -> list[str]:
    """Every SELECT on the landmark or device-key tables sent through ``db`` from now on."""
    from sqlalchemy import event

    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and (
            "chip_device_keys" in statement or "landmarks" in statement
        ):
            seen.append(statement)

    return seen


def test_registered_landmarks_and_keys_are_read_once_per_process(database: Database) -> None:
    setup(database)
    reads = _registry_reads(database)
    assert submit_measurements(database, [measure(1)], T0).stored == 1
    first = len(reads)
    assert first >= 1
    assert submit_measurements(database, [measure(2), measure(3)], T0).stored == 2
    assert len(reads) == first  # both were immutable rows already read: no query
    forged = dataclasses.replace(measure(4), landmark_signature=bytes(64))
    result = submit_measurements(database, [forged, measure(5)], T0)
    assert (result.stored, [r.code for r in result.refused]) == (1, ["verification_failed"])


def test_a_chip_unknown_at_first_is_found_once_registered(database: Database) -> None:
    setup(database)
    other = SoftwareDeviceKey(ChipId("GPU-2"), Ed25519Signer(seed(9)))
    with pytest.raises(NotFound):
        submit_measurements(database, [measure(1, chip=other)], T0)
    key = DevicePublicKey(other.chip_id, AttestationScheme.ED25519, other.public_key)
    register_device_key(database, key, T0)
    assert submit_measurements(database, [measure(1, chip=other)], T0).stored == 1
