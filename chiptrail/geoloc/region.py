"""Region solver: intersect proven and likely disks for many targets at once.

No I/O. Works on (n_targets, n_landmarks) RTT matrices in chunks; no per-target Python loop in the
hot path. Each region is sampled on K meridian scanlines per pass (scanline.py: along a meridian
a disk is one latitude interval in closed form, so the region is exact in latitude and within a
stated tolerance in longitude, never smaller than the true one); each pass zooms the scanlines
onto the longitudes found. Country attribution is in attribution.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from chiptrail.errors import InvalidInput
from chiptrail.geoloc.attribution import region_countries
from chiptrail.geoloc.borders import BorderIndex, load_border_index
from chiptrail.geoloc.bounds import (
    EARTH_MODEL_MARGIN,
    Calibration,
    likely_radius_km,
    proven_radius_km,
)
from chiptrail.geoloc.landmarks import LandmarkSet
from chiptrail.geoloc.scanline import (
    Disks,
    Scan,
    Window,
    centroid,
    initial_window,
    merge,
    reach_km,
    solve,
    zoom,
)
from chiptrail.geoloc.sphere import FloatArray, to_unit_vectors
from chiptrail.types import Country

WIDENING_STEPS = (0.25, 0.5, 1.0)
"""When the likely disks do not meet, they are widened towards the proven ones by these shares."""
_SOLVE_ELEMENTS = 4_000_000
"""The solver works on sub-chunks whose (targets x scanlines x landmarks) arrays stay near the
CPU cache (~8 MB of float64)."""


class RegionStatus(StrEnum):
    """Outcome of solving one target's region."""

    OK = "ok"
    NO_DATA = "no_data"
    INCONSISTENT = "inconsistent"
    """The proven disks do not meet: a landmark lied or a measurement is wrong."""


@dataclass(frozen=True, slots=True)
class LocateOptions:
    """Knobs of the region solver.

    Attributes:
        grid_size: K, the meridian scanlines per target per pass (the longitude tolerance of a
            pass is half the window width over K; latitudes are exact).
        refine_passes: zoom passes after the first (each narrows the window to the longitudes
            found, shrinking the tolerance). The likely region starts from the proven region's
            zoomed window, so it gets one pass fewer.
        chunk_size: targets per chunk at most (also bounded by a memory budget).
        max_liars: the region is the set of points inside all but ``max_liars`` disks; > 0 keeps
            the proven region sound when up to that many landmarks lie about their position.
        earth_margin: relative margin of the spherical Earth model.
        with_countries: attribute countries (set False for pure geometry benchmarks).
    """

    grid_size: int = 24
    refine_passes: int = 1
    chunk_size: int = 4096
    max_liars: int = 0
    earth_margin: float = EARTH_MODEL_MARGIN
    with_countries: bool = True


