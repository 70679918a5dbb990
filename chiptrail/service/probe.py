"""Use cases of location verification: landmarks, device keys, signed measurements, chip location.

Every HTTP route and CLI command of the probe capability ends in one function here. Each opens
one unit of work: parse, verify every signature, then store, so a refused batch leaves nothing.
Geometry is ``chiptrail.geoloc``'s; protocol checks are ``chiptrail.probe``'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from chiptrail.countries import parse_country
from chiptrail.errors import Conflict, InvalidInput, NotFound, VerificationError
from chiptrail.probe.attestation import AttestationScheme, DevicePublicKey
from chiptrail.probe.messages import MeasurementRecord, check_id, verify_measurement
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import ProbeRepository, as_utc
from chiptrail.types import ChipId, Country, LandmarkId

log = logging.getLogger(__name__)

ED25519_KEY_BYTES = 32
P384_POINT_BYTES = 97


@dataclass(frozen=True, slots=True)
class RegisteredLandmark:
    """A landmark the registry trusts: where it stands and the key it signs measurements with."""

    landmark_id: LandmarkId
    lat: float
    lon: float
    public_key: bytes
    country: Country | None = None
    uncertainty_km: float = 0.0
    registered_at: datetime | None = None

    def __post_init__(self) -> None:
        check_id(self.landmark_id, "landmark_id")
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise InvalidInput("lat must be in [-90, 90] and lon in [-180, 180]", {"field": "lat"})
        if len(self.public_key) != ED25519_KEY_BYTES:
            raise InvalidInput("landmark public key must be 32 bytes (Ed25519)")
        if not 0.0 <= self.uncertainty_km < 20_000.0:
            raise InvalidInput("uncertainty_km must be in [0, 20000)")


@dataclass(frozen=True, slots=True)
class RegisteredDeviceKey:
    """A chip's device key as registered, with what the device said about itself."""

    key: DevicePublicKey
    identity: Mapping[str, str] = field(default_factory=dict)
    registered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What ``submit_measurements`` stored."""

    stored: int
    measurement_ids: tuple[int, ...]


def _landmark_from_row(row: RowMapping) -> RegisteredLandmark:
    country = row["country"]
    registered = row["registered_at"]
    return RegisteredLandmark(
        landmark_id=LandmarkId(str(row["landmark_id"])),
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        public_key=bytes(row["public_key"]),
        country=Country(str(country)) if country else None,
        uncertainty_km=float(row["uncertainty_km"]),
        registered_at=as_utc(registered) if isinstance(registered, datetime) else None,
    )


def register_landmark(
    db: Database, landmark: RegisteredLandmark, now: datetime
) -> RegisteredLandmark:
    """Register a landmark; the same registration again is a no-op.

    Raises:
        Conflict: the id is taken by a landmark with another key or position.
        InvalidInput: unknown country code.
    """
    country = parse_country(landmark.country) if landmark.country else None
    with db.unit() as conn:
        repo = ProbeRepository(conn)
        existing = repo.landmark(landmark.landmark_id)
        if existing is not None:
            old = _landmark_from_row(existing)
            same = (old.lat, old.lon, old.public_key, old.country, old.uncertainty_km) == (
                landmark.lat,
                landmark.lon,
                landmark.public_key,
                country,
                landmark.uncertainty_km,
            )
            if not same:
                raise Conflict(
                    f"landmark {landmark.landmark_id} is registered with other coordinates or key",
                    {"landmark_id": landmark.landmark_id},
                )
            return old
        repo.insert_landmark(
            {
                "landmark_id": landmark.landmark_id,
                "lat": landmark.lat,
                "lon": landmark.lon,
                "country": country,
                "uncertainty_km": landmark.uncertainty_km,
                "public_key": landmark.public_key,
                "registered_at": now,
            }
        )
    return RegisteredLandmark(
        landmark.landmark_id,
        landmark.lat,
        landmark.lon,
        landmark.public_key,
        Country(country) if country else None,
        landmark.uncertainty_km,
        now,
    )


def list_landmarks(db: Database) -> list[RegisteredLandmark]:
    """Every registered landmark, by id."""
    with db.unit() as conn:
        return [_landmark_from_row(r) for r in ProbeRepository(conn).landmarks()]


def _check_device_key(scheme: AttestationScheme, public_key: bytes) -> None:
    size = ED25519_KEY_BYTES if scheme is AttestationScheme.ED25519 else P384_POINT_BYTES
    if len(public_key) != size:
        raise InvalidInput(f"a {scheme.value} public key is {size} bytes, got {len(public_key)}")


def _device_key_from_row(row: RowMapping) -> RegisteredDeviceKey:
    identity = json.loads(str(row["identity_json"]))
    registered = row["registered_at"]
    return RegisteredDeviceKey(
        key=DevicePublicKey(
            ChipId(str(row["chip_id"])),
            AttestationScheme(str(row["scheme"])),
            bytes(row["public_key"]),
        ),
        identity={str(k): str(v) for k, v in identity.items()},
        registered_at=as_utc(registered) if isinstance(registered, datetime) else None,
    )


def register_device_key(
    db: Database,
    key: DevicePublicKey,
    now: datetime,
    identity: Mapping[str, str] | None = None,
) -> RegisteredDeviceKey:
    """Register a chip's device key; the same key again is a no-op.

    Raises:
        Conflict: the chip already has another key (keys are not silently rotated).
        InvalidInput: the key has the wrong size for its scheme.
    """
    check_id(key.chip_id, "chip_id")
    _check_device_key(key.scheme, key.public_key)
    with db.unit() as conn:
        repo = ProbeRepository(conn)
        existing = repo.device_key(key.chip_id)
        if existing is not None:
            old = _device_key_from_row(existing)
            if old.key != key:
                raise Conflict(
                    f"chip {key.chip_id} already has another device key registered",
                    {"chip_id": key.chip_id},
                )
            return old
        repo.insert_device_key(
            {
                "chip_id": key.chip_id,
                "scheme": key.scheme.value,
                "public_key": key.public_key,
                "identity_json": json.dumps(dict(identity or {}), sort_keys=True),
                "registered_at": now,
            }
        )
    return RegisteredDeviceKey(key, dict(identity or {}), now)


def get_device_key(db: Database, chip_id: ChipId) -> RegisteredDeviceKey:
    """A chip's registered device key.

    Raises:
        NotFound: none registered.
    """
    with db.unit() as conn:
        row = ProbeRepository(conn).device_key(chip_id)
    if row is None:
        raise NotFound(f"chip {chip_id} has no registered device key", {"chip_id": chip_id})
    return _device_key_from_row(row)


def _verify_record(
    index: int,
    record: MeasurementRecord,
    landmarks: Mapping[str, RegisteredLandmark],
    keys: Mapping[str, DevicePublicKey],
) -> None:
    where = {"index": index, "chip_id": record.chip_id, "landmark_id": record.landmark_id}
    landmark = landmarks.get(record.landmark_id)
    if landmark is None:
        raise NotFound(f"record {index}: landmark {record.landmark_id} is not registered", where)
    key = keys.get(record.chip_id)
    if key is None:
        raise NotFound(f"record {index}: chip {record.chip_id} has no registered device key", where)
    if (key.scheme, key.public_key) != (record.scheme, record.device_public_key):
        raise VerificationError(
            f"record {index}: signed by another key than chip {record.chip_id}'s registered key",
            {**where, "reason": "wrong_key"},
        )
    try:
        verify_measurement(record, landmark.public_key)
    except VerificationError as exc:
        raise VerificationError(f"record {index}: {exc.message}", {**where, **exc.details}) from exc


def submit_measurements(
    db: Database,
    records: Sequence[MeasurementRecord],
    now: datetime,
    *,
    unsafe_register_unknown_keys: bool = False,
) -> SubmitResult:
    """Verify every record, then store the whole batch in one transaction (or nothing).

    Checks per record: the landmark is registered and signed it; the chip's attestation
    verifies and is under the chip's registered device key; the nonce was never stored.

    Args:
        unsafe_register_unknown_keys: trust on first use: a chip without a registered key gets
            the key its first verified record carries. Off by default; logs a warning.

    Raises:
        InvalidInput: empty batch.
        NotFound: unknown landmark or chip key.
        VerificationError: a signature fails or a key differs from the registered one.
        Conflict: a nonce repeats (in the batch or against stored measurements).
    """
    if not records:
        raise InvalidInput("no measurement records given")
    nonces = [r.nonce for r in records]
    if len(set(nonces)) != len(nonces):
        raise Conflict("the batch repeats a nonce: a measurement may be submitted once")
    try:
        with db.unit() as conn:
            repo = ProbeRepository(conn)
            landmarks: dict[str, RegisteredLandmark] = {}
            for lid in {r.landmark_id for r in records}:
                row = repo.landmark(lid)
                if row is not None:
                    landmarks[lid] = _landmark_from_row(row)
            keys: dict[str, DevicePublicKey] = {}
            new_keys: list[DevicePublicKey] = []
            for record in records:
                if record.chip_id in keys:
                    continue
                row = repo.device_key(record.chip_id)
                if row is not None:
                    keys[record.chip_id] = _device_key_from_row(row).key
                elif unsafe_register_unknown_keys:
                    log.warning("unsafe: registering chip %s's key on first use", record.chip_id)
                    key = DevicePublicKey(record.chip_id, record.scheme, record.device_public_key)
                    _check_device_key(key.scheme, key.public_key)
                    keys[record.chip_id] = key
                    new_keys.append(key)
            for index, record in enumerate(records):
                _verify_record(index, record, landmarks, keys)
            replayed = repo.existing_nonces(nonces)
            if replayed:
                raise Conflict(
                    f"{len(replayed)} measurement(s) were already submitted (same nonce)",
                    {"replayed": len(replayed)},
                )
            for key in new_keys:
                repo.insert_device_key(
                    {
                        "chip_id": key.chip_id,
                        "scheme": key.scheme.value,
                        "public_key": key.public_key,
                        "identity_json": "{}",
                        "registered_at": now,
                    }
                )
            ids = repo.insert_measurements([_measurement_row(r, now) for r in records])
    except IntegrityError as exc:  # a concurrent submission stored the same nonce first
        raise Conflict("a measurement in the batch was stored concurrently (same nonce)") from exc
    return SubmitResult(len(ids), tuple(ids))


def _measurement_row(record: MeasurementRecord, now: datetime) -> dict[str, object]:
    return {
        "chip_id": record.chip_id,
        "landmark_id": record.landmark_id,
        "nonce": record.nonce,
        "rtt_ns": record.rtt_ns,
        "issued_at": record.issued_at,
        "measured_at": record.measured_at,
        "scheme": record.scheme.value,
        "device_public_key": record.device_public_key,
        "chip_signature": record.chip_signature,
        "landmark_signature": record.landmark_signature,
        "received_at": now,
    }
