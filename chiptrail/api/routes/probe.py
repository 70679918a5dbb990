"""HTTP routes of location verification: landmarks, device keys, signed measurements, location.

Each route calls one function of ``chiptrail.service.location.probe`` or ``.intake`` (batches);
bodies are validated here and turned into core values. Signatures are checked in the service
before anything is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from chiptrail.api.auth import CallerDep
from chiptrail.api.deps import DatabaseDep
from chiptrail.countries import parse_country
from chiptrail.crypto import b64decode, b64encode
from chiptrail.errors import ChiptrailError, InvalidInput
from chiptrail.geoloc import DeclaredSite
from chiptrail.probe.attestation import DevicePublicKey, parse_scheme
from chiptrail.probe.messages import MeasurementRecord
from chiptrail.probe.wire import record_from_json
from chiptrail.service.location import intake
from chiptrail.service.location import probe as service
from chiptrail.types import ChipId, Country, LandmarkId

router = APIRouter(prefix="/v1", tags=["probe"])


class MeasurementRecordBody(BaseModel):
    """One landmark-signed measurement (the JSON line ``chiptrail agent run`` prints)."""

    model_config = ConfigDict(extra="forbid")

    chip_id: str = Field(min_length=1, max_length=200)
    landmark_id: str = Field(min_length=1, max_length=200)
    nonce: str = Field(description="Base64 of the landmark's 32-byte nonce.")
    rtt_ns: int = Field(ge=0, lt=2**63, description="Round trip on the landmark's monotonic clock.")
    rtt_ms: float | None = Field(None, description="Informative; rtt_ns is what is signed.")
    issued_at: str = Field(description="RFC 3339 UTC, when the challenge was sent.")
    measured_at: str = Field(description="RFC 3339 UTC, when the answer arrived.")
    scheme: str = Field(description="Device key scheme: ed25519 or nvidia-cc.")
    device_public_key: str = Field(description="Base64 device public key.")
    chip_signature: str = Field(description="Base64 Ed25519 signature or NVIDIA SPDM report.")
    landmark_signature: str = Field(description="Base64 Ed25519 signature of the landmark.")


class MeasurementBatch(BaseModel):
    """A batch of records: each is verified; the valid ones are stored (all or none with
    ``?atomic=true``)."""

    model_config = ConfigDict(extra="forbid")

    records: list[MeasurementRecordBody] = Field(min_length=1, max_length=intake.MAX_BATCH)


class RefusalOut(BaseModel):
    """One refused item: its index in the batch, the error code, message and details."""

    index: int
    code: str
    message: str
    details: dict[str, object]


class SubmitAnswer(BaseModel):
    """What was stored (ids in record order) and each refused record."""

    stored: int
    measurement_ids: list[int]
    refused: list[RefusalOut] = Field(default_factory=list)


class DeviceKeyItem(BaseModel):
    """One chip's device key in a bulk registration."""

    model_config = ConfigDict(extra="forbid")

    chip_id: str = Field(min_length=1, max_length=200)
    scheme: str = Field(description="ed25519 or nvidia-cc.")
    public_key: str = Field(description="Base64: Ed25519 raw 32 bytes or P-384 SEC1 point.")
    identity: dict[str, str] = Field(default_factory=dict, description="uuid, serial, board_id.")


class DeviceKeyBatch(BaseModel):
    """Device keys to register in one request."""

    model_config = ConfigDict(extra="forbid")

    device_keys: list[DeviceKeyItem] = Field(min_length=1, max_length=intake.MAX_BATCH)


class BulkAnswer(BaseModel):
    """Ids newly registered, ids already registered alike, and each refused item."""

    registered: list[str]
    unchanged: list[str]
    refused: list[RefusalOut]