@dataclass(frozen=True, slots=True)
class LocateResult:
    """Regions of many targets. Arrays have shape (n_targets,); row i is ``target_ids[i]``.

    Attributes:
        target_ids: the targets, in input order.
        lat_deg, lon_deg: point estimate (centroid of the sampled likely region); NaN if none.
        proven_radius_km: radius of a disk around the point estimate containing the whole proven
            region (an upper bound, sampling tolerance included).
        likely_radius_km: the same for the likely region.
        min_disk_km: the smallest proven disk radius (the tightest single landmark bound).
        binding_landmark: column of the landmark with the smallest proven disk (-1 if none).
        n_landmarks: landmarks with a measurement for the target.
        widened: share (0..1) by which likely disks were widened towards proven ones to meet.
        status: RegionStatus per target.
        proven_countries, likely_countries: every country the region meets (sorted ISO2).
        resolution_km: sampling tolerance of the final proven pass (regions may be over-
            approximated by about this much; never under-approximated).
    """

    target_ids: tuple[str, ...]
    lat_deg: FloatArray
    lon_deg: FloatArray
    proven_radius_km: FloatArray
    likely_radius_km: FloatArray
    min_disk_km: FloatArray
    binding_landmark: NDArray[np.int64]
    n_landmarks: NDArray[np.int64]
    widened: FloatArray
    status: tuple[RegionStatus, ...]
    proven_countries: tuple[tuple[Country, ...], ...]
    likely_countries: tuple[tuple[Country, ...], ...]
    resolution_km: FloatArray

    def __len__(self) -> int:
        return len(self.target_ids)

    def take(self, rows: NDArray[np.intp]) -> LocateResult:
        """The result restricted to ``rows`` (indexes into the targets, in the order given)."""
        idx = rows.tolist()
        return LocateResult(
            target_ids=tuple(self.target_ids[i] for i in idx),
            lat_deg=self.lat_deg[rows],
            lon_deg=self.lon_deg[rows],
            proven_radius_km=self.proven_radius_km[rows],
            likely_radius_km=self.likely_radius_km[rows],
            min_disk_km=self.min_disk_km[rows],
            binding_landmark=self.binding_landmark[rows],
            n_landmarks=self.n_landmarks[rows],
            widened=self.widened[rows],
            status=tuple(self.status[i] for i in idx),
            proven_countries=tuple(self.proven_countries[i] for i in idx),
            likely_countries=tuple(self.likely_countries[i] for i in idx),
            resolution_km=self.resolution_km[rows],
        )

    def row(self, i: int) -> dict[str, object]:
        """Row ``i`` as the JSON-ready dict of the ``locate`` output contract (DESIGN.md)."""
        return {
            "target_id": self.target_ids[i],
            "lat": _num(self.lat_deg[i]),
            "lon": _num(self.lon_deg[i]),
            "proven_countries": list(self.proven_countries[i]),
            "likely_countries": list(self.likely_countries[i]),
            "proven_radius_km": _num(self.proven_radius_km[i]),
            "likely_radius_km": _num(self.likely_radius_km[i]),
            "n_landmarks": int(self.n_landmarks[i]),
            "min_disk_km": _num(self.min_disk_km[i]),
            "status": self.status[i].value,
            "likely_widened": _num(self.widened[i]),
            "resolution_km": _num(self.resolution_km[i]),
        }


def _num(x: float | np.floating) -> float | None:
    v = float(x)
    return None if np.isnan(v) else round(v, 6)


def check_rtt_matrix(rtt_ms: NDArray[np.float64], n_landmarks: int) -> None:
    """Raise InvalidInput unless ``rtt_ms`` is (n_targets, n_landmarks) with values >= 0 or NaN."""
    if rtt_ms.ndim != 2 or rtt_ms.shape[1] != n_landmarks:
        raise InvalidInput(
            f"RTT matrix must have shape (n_targets, {n_landmarks}); got {rtt_ms.shape}",
            {"shape": list(rtt_ms.shape)},
        )
    if np.any(rtt_ms < 0) or np.any(np.isinf(rtt_ms)):
        raise InvalidInput("RTTs must be finite and >= 0 ms (NaN marks a missing value)", {})


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """Slim per-chunk output of locate_chunks (arrays of the chunk's targets)."""

    lat: FloatArray
    lon: FloatArray
    proven_reach: FloatArray
    likely_reach: FloatArray
    min_disk: FloatArray
    binding: NDArray[np.int64]
    n_lm: NDArray[np.int64]
    widened: FloatArray
    status: tuple[RegionStatus, ...]
    proven_countries: tuple[tuple[Country, ...], ...]
    likely_countries: tuple[tuple[Country, ...], ...]
    resolution: FloatArray


def countries_in_region(
    landmarks: LandmarkSet,
    radius_km: NDArray[np.float64],
    *,
    options: LocateOptions | None = None,
    borders: BorderIndex | None = None,
) -> tuple[tuple[Country, ...], ...]:
    """Every country that the intersection of disks meets, for many regions at once.

    Errs on the side of including: a country within the sampling tolerance (see
    LocateResult.resolution_km, and the raster cell of borders.py) of the region is listed.

    Args:
        landmarks: disk centres.
        radius_km: (n_regions, n_landmarks) radii in km; NaN = no disk.
        options: scanlines, passes and tolerated liars (``max_liars``).
        borders: country index (default: the offline index).

    Returns:
        One sorted tuple of ISO2 codes per region; empty when the disks do not meet.
    """
    opts = options or LocateOptions()
    radius = np.atleast_2d(np.asarray(radius_km, dtype=np.float64))
    n_lm = (~np.isnan(radius)).sum(axis=1)
    disks = Disks(
        to_unit_vectors(landmarks.lat_deg, landmarks.lon_deg),
        radius,
        np.minimum(opts.max_liars, np.maximum(n_lm - 1, 0)).astype(np.int64),
    )
    sc = solve(_first_window(landmarks, radius, opts), disks, opts.grid_size, opts.refine_passes)
    ok = np.asarray(sc.any_inside & (n_lm > 0))
    return region_countries(borders or load_border_index(), sc, ok)


