"""Measurement intake at fleet scale: signed records, device keys and landmarks in bulk.

Each public function is one unit of work. Lookups are one ``IN`` query per batch, rows go in with
one multi-row ``INSERT``, and the nonce's unique constraint (``ON CONFLICT DO NOTHING``) refuses
replays without a SELECT first. A batch either lands whole (``atomic=True``) or stores every
valid record and names each refused one with its reason. Landmarks and device keys are never
changed or removed once registered (a different key or position is refused with 409), so each
process keeps those it has read (``RegistryCache``, per database) and reads only the ones it has
not seen; signatures are checked outside any transaction, so no connection is held while a
batch verifies. Intake computes no location verdict:
``probe.locate_chip`` judges a chip once per round from all its stored records.
Signature maths is ``chiptrail.probe``'s; the SQL is ``store.geoloc_tables``'.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chiptrail.countries import parse_country
from chiptrail.errors import ChiptrailError, Conflict, InvalidInput
from chiptrail.probe.attestation import DevicePublicKey
from chiptrail.probe.messages import MeasurementRecord, check_id
from chiptrail.service.location.probe import (
    RegisteredDeviceKey,
    RegisteredLandmark,
    _check_device_key,
    _device_key_from_row,
    _landmark_from_row,
    _verify_record,
)
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import ProbeRepository
from chiptrail.types import Country

log = logging.getLogger(__name__)

MAX_BATCH = 10_000
"""Records, device keys or landmarks per call (an HTTP body is also capped at 1 MiB)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused item of a batch: its position, the error code and message, and details."""

    index: int
    code: str
    message: str
    details: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The wire form (HTTP and ``--json``)."""
        return {
            "index": self.index,
            "code": self.code,
            "message": self.message,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What ``submit_measurements`` stored (ids in record order) and what it refused."""

    stored: int
    measurement_ids: tuple[int, ...]
    refused: tuple[Refusal, ...] = ()


def refusal_of(index: int, exc: ChiptrailError) -> Refusal:
    """A refusal carrying ``exc``'s code, message and details."""
    return Refusal(index, exc.code, exc.message, {**exc.details, "index": index})


def _check_batch(n: int, what: str) -> None:
    if n == 0:
        raise InvalidInput(f"no {what} given")
    if n > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} {what} per batch: split it", {"count": n})


def _raise_all_refused(refused: Sequence[Refusal], errors: Mapping[int, ChiptrailError]) -> None:
    """Nothing was accepted: raise the first refusal's error (one-item batches as before)."""
    first = errors[refused[0].index]
    first.details.setdefault("refused", [r.to_json() for r in refused[:100]])
    raise first


# --- measurements ------------------------------------------------------------------------------

REGISTRY_CACHE_SIZE = 1_000_000
"""Landmarks and device keys one process keeps per database (cleared when full)."""


class RegistryCache:
    """Landmarks and device keys already read from one database.

    Safe to keep without expiry because a registered landmark or device key is never updated
    or deleted: registering another key or position under the same id is a conflict. Only
    committed rows are added (what a unit read), never keys registered by the batch itself.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.landmarks: dict[str, RegisteredLandmark] = {}
        self.keys: dict[str, DevicePublicKey] = {}

    def lookup(
        self, db: Database, landmark_ids: Iterable[str], chip_ids: Iterable[str]
    ) -> tuple[dict[str, RegisteredLandmark], dict[str, DevicePublicKey]]:
        """The registered landmarks and device keys among the ids (absent ones left out),
        reading from ``db`` only those not seen before, in one short unit."""
        landmark_ids, chip_ids = set(landmark_ids), set(chip_ids)
        with self._lock:
            landmarks = {i: self.landmarks[i] for i in landmark_ids if i in self.landmarks}
            keys = {c: self.keys[c] for c in chip_ids if c in self.keys}
        missing_landmarks, missing_keys = landmark_ids - set(landmarks), chip_ids - set(keys)
        if missing_landmarks or missing_keys:
            with db.unit() as conn:
                repo = ProbeRepository(conn)
                found_landmarks = {
                    str(r["landmark_id"]): _landmark_from_row(r)
                    for r in repo.landmarks_by_id(missing_landmarks)
                }
                found_keys = {
                    str(r["chip_id"]): _device_key_from_row(r).key
                    for r in repo.device_keys_by_chip(missing_keys)
                }
            landmarks.update(found_landmarks)
            keys.update(found_keys)
            with self._lock:
                if len(self.landmarks) + len(self.keys) > REGISTRY_CACHE_SIZE:
                    self.landmarks.clear()
                    self.keys.clear()
                self.landmarks.update(found_landmarks)
                self.keys.update(found_keys)
        return landmarks, keys


_CACHES: weakref.WeakKeyDictionary[Database, RegistryCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def registry_cache(db: Database) -> RegistryCache:
    """This process's ``RegistryCache`` of ``db`` (made on first use, gone with ``db``)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(db)
        if cache is None:
            cache = _CACHES[db] = RegistryCache()
        return cache