class LandmarkBody(BaseModel):
    """A landmark to register: position, optional country and uncertainty, Ed25519 key."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    landmark_id: str = Field(min_length=1, max_length=100)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 of the landmark's site.")
    uncertainty_km: float = Field(0.0, ge=0, lt=20000)
    public_key: str = Field(description="Base64 raw 32-byte Ed25519 public key.")


class LandmarkBatch(BaseModel):
    """Landmarks to register in one request."""

    model_config = ConfigDict(extra="forbid")

    landmarks: list[LandmarkBody] = Field(min_length=1, max_length=intake.MAX_BATCH)


class LandmarkOut(BaseModel):
    """A registered landmark."""

    landmark_id: str
    lat: float
    lon: float
    country: str | None
    uncertainty_km: float
    public_key: str
    registered_at: datetime | None


class LandmarkList(BaseModel):
    """Every registered landmark."""

    landmarks: list[LandmarkOut]


class DeviceKeyBody(BaseModel):
    """A chip's device key: scheme, public key and what the device says about itself."""

    model_config = ConfigDict(extra="forbid")

    scheme: str = Field(description="ed25519 or nvidia-cc.")
    public_key: str = Field(description="Base64: Ed25519 raw 32 bytes or P-384 SEC1 point.")
    identity: dict[str, str] = Field(default_factory=dict, description="uuid, serial, board_id.")


class DeviceKeyOut(BaseModel):
    """A registered device key."""

    chip_id: str
    scheme: str
    public_key: str
    identity: dict[str, str]
    registered_at: datetime | None


def _landmark_out(lm: service.RegisteredLandmark) -> LandmarkOut:
    return LandmarkOut(
        landmark_id=lm.landmark_id,
        lat=lm.lat,
        lon=lm.lon,
        country=lm.country,
        uncertainty_km=lm.uncertainty_km,
        public_key=b64encode(lm.public_key),
        registered_at=lm.registered_at,
    )


AtomicQuery = Annotated[
    bool, Query(description="All or nothing: the first refused item refuses the whole batch.")
]


def _refusals(refused: tuple[intake.Refusal, ...]) -> list[RefusalOut]:
    return [RefusalOut(**r.to_json()) for r in refused]


def _parsed_record(body: MeasurementRecordBody) -> MeasurementRecord | ChiptrailError:
    try:
        return record_from_json(body.model_dump())
    except ChiptrailError as exc:
        return exc


@router.post("/measurements", status_code=status.HTTP_201_CREATED)
def submit_measurements(
    body: MeasurementBatch, db: DatabaseDep, atomic: AtomicQuery = False
) -> SubmitAnswer:
    """Verify every landmark and chip signature; store the valid records and list the refused
    ones by index (``?atomic=true``: all or nothing). When no record is accepted, the first
    refusal is the error (404 unknown key or landmark, 400 bad signature, 409 replay)."""
    records = [_parsed_record(r) for r in body.records]
    result = intake.submit_measurements(db, records, datetime.now(UTC), atomic=atomic)
    return SubmitAnswer(
        stored=result.stored,
        measurement_ids=list(result.measurement_ids),
        refused=_refusals(result.refused),
    )


def _bulk_answer(result: intake.BulkResult) -> BulkAnswer:
    return BulkAnswer(
        registered=list(result.registered),
        unchanged=list(result.unchanged),
        refused=_refusals(result.refused),
    )


def _device_key_item(item: DeviceKeyItem) -> service.RegisteredDeviceKey | ChiptrailError:
    try:
        key = DevicePublicKey(
            ChipId(item.chip_id), parse_scheme(item.scheme), b64decode(item.public_key)
        )
    except ChiptrailError as exc:
        return exc
    return service.RegisteredDeviceKey(key, item.identity)


@router.post("/chips/device-keys", status_code=status.HTTP_201_CREATED)
def register_device_keys(
    body: DeviceKeyBatch, db: DatabaseDep, atomic: AtomicQuery = False
) -> BulkAnswer:
    """Register many chips' device keys in one request (one rate-limit token for the batch)."""
    keys = [_device_key_item(item) for item in body.device_keys]
    return _bulk_answer(intake.register_device_keys(db, keys, datetime.now(UTC), atomic=atomic))