def _first_window(lm: LandmarkSet, radius_km: FloatArray, opts: LocateOptions) -> Window:
    """A window holding the region: the union of the ``max_liars + 1`` smallest disks."""
    liars = min(opts.max_liars, max(len(lm) - 1, 0))
    return initial_window(np.radians(lm.lat_deg), np.radians(lm.lon_deg), radius_km, liars + 1)


def _solve_chunk(
    lm: LandmarkSet,
    lm_xyz: FloatArray,
    rtt: FloatArray,
    calibration: Calibration,
    opts: LocateOptions,
    borders: BorderIndex | None,
) -> ChunkResult:
    n = rtt.shape[0]
    valid = ~np.isnan(rtt)
    n_lm = valid.sum(axis=1).astype(np.int64)
    proven = proven_radius_km(rtt, lm.uncertainty_km, earth_margin=opts.earth_margin)
    likely = likely_radius_km(rtt, calibration, proven) + np.where(valid, lm.uncertainty_km, 0.0)
    likely = np.minimum(likely, proven)
    allowed = np.minimum(opts.max_liars, np.maximum(n_lm - 1, 0)).astype(np.int64)
    has = n_lm > 0
    p_inf = np.where(valid, proven, np.inf)
    binding = np.where(has, np.argmin(p_inf, axis=1), -1).astype(np.int64)
    min_disk = np.where(has, np.min(p_inf, axis=1), np.nan)
    k, passes = opts.grid_size, opts.refine_passes
    p_disks = Disks(lm_xyz, proven, allowed)
    ps = solve(_first_window(lm, proven, opts), p_disks, k, passes)
    l_passes = max(passes - 1, 0)
    p_ok = ps.any_inside & has
    # The likely region lies inside the proven one: start from the proven region's window.
    lwin = zoom(ps)
    ls = solve(lwin, Disks(lm_xyz, likely, allowed), k, l_passes)
    widened = np.zeros(n)
    for t in WIDENING_STEPS:
        empty = p_ok & ~ls.any_inside
        if not empty.any():
            break
        rows = np.flatnonzero(empty)
        wider = likely[rows] + t * (proven[rows] - likely[rows])
        sub = solve(lwin.take(rows), Disks(lm_xyz, wider, allowed[rows]), k, l_passes)
        ls = merge(ls, sub, rows)
        widened[rows] = t
    l_ok = ls.any_inside & p_ok
    lat, lon = centroid(ls)
    lat = np.where(l_ok, lat, np.nan)
    lon = np.where(l_ok, lon, np.nan)
    status = tuple(
        RegionStatus.NO_DATA if not h else (RegionStatus.OK if ok else RegionStatus.INCONSISTENT)
        for h, ok in zip(has.tolist(), p_ok.tolist(), strict=True)
    )
    empty_c: tuple[tuple[Country, ...], ...] = ((),) * n
    pc = lc = empty_c
    if opts.with_countries and borders is not None:
        pc = region_countries(borders, ps, p_ok)
        lc = region_countries(borders, ls, l_ok)
    return ChunkResult(
        lat=lat,
        lon=lon,
        proven_reach=_reach(ps, lat, lon, p_ok),
        likely_reach=_reach(ls, lat, lon, l_ok),
        min_disk=min_disk,
        binding=binding,
        n_lm=n_lm,
        widened=np.where(l_ok, widened, np.nan),
        status=status,
        proven_countries=pc,
        likely_countries=lc,
        resolution=np.where(p_ok, ps.delta_km, np.nan),
    )