def submit_measurements(
    db: Database,
    records: Sequence[MeasurementRecord | ChiptrailError],
    now: datetime,
    *,
    atomic: bool = False,
    unsafe_register_unknown_keys: bool = False,
) -> SubmitResult:
    """Verify every record, store the valid ones in one transaction, refuse the rest by index.

    Checks per record: the landmark is registered and signed it; the chip's attestation verifies
    under the chip's registered device key; the nonce is new (in the batch and in the store).
    An item may already be an error (the edge could not parse it); it is refused in place.

    Args:
        atomic: store all or nothing: the first refusal raises and nothing is stored.
        unsafe_register_unknown_keys: trust on first use for chips without a key (logs a warning).

    Returns:
        What was stored (ids in record order) and every refusal (index, code, message).

    Raises:
        InvalidInput: empty or oversized batch.
        NotFound, VerificationError, Conflict: with ``atomic``, the first refused record's
            error; without it, only when every record was refused.
    """
    _check_batch(len(records), "measurement records")
    errors: dict[int, ChiptrailError] = {}
    valid: list[tuple[int, MeasurementRecord]] = []
    seen: set[bytes] = set()
    for i, item in enumerate(records):
        if isinstance(item, ChiptrailError):
            errors[i] = item
        elif item.nonce in seen:
            errors[i] = Conflict(
                f"record {i}: the batch repeats a nonce: a measurement may be submitted once",
                {"index": i, "reason": "nonce_repeated"},
            )
        else:
            seen.add(item.nonce)
            valid.append((i, item))
        if atomic and errors:
            raise errors[i]
    landmarks, keys = registry_cache(db).lookup(
        db, (r.landmark_id for _, r in valid), (r.chip_id for _, r in valid)
    )
    new_keys = _first_use_keys(valid, keys) if unsafe_register_unknown_keys else []
    accepted: list[tuple[int, MeasurementRecord]] = []
    for i, record in valid:
        try:
            _verify_record(i, record, landmarks, keys)
        except ChiptrailError as exc:
            if atomic:
                raise
            errors[i] = exc
            continue
        accepted.append((i, record))
    with db.unit() as conn:
        repo = ProbeRepository(conn)
        if new_keys:
            used = {r.chip_id for _, r in accepted}
            repo.insert_device_keys([_key_row(k, {}, now) for k in new_keys if k.chip_id in used])
        ids = repo.insert_new_measurements([_measurement_row(r, now) for _, r in accepted])
        stored: list[int] = []
        for i, record in accepted:
            if record.nonce in ids:
                stored.append(ids[record.nonce])
                continue
            errors[i] = Conflict(
                f"record {i}: already submitted (same nonce)",
                {"index": i, "reason": "replayed", "chip_id": record.chip_id},
            )
            if atomic:
                raise errors[i]  # rolls the unit back: nothing of the batch stays
        refused = tuple(refusal_of(i, errors[i]) for i in sorted(errors))
        if not stored:
            _raise_all_refused(refused, errors)
    return SubmitResult(len(stored), tuple(stored), refused)


def _first_use_keys(
    valid: Sequence[tuple[int, MeasurementRecord]], keys: dict[str, DevicePublicKey]
) -> list[DevicePublicKey]:
    new = []
    for _, record in valid:
        if record.chip_id in keys:
            continue
        log.warning("unsafe: registering chip %s's key on first use", record.chip_id)
        key = DevicePublicKey(record.chip_id, record.scheme, record.device_public_key)
        try:
            _check_device_key(key.scheme, key.public_key)
        except InvalidInput:
            continue  # the record is refused by verification (no key)
        keys[record.chip_id] = key
        new.append(key)
    return new


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


# --- device keys and landmarks in bulk ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk registration did: new items, items already registered alike, refusals."""

    registered: tuple[str, ...]
    unchanged: tuple[str, ...]
    refused: tuple[Refusal, ...]


def _key_row(key: DevicePublicKey, identity: Mapping[str, str], now: datetime) -> dict[str, object]:
    return {
        "chip_id": key.chip_id,
        "scheme": key.scheme.value,
        "public_key": key.public_key,
        "identity_json": json.dumps(dict(identity), sort_keys=True),
        "registered_at": now,
    }