def _landmark_item(body: LandmarkBody) -> service.RegisteredLandmark | ChiptrailError:
    try:
        return service.RegisteredLandmark(
            landmark_id=LandmarkId(body.landmark_id),
            lat=body.lat,
            lon=body.lon,
            public_key=b64decode(body.public_key, "public_key"),
            country=Country(body.country) if body.country else None,
            uncertainty_km=body.uncertainty_km,
        )
    except ChiptrailError as exc:
        return exc


@router.post("/landmarks/batch", status_code=status.HTTP_201_CREATED)
def register_landmarks(
    body: LandmarkBatch, db: DatabaseDep, atomic: AtomicQuery = False
) -> BulkAnswer:
    """Register many landmarks in one request (admin)."""
    items = [_landmark_item(lm) for lm in body.landmarks]
    return _bulk_answer(intake.register_landmarks(db, items, datetime.now(UTC), atomic=atomic))


@router.get("/landmarks")
def list_landmarks(db: DatabaseDep) -> LandmarkList:
    """Every registered landmark with its position and public key."""
    return LandmarkList(landmarks=[_landmark_out(lm) for lm in service.list_landmarks(db)])


@router.post("/landmarks", status_code=status.HTTP_201_CREATED)
def register_landmark(body: LandmarkBody, db: DatabaseDep) -> LandmarkOut:
    """Register a landmark (409 when the id is taken with another position or key)."""
    landmark = service.RegisteredLandmark(
        landmark_id=LandmarkId(body.landmark_id),
        lat=body.lat,
        lon=body.lon,
        public_key=b64decode(body.public_key, "public_key"),
        country=Country(body.country) if body.country else None,
        uncertainty_km=body.uncertainty_km,
    )
    return _landmark_out(service.register_landmark(db, landmark, datetime.now(UTC)))


@router.post("/chips/{chip_id}/device-key", status_code=status.HTTP_201_CREATED)
def register_device_key(chip_id: str, body: DeviceKeyBody, db: DatabaseDep) -> DeviceKeyOut:
    """Register the chip's device key (409 when another key is registered)."""
    key = DevicePublicKey(
        ChipId(chip_id), parse_scheme(body.scheme), b64decode(body.public_key, "public_key")
    )
    stored = service.register_device_key(db, key, datetime.now(UTC), body.identity)
    return DeviceKeyOut(
        chip_id=stored.key.chip_id,
        scheme=stored.key.scheme.value,
        public_key=b64encode(stored.key.public_key),
        identity=dict(stored.identity),
        registered_at=stored.registered_at,
    )


@router.get("/chips/{chip_id}/location")
def get_chip_location(
    chip_id: str,
    db: DatabaseDep,
    caller: CallerDep,
    window_h: Annotated[
        float, Query(gt=0, le=8784, description="Hours of measurements before the latest one.")
    ] = 24.0,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="Declared site.")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Declared site.")] = None,
    country: Annotated[str | None, Query(description="ISO2 of the declared site.")] = None,
    radius_km: Annotated[
        float | None, Query(gt=0, description="VERIFIED within this distance of the site.")
    ] = None,
    min_landmarks: Annotated[int, Query(ge=1, le=1000)] = 1,
    max_age_h: Annotated[
        float | None, Query(gt=0, description="UNVERIFIED when the latest measurement is older.")
    ] = None,
) -> dict[str, object]:
    """Region, countries, verdict and evidence from the chip's latest measurements.

    The declared site is the ledger's when it knows one; otherwise ``lat``, ``lon`` and
    ``country`` (all three) name it. Without a site the verdict is UNVERIFIED.
    """
    given = [lat is not None, lon is not None, country is not None]
    if any(given) and not all(given):
        raise InvalidInput("give all of lat, lon and country for the declared site")
    site = None
    if lat is not None and lon is not None and country is not None:
        site = DeclaredSite(lat, lon, Country(parse_country(country)), radius_km)
    location = service.locate_chip(
        db,
        ChipId(chip_id),
        datetime.now(UTC),
        window_h=window_h,
        site=site,
        min_landmarks=min_landmarks,
        max_age_h=max_age_h,
        caller=caller,
    )
    return service.location_to_json(location)