def _reach(sc: Scan, lat: FloatArray, lon: FloatArray, ok: NDArray[np.bool_]) -> FloatArray:
    return np.where(ok, reach_km(sc, lat, lon), np.nan)


def locate_chunks(
    landmarks: LandmarkSet,
    rtt_chunks: Iterable[NDArray[np.float64]],
    calibration: Calibration | None = None,
    *,
    options: LocateOptions | None = None,
    borders: BorderIndex | None = None,
) -> Iterator[ChunkResult]:
    """Stream :func:`locate_targets` over RTT chunks (each (m, n_landmarks)); memory stays flat."""
    opts = options or LocateOptions()
    cal = calibration or Calibration.fallback(len(landmarks))
    if len(cal.slope_ms_per_km) != len(landmarks):
        raise InvalidInput("calibration must have one line per landmark", {})
    lm_xyz = to_unit_vectors(landmarks.lat_deg, landmarks.lon_deg)
    if opts.with_countries and borders is None:
        borders = load_border_index()
    per = max(1, min(opts.chunk_size, _SOLVE_ELEMENTS // (opts.grid_size * max(len(landmarks), 1))))
    for chunk in rtt_chunks:
        rtt = np.asarray(chunk, dtype=np.float64)
        check_rtt_matrix(rtt, len(landmarks))
        for s in range(0, rtt.shape[0], per):
            yield _solve_chunk(landmarks, lm_xyz, rtt[s : s + per], cal, opts, borders)


def locate_targets(
    landmarks: LandmarkSet,
    rtt_ms: NDArray[np.float64],
    calibration: Calibration | None = None,
    *,
    target_ids: Sequence[str] | None = None,
    options: LocateOptions | None = None,
    borders: BorderIndex | None = None,
) -> LocateResult:
    """Locate many targets from their RTTs to the landmarks.

    Args:
        landmarks: the landmark set; column j of ``rtt_ms`` is ``landmarks.landmarks[j]``.
        rtt_ms: float64 (n_targets, n_landmarks) minimum RTTs in ms; NaN = not measured.
        calibration: per-landmark likely lines (see calibrate_landmarks); None = fibre fallback.
        target_ids: names of the rows (default "0", "1", ...).
        options: solver knobs (grid size, passes, chunking, tolerated liars).
        borders: country index (default: the offline index from timezonefinder data).

    Returns:
        A LocateResult with one row per target.

    Raises:
        InvalidInput: on a malformed matrix (shape, negative or infinite RTTs).
    """
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    check_rtt_matrix(rtt, len(landmarks))
    ids = (
        tuple(str(t) for t in target_ids)
        if target_ids is not None
        else tuple(str(i) for i in range(rtt.shape[0]))
    )
    if len(ids) != rtt.shape[0]:
        raise InvalidInput("target_ids must have one id per RTT row", {})
    parts = list(locate_chunks(landmarks, [rtt], calibration, options=options, borders=borders))
    return concat_results(ids, parts)


def concat_results(ids: tuple[str, ...], parts: list[ChunkResult]) -> LocateResult:
    """Join the chunk outputs of locate_chunks into one LocateResult named by ``ids``."""

    def cat(name: str) -> FloatArray:
        arrs = [np.asarray(getattr(p, name), dtype=np.float64) for p in parts]
        return np.concatenate(arrs) if arrs else np.zeros(0)

    def icat(name: str) -> NDArray[np.int64]:
        arrs = [np.asarray(getattr(p, name), dtype=np.int64) for p in parts]
        return np.concatenate(arrs) if arrs else np.zeros(0, dtype=np.int64)

    return LocateResult(
        target_ids=ids,
        lat_deg=cat("lat"),
        lon_deg=cat("lon"),
        proven_radius_km=cat("proven_reach"),
        likely_radius_km=cat("likely_reach"),
        min_disk_km=cat("min_disk"),
        binding_landmark=icat("binding"),
        n_landmarks=icat("n_lm"),
        widened=cat("widened"),
        status=tuple(x for p in parts for x in p.status),
        proven_countries=tuple(x for p in parts for x in p.proven_countries),
        likely_countries=tuple(x for p in parts for x in p.likely_countries),
        resolution_km=cat("resolution"),
    )
