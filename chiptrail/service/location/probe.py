"""Use cases of location verification: landmarks, device keys, signed measurements, chip location.

Every HTTP route and CLI command of the probe capability ends in one function here. Each opens
one unit of work: parse, verify every signature, then store, so a refused batch leaves nothing.
Geometry is ``chiptrail.geoloc``'s; protocol checks are ``chiptrail.probe``'s.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.engine import RowMapping

from chiptrail.countries import parse_country
from chiptrail.crypto import check_public_key
from chiptrail.errors import Conflict, InvalidInput, NotFound, VerificationError
from chiptrail.geoloc import (
    DeclaredSite,
    LandmarkSet,
    LocateResult,
    LocationVerdict,
    disk_radii,
    judge_targets,
    locate_targets,
)
from chiptrail.geoloc import Landmark as GeoLandmark
from chiptrail.probe.attestation import AttestationScheme, DevicePublicKey
from chiptrail.probe.messages import MeasurementRecord, check_id, verify_measurement
from chiptrail.service.access import scope
from chiptrail.service.auth import Caller
from chiptrail.service.ledger.events import get_chip
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import ProbeRepository, as_utc
from chiptrail.types import ChipId, Country, LandmarkId, Verdict

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
    if scheme is AttestationScheme.ED25519:
        check_public_key(public_key)


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


def list_device_keys(db: Database) -> dict[ChipId, DevicePublicKey]:
    """Every registered device key by chip (a landmark's directory for ``--registered-only``)."""
    with db.unit() as conn:
        keys = [_device_key_from_row(r).key for r in ProbeRepository(conn).device_keys()]
    return {k.chip_id: k for k in keys}


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


# --- where is the chip ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LandmarkRtt:
    """The minimum RTT one landmark measured in the window, and how many measurements it had."""

    landmark_id: LandmarkId
    min_rtt_ms: float
    n_measurements: int
    last_measured_at: datetime


@dataclass(frozen=True, slots=True)
class LandmarkDisk:
    """The disks one landmark's minimum RTT allows: the chip is within ``proven_km`` of it (light
    speed), likely within ``likely_km`` (calibrated, widened as the region solver widened it)."""

    landmark_id: str
    rtt_ms: float
    proven_km: float
    likely_km: float


@dataclass(frozen=True, slots=True)
class ChipLocation:
    """A chip's proven/likely region from its latest measurements, judged against its site.

    Attributes:
        site: the declared site judged against (None: no site known, verdict UNVERIFIED).
        site_source: ``ledger`` or ``query`` (where the site came from), None without a site.
        window_start / window_end: measurements in this span count (the window ends at the
            chip's latest measurement).
        rtts: the minimum RTT per landmark that the verdict uses.
        region: the geoloc ``locate`` row (point estimate, radii, countries, status).
        verdict: geoloc's verdict with its evidence.
        verdict_id: the stored ``location_verdicts`` row.
        disks: the proven and likely disk around each measuring landmark (what a map draws).
    """

    chip_id: ChipId
    computed_at: datetime
    site: DeclaredSite | None
    site_source: str | None
    window_start: datetime | None
    window_end: datetime | None
    rtts: tuple[LandmarkRtt, ...]
    region: Mapping[str, object]
    verdict: LocationVerdict
    verdict_id: int
    disks: tuple[LandmarkDisk, ...] = ()


def declared_site_from_ledger(db: Database, chip_id: ChipId) -> DeclaredSite | None:
    """The site the custody ledger declares for ``chip_id`` (or for the server holding it)."""
    epc = chip_id
    for _ in range(4):  # chip -> board -> server -> rack
        try:
            state = get_chip(db, epc).state
        except NotFound:
            return None
        site = state.site
        if site is not None and site.lat is not None and site.lon is not None and site.country:
            return DeclaredSite(site.lat, site.lon, Country(site.country))
        if state.parent is None:
            return None
        epc = ChipId(state.parent)
    return None


def _min_rtts(rows: Sequence[RowMapping]) -> tuple[LandmarkRtt, ...]:
    best: dict[str, tuple[int, int, datetime]] = {}
    for row in rows:
        lid, rtt, at = str(row["landmark_id"]), int(row["rtt_ns"]), as_utc(row["measured_at"])
        old = best.get(lid)
        if old is None:
            best[lid] = (rtt, 1, at)
        else:
            best[lid] = (min(old[0], rtt), old[1] + 1, max(old[2], at))
    return tuple(
        LandmarkRtt(LandmarkId(lid), rtt / 1e6, n, at) for lid, (rtt, n, at) in sorted(best.items())
    )


def _unjudged(reason: str, located: LocateResult | None = None) -> LocationVerdict:
    """UNVERIFIED without a judgement (no data or no site), keeping the region when there is one."""
    if located is None:
        nan = float("nan")
        return LocationVerdict(Verdict.UNVERIFIED, reason, (), (), (), nan, nan, 0)
    return LocationVerdict(
        Verdict.UNVERIFIED,
        reason,
        (),
        located.proven_countries[0],
        located.likely_countries[0],
        float(located.lat_deg[0]),
        float(located.lon_deg[0]),
        int(located.n_landmarks[0]),
    )


def locate_chip(
    db: Database,
    chip_id: ChipId,
    now: datetime,
    *,
    window_h: float = 24.0,
    site: DeclaredSite | None = None,
    min_landmarks: int = 1,
    max_age_h: float | None = None,
    caller: Caller | None = None,
) -> ChipLocation:
    """Locate a chip from its latest measurements and judge it against its declared site.

    Takes the minimum RTT per landmark over the ``window_h`` hours ending at the chip's latest
    measurement, solves the region (``geoloc.locate_targets``) and judges it
    (``geoloc.judge_location``) against the ledger's declared site, or ``site`` when the ledger
    knows none. The verdict is stored in ``location_verdicts``.

    Args:
        max_age_h: when set, a chip whose latest measurement is older than this (before ``now``)
            is UNVERIFIED whatever its old measurements showed: withholding new measurements
            must not keep an old VERIFIED alive.
        caller: None for trusted local use; otherwise its party must reach the chip
            (``service.access.scope``).

    Raises:
        InvalidInput: ``window_h`` or ``max_age_h`` not positive.
        PermissionDenied: ``caller``'s party does not reach the chip.
    """
    if caller is not None:
        scope.require_asset(db, caller, chip_id)
    if not 0 < window_h <= 24 * 366:
        raise InvalidInput("window_h must be in (0, 8784] hours", {"field": "window_h"})
    if max_age_h is not None and not max_age_h > 0:
        raise InvalidInput("max_age_h must be positive", {"field": "max_age_h"})
    check_id(chip_id, "chip_id")
    ledger_site = declared_site_from_ledger(db, chip_id)
    chosen, source = (ledger_site, "ledger") if ledger_site else (site, "query" if site else None)
    with db.unit() as conn:
        repo = ProbeRepository(conn)
        end = repo.latest_measured_at(chip_id)
        start = None if end is None else end - timedelta(hours=window_h)
        rows = [] if end is None or start is None else repo.measurements(chip_id, start, end)
        rtts = _min_rtts(rows)
        known = {r["landmark_id"]: _landmark_from_row(r) for r in repo.landmarks()}
    region: dict[str, object] = {}
    disks: tuple[LandmarkDisk, ...] = ()
    if not rtts:
        verdict = _unjudged(f"no measurements of chip {chip_id}")
    else:
        landmarks = LandmarkSet.of(
            GeoLandmark(lm.landmark_id, lm.lat, lm.lon, lm.country, lm.uncertainty_km)
            for lm in (known[r.landmark_id] for r in rtts)
        )
        rtt_ms = np.array([[r.min_rtt_ms for r in rtts]], dtype=np.float64)
        located = locate_targets(landmarks, rtt_ms, target_ids=[chip_id])
        region = located.row(0)
        widened = float(np.nan_to_num(located.widened[0], nan=0.0))
        proven, likely = disk_radii(rtt_ms[0], landmarks.uncertainty_km, widened=widened)
        disks = tuple(
            LandmarkDisk(r.landmark_id, r.min_rtt_ms, float(p), float(lk))
            for r, p, lk in zip(rtts, proven.tolist(), likely.tolist(), strict=True)
        )
        age_h = (now - end).total_seconds() / 3600 if end is not None else 0.0
        if chosen is None:
            verdict = _unjudged("no declared site known: pass lat, lon and country", located)
        elif max_age_h is not None and age_h > max_age_h:
            reason = f"latest measurement is {age_h:.1f} h old, more than {max_age_h:g} h"
            verdict = _unjudged(reason, located)
        else:
            verdict = judge_targets(
                landmarks, rtt_ms, [chosen], located=located, min_landmarks=min_landmarks
            )[0]
    location = ChipLocation(
        chip_id, now, chosen, source, start, end, rtts, region, verdict, 0, disks
    )
    with db.unit() as conn:
        verdict_id = ProbeRepository(conn).insert_verdict(_verdict_row(location))
    return replace(location, verdict_id=verdict_id)


def location_to_json(location: ChipLocation) -> dict[str, object]:
    """The wire form of a location answer (HTTP and ``--json``)."""
    v = location.verdict
    site = location.site

    def num(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return {
        "chip_id": location.chip_id,
        "verdict": v.verdict.value,
        "reason": v.reason,
        "declared_site": None
        if site is None
        else {
            "lat": site.lat,
            "lon": site.lon,
            "country": site.country,
            "radius_km": site.radius_km,
            "source": location.site_source,
        },
        "proven_countries": list(v.proven_countries),
        "likely_countries": list(v.likely_countries),
        "region": dict(location.region),
        "evidence": [
            {
                "landmark_id": e.landmark_id,
                "rtt_ms": e.rtt_ms,
                "bound_km": e.bound_km,
                "distance_km": e.distance_km,
                "kind": e.kind,
            }
            for e in v.evidence
        ],
        "disks": [
            {
                "landmark_id": d.landmark_id,
                "rtt_ms": d.rtt_ms,
                "proven_km": num(d.proven_km),
                "likely_km": num(d.likely_km),
            }
            for d in location.disks
        ],
        "measurements": [
            {
                "landmark_id": r.landmark_id,
                "min_rtt_ms": r.min_rtt_ms,
                "n_measurements": r.n_measurements,
                "last_measured_at": r.last_measured_at.isoformat(),
            }
            for r in location.rtts
        ],
        "lat": num(v.lat),
        "lon": num(v.lon),
        "n_landmarks": v.n_landmarks,
        "window_start": None
        if location.window_start is None
        else location.window_start.isoformat(),
        "window_end": None if location.window_end is None else location.window_end.isoformat(),
        "computed_at": location.computed_at.isoformat(),
        "verdict_id": location.verdict_id,
    }


def _verdict_row(location: ChipLocation) -> dict[str, object]:
    site = location.site
    return {
        "chip_id": location.chip_id,
        "verdict": location.verdict.verdict.value,
        "computed_at": location.computed_at,
        "declared_lat": None if site is None else site.lat,
        "declared_lon": None if site is None else site.lon,
        "declared_country": None if site is None else site.country,
        "n_landmarks": location.verdict.n_landmarks,
        "evidence_json": json.dumps(
            {k: v for k, v in location_to_json(location).items() if k != "verdict_id"},
            sort_keys=True,
            default=str,
        ),
    }