def register_device_keys(
    db: Database,
    keys: Sequence[RegisteredDeviceKey | ChiptrailError],
    now: datetime,
    *,
    atomic: bool = False,
) -> BulkResult:
    """Register many chips' device keys in one transaction (the same key again is a no-op).

    Raises:
        InvalidInput: empty or oversized batch.
        Conflict, InvalidInput: with ``atomic``, the first refusal; otherwise only when every
            item was refused (a chip already has another key, a key of the wrong size, a chip
            named twice).
    """
    _check_batch(len(keys), "device keys")
    errors: dict[int, ChiptrailError] = {}
    wanted: dict[str, tuple[int, RegisteredDeviceKey]] = {}
    for i, item in enumerate(keys):
        try:
            if isinstance(item, ChiptrailError):
                raise item
            check_id(item.key.chip_id, "chip_id")
            _check_device_key(item.key.scheme, item.key.public_key)
            if item.key.chip_id in wanted:
                raise Conflict(f"chip {item.key.chip_id} is named twice in the batch")
            wanted[item.key.chip_id] = (i, item)
        except ChiptrailError as exc:
            if atomic:
                raise
            errors[i] = exc
    registered, unchanged = [], []
    with db.unit() as conn:
        repo = ProbeRepository(conn)
        stored = {
            str(r["chip_id"]): _device_key_from_row(r) for r in repo.device_keys_by_chip(wanted)
        }
        rows = []
        for chip_id, (i, item) in wanted.items():
            old = stored.get(chip_id)
            if old is None:
                rows.append(_key_row(item.key, item.identity, now))
                registered.append(chip_id)
            elif old.key == item.key:
                unchanged.append(chip_id)
            else:
                errors[i] = Conflict(
                    f"chip {chip_id} already has another device key registered",
                    {"chip_id": chip_id},
                )
                if atomic:
                    raise errors[i]
        repo.insert_device_keys(rows)
        refused = tuple(refusal_of(i, errors[i]) for i in sorted(errors))
        if not registered and not unchanged:
            _raise_all_refused(refused, errors)
    return BulkResult(tuple(registered), tuple(unchanged), refused)


def _landmark_row(lm: RegisteredLandmark, now: datetime) -> dict[str, object]:
    return {
        "landmark_id": lm.landmark_id,
        "lat": lm.lat,
        "lon": lm.lon,
        "country": lm.country,
        "uncertainty_km": lm.uncertainty_km,
        "public_key": lm.public_key,
        "registered_at": now,
    }


def _same_landmark(a: RegisteredLandmark, b: RegisteredLandmark) -> bool:
    return (a.lat, a.lon, a.public_key, a.country, a.uncertainty_km) == (
        b.lat,
        b.lon,
        b.public_key,
        b.country,
        b.uncertainty_km,
    )


def register_landmarks(
    db: Database,
    landmarks: Sequence[RegisteredLandmark | ChiptrailError],
    now: datetime,
    *,
    atomic: bool = False,
) -> BulkResult:
    """Register many landmarks in one transaction (the same registration again is a no-op).

    Raises:
        InvalidInput: empty or oversized batch.
        Conflict, InvalidInput: with ``atomic``, the first refusal; otherwise only when every
            item was refused (an id taken with another position or key, an unknown country).
    """
    _check_batch(len(landmarks), "landmarks")
    errors: dict[int, ChiptrailError] = {}
    wanted: dict[str, tuple[int, RegisteredLandmark]] = {}
    for i, item in enumerate(landmarks):
        try:
            if isinstance(item, ChiptrailError):
                raise item
            country = parse_country(item.country) if item.country else None
            lm = RegisteredLandmark(
                item.landmark_id,
                item.lat,
                item.lon,
                item.public_key,
                Country(country) if country else None,
                item.uncertainty_km,
            )
            if lm.landmark_id in wanted:
                raise Conflict(f"landmark {lm.landmark_id} is named twice in the batch")
            wanted[lm.landmark_id] = (i, lm)
        except ChiptrailError as exc:
            if atomic:
                raise
            errors[i] = exc
    registered, unchanged = [], []
    with db.unit() as conn:
        repo = ProbeRepository(conn)
        stored = {
            str(r["landmark_id"]): _landmark_from_row(r) for r in repo.landmarks_by_id(wanted)
        }
        rows = []
        for landmark_id, (i, lm) in wanted.items():
            old = stored.get(landmark_id)
            if old is None:
                rows.append(_landmark_row(lm, now))
                registered.append(landmark_id)
            elif _same_landmark(old, lm):
                unchanged.append(landmark_id)
            else:
                errors[i] = Conflict(
                    f"landmark {landmark_id} is registered with other coordinates or key",
                    {"landmark_id": landmark_id},
                )
                if atomic:
                    raise errors[i]
        repo.insert_landmarks(rows)
        refused = tuple(refusal_of(i, errors[i]) for i in sorted(errors))
        if not registered and not unchanged:
            _raise_all_refused(refused, errors)
    return BulkResult(tuple(registered), tuple(unchanged), refused)
