"""Region solver: intersect proven and likely disks for many targets at once, on a sampled grid.

No I/O. Works on (n_targets, n_landmarks) RTT matrices in chunks; no per-target Python loop in the
hot path. Country attribution is delegated to borders.py.

How a region is sampled (and why it is sound): every target gets a K x K grid in an azimuthal-
equidistant plane centred on its tightest landmark. A grid point counts as "in the region" when it
lies within ``radius + delta`` of every landmark, where ``delta`` is half the grid cell diagonal.
Any true region point is within ``delta`` of a grid point (the projection never shrinks distances),
so that grid point is counted: the sampled region is never smaller than the true one. Each pass
zooms the grid onto the bounding box of the counted points, shrinking ``delta``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from chiptrail.errors import InvalidInput
from chiptrail.geoloc.borders import (
    KM_PER_DEG,
    BorderIndex,
    cell_country_keys,
    keys_to_countries,
    load_border_index,
)
from chiptrail.geoloc.bounds import (
    EARTH_MODEL_MARGIN,
    Calibration,
    likely_radius_km,
    proven_radius_km,
)
from chiptrail.geoloc.landmarks import LandmarkSet
from chiptrail.geoloc.sphere import (
    EARTH_RADIUS_KM,
    HALF_CIRCUMFERENCE_KM,
    FloatArray,
    from_unit_vectors,
    great_circle_km,
    to_unit_vectors,
)
from chiptrail.types import Country

WIDENING_STEPS = (0.25, 0.5, 1.0)
"""When the likely disks do not meet, they are widened towards the proven ones by these shares."""
NUMERIC_SLACK_KM = 0.01
"""Added to every sampling tolerance: float64 dot products resolve angles to ~10 cm only."""
_ELEMENT_BUDGET = 8_000_000
"""Chunks are sized so that one (targets x grid x landmarks) float64 array stays under ~64 MB."""
_SOLVE_ELEMENTS = 2_000_000
"""The solver works on sub-chunks whose (targets x grid x landmarks) arrays stay near the CPU
cache (~16 MB of float64): 1.6x faster than 64 MB arrays, and the same results."""


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
        grid_size: K, the grid is K x K points per target per pass.
        refine_passes: zoom passes after the first (each shrinks the grid spacing).
        chunk_size: targets per chunk at most (also bounded by a memory budget).
        max_liars: the region is the set of points inside all but ``max_liars`` disks; > 0 keeps
            the proven region sound when up to that many landmarks lie about their position.
        earth_margin: relative margin of the spherical Earth model.
        with_countries: attribute countries (set False for pure geometry benchmarks).
    """

    grid_size: int = 16
    refine_passes: int = 2
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
            region (an upper bound, grid resolution included).
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


@dataclass(frozen=True, slots=True)
class _Grid:
    """Sampled region of a chunk: points (n, P) and per-target tolerance delta (n,).

    Points are kept in each row's local frame, coordinates first: ``local[:, :, p] =
    (cos d, s x, s y)`` with ``s = sin(d) / rho``, so that the unit vector of a point is
    ``local[:, :, p] @ frame`` (frame rows: centre, east, north). Linear quantities (dots with a
    fixed vector, sums) never need the per-point unit vectors.
    """

    local: FloatArray
    frame: FloatArray
    inside: NDArray[np.bool_]
    delta_km: FloatArray
    x: FloatArray
    y: FloatArray

    @property
    def xyz(self) -> FloatArray:
        """Unit vectors (n, P, 3) of the grid points."""
        return np.asarray(np.matmul(self.local.transpose(0, 2, 1), self.frame))


def check_rtt_matrix(rtt_ms: NDArray[np.float64], n_landmarks: int) -> None:
    """Raise InvalidInput unless ``rtt_ms`` is (n_targets, n_landmarks) with values >= 0 or NaN."""
    if rtt_ms.ndim != 2 or rtt_ms.shape[1] != n_landmarks:
        raise InvalidInput(
            f"RTT matrix must have shape (n_targets, {n_landmarks}); got {rtt_ms.shape}",
            {"shape": list(rtt_ms.shape)},
        )
    if np.any(rtt_ms < 0) or np.any(np.isinf(rtt_ms)):
        raise InvalidInput("RTTs must be finite and >= 0 ms (NaN marks a missing value)", {})


def _cos_threshold(radius_km: FloatArray) -> FloatArray:
    """cos of the angular radius; -inf for missing (NaN) radii so that the test always passes."""
    ang = np.minimum(radius_km, HALF_CIRCUMFERENCE_KM) / EARTH_RADIUS_KM
    c = np.cos(ang)
    c = np.where(radius_km >= HALF_CIRCUMFERENCE_KM, -np.inf, c)
    return np.where(np.isnan(radius_km), -np.inf, c)


def _sample(
    frame: FloatArray,
    box: FloatArray,
    caps: _Caps,
    allowed: NDArray[np.int64],
    k: int,
) -> _Grid:
    """One pass: K x K grid over ``box`` (n, 4: x0, x1, y0, y1 km) tested against the disks.

    A point's dot with a disk centre L is ``local . (frame @ L)``: one small matrix per row and
    disk, then one (k x 3) @ (3 x P) product per row, with no per-point unit vectors (disks
    first, so that the test over disks combines contiguous rows of P points).
    """
    u = (np.arange(k) + 0.5) / k
    sx = box[:, 1] - box[:, 0]
    sy = box[:, 3] - box[:, 2]
    gx = box[:, :1] + sx[:, None] * u[None, :]
    gy = box[:, 2:3] + sy[:, None] * u[None, :]
    x = np.repeat(gx, k, axis=1)
    y = np.tile(gy, (1, k))
    local = _plane_to_local(gx, gy, x, y)
    delta = 0.5 * np.hypot(sx, sy) / k + NUMERIC_SLACK_KM
    thr = _cos_threshold(caps.radius_km + delta[:, None]) - 1e-12
    m = np.matmul(caps.xyz, frame.transpose(0, 2, 1))
    dots = np.matmul(m, local)
    # Missing disks have threshold -inf and never miss; a point may miss ``allowed`` disks.
    miss = dots < thr[:, :, None]
    if not allowed.any():
        inside = ~np.any(miss, axis=1)
    else:
        inside = np.count_nonzero(miss, axis=1) <= allowed[:, None]
    return _Grid(local, frame, inside, delta, x, y)


def _frame_of(lat0: FloatArray, lon0: FloatArray) -> FloatArray:
    """(n, 3, 3) rows: unit vectors of the centre, local east and local north."""
    p, lam = np.radians(lat0), np.radians(lon0)
    sp, cp, sl, cl = np.sin(p), np.cos(p), np.sin(lam), np.cos(lam)
    c = np.stack([cp * cl, cp * sl, sp], axis=-1)
    e = np.stack([-sl, cl, np.zeros_like(sl)], axis=-1)
    nv = np.stack([-sp * cl, -sp * sl, cp], axis=-1)
    return np.stack([c, e, nv], axis=1)


def _plane_to_local(gx: FloatArray, gy: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Local-frame coordinates (n, 3, P) of azimuthal-equidistant plane points (x east, y north,
    km): ``(cos d, sin(d) / d * x / R, sin(d) / d * y / R)``, the same points as
    sphere.destination_points once multiplied by the frame (two trig calls per point).

    ``gx``, ``gy`` (n, K) are the grid's axes (``x``, ``y`` their (n, K * K) product), so the
    squared radius is one broadcast sum (a square root instead of a slower hypot per point).
    """
    n = x.shape[0]
    rho = np.sqrt((gx[:, :, None] ** 2 + gy[:, None, :] ** 2).reshape(n, -1))
    d = rho / EARTH_RADIUS_KM
    scale = np.full_like(rho, 1.0 / EARTH_RADIUS_KM)
    np.divide(np.sin(d), rho, out=scale, where=rho > 0)
    out = np.empty((x.shape[0], 3, x.shape[1]))
    out[:, 0] = np.cos(d)
    np.multiply(scale, x, out=out[:, 1])
    np.multiply(scale, y, out=out[:, 2])
    return out


def _zoom(grid: _Grid, k: int) -> FloatArray:
    """Bounding box (x0, x1, y0, y1) of the inside points, grown by half a cell on each side."""
    half_x = (grid.x[:, k] - grid.x[:, 0]) / 2.0 if k > 1 else grid.delta_km
    half_y = (grid.y[:, 1] - grid.y[:, 0]) / 2.0 if k > 1 else grid.delta_km
    big = np.where(grid.inside, 0.0, np.inf)
    x0 = np.min(grid.x + big, axis=1) - half_x
    x1 = np.max(grid.x - big, axis=1) + half_x
    y0 = np.min(grid.y + big, axis=1) - half_y
    y1 = np.max(grid.y - big, axis=1) + half_y
    box = np.stack([x0, x1, y0, y1], axis=1)
    return np.where(np.isfinite(box), box, 0.0)


def _solve(
    lat0: FloatArray,
    lon0: FloatArray,
    box: FloatArray,
    radius_km: FloatArray,
    lm_xyz: FloatArray,
    allowed: NDArray[np.int64],
    opts: LocateOptions,
) -> tuple[_Grid, _Caps]:
    """First pass plus zoom passes; returns the last grid (empty rows stay empty) and the caps."""
    k = opts.grid_size
    frame = _frame_of(lat0, lon0)
    caps = _prune(lat0, lon0, box, radius_km, lm_xyz, k)
    grid = _sample(frame, box, caps, allowed, k)
    for _ in range(opts.refine_passes):
        any_in: NDArray[np.bool_] = np.asarray(grid.inside.any(axis=1))
        if not any_in.any():
            break
        box = np.where(any_in[:, None], _zoom(grid, k), box)
        rows = np.flatnonzero(any_in)
        if rows.size == any_in.size:
            sub_caps = _prune(lat0, lon0, box, radius_km, lm_xyz, k)
            nxt = _sample(frame, box, sub_caps, allowed, k)
        else:
            sub_caps = _prune(lat0[rows], lon0[rows], box[rows], radius_km[rows], lm_xyz, k)
            nxt = _sample(frame[rows], box[rows], sub_caps, allowed[rows], k)
        # Rows that were empty keep their (empty) grid; zoomed rows take the finer one. Each
        # pass drops the disks that contain its whole (smaller) window: they cannot exclude
        # any of its points. The returned caps are the first pass's (countries use them
        # outside the last window).
        grid = _merge(grid, nxt, rows)
    return grid, caps


@dataclass(frozen=True, slots=True)
class _Caps:
    """Per-row disks that can cut the row's window: centres (n, k, 3), radii (n, k) (NaN = none)."""

    xyz: FloatArray
    radius_km: FloatArray


def _prune(
    lat0: FloatArray,
    lon0: FloatArray,
    box: FloatArray,
    radius_km: FloatArray,
    lm_xyz: FloatArray,
    k: int,
) -> _Caps:
    """Drop disks that contain the whole search window (they cannot cut the region) and pack
    the rest to the left, so the solver tests k_max disks per row instead of all landmarks.

    The window is grown by one first-pass cell diagonal, since zoom passes may step half a cell
    outside it; disks that contain it never exclude a sample point.
    """
    c = to_unit_vectors(lat0, lon0)
    reach = np.hypot(np.max(np.abs(box[:, :2]), axis=1), np.max(np.abs(box[:, 2:]), axis=1))
    reach = reach + np.hypot(box[:, 1] - box[:, 0], box[:, 3] - box[:, 2]) / max(k, 1)
    d = np.arccos(np.clip(c @ lm_xyz.T, -1.0, 1.0)) * EARTH_RADIUS_KM
    useless = np.isnan(radius_km) | (d + reach[:, None] + 1e-6 <= radius_km)
    useless |= radius_km >= HALF_CIRCUMFERENCE_KM
    kmax = max(int((~useless).sum(axis=1).max(initial=0)), 1)
    order = np.argsort(useless, axis=1, kind="stable")[:, :kmax]
    r = np.take_along_axis(np.where(useless, np.nan, radius_km), order, axis=1)
    return _Caps(lm_xyz[order], r)


def _merge(old: _Grid, new: _Grid, rows: NDArray[np.intp]) -> _Grid:
    """``old`` with ``rows`` replaced by the rows of ``new`` (same length as ``rows`` or all)."""
    n_old = old.x.shape[0]
    if rows.size == n_old and new.x.shape[0] == n_old:
        return new
    src = rows if new.x.shape[0] == n_old else np.arange(rows.size)

    def put(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        out = a.copy()
        out[rows] = b[src]
        return out

    inside = old.inside.copy()
    inside[rows] = new.inside[src]
    return _Grid(
        local=put(old.local, new.local),
        frame=put(old.frame, new.frame),
        inside=inside,
        delta_km=put(old.delta_km, new.delta_km),
        x=put(old.x, new.x),
        y=put(old.y, new.y),
    )


def _reach_km(grid: _Grid, lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Largest distance from (lat, lon) to an inside point, plus the tolerance delta."""
    c = to_unit_vectors(lat, lon)
    dots = np.matmul(np.matmul(grid.frame, c[:, :, None]).transpose(0, 2, 1), grid.local)[:, 0]
    dots = np.where(grid.inside, dots, np.inf)
    ang = np.arccos(np.clip(np.min(dots, axis=1), -1.0, 1.0))
    out = ang * EARTH_RADIUS_KM + grid.delta_km
    return np.where(grid.inside.any(axis=1), out, np.nan)


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


def _initial_box(
    lat0: FloatArray, lon0: FloatArray, radius_km: FloatArray, lm: LandmarkSet, need_out: int
) -> FloatArray:
    """Square window around the tightest disk, holding the region (see LocateOptions.max_liars)."""
    r = np.where(np.isnan(radius_km), np.inf, radius_km)
    order = np.argsort(r, axis=1)[:, : need_out + 1]
    d = great_circle_km(lat0[:, None], lon0[:, None], lm.lat_deg[order], lm.lon_deg[order])
    w = np.max(d + np.take_along_axis(r, order, axis=1), axis=1)
    w = np.minimum(w, HALF_CIRCUMFERENCE_KM)
    return np.stack([-w, w, -w, w], axis=1)


COUNTRY_CELLS = 24
"""Country attribution tests at most about this many raster cells per axis per region."""


def _region_bbox(grid: _Grid, rows: NDArray[np.intp]) -> tuple[FloatArray, ...]:
    """(lat_min, lat_max, lon_lo, lon_hi) holding the region of each row; lon_hi - lon_lo may
    reach 360 (every longitude). Longitudes are continuous (lon_lo may be < -180)."""
    inside = grid.inside[rows]
    lat_all, lon_all = from_unit_vectors(grid.xyz[rows])
    lat, lon, delta = lat_all, lon_all, grid.delta_km[rows]
    dlat = delta / KM_PER_DEG
    lat_min = np.min(np.where(inside, lat, np.inf), axis=1) - dlat
    lat_max = np.max(np.where(inside, lat, -np.inf), axis=1) + dlat
    ref = lon[np.arange(rows.size), np.argmax(inside, axis=1)]
    rel = (lon - ref[:, None] + 180.0) % 360.0 - 180.0
    lo = np.min(np.where(inside, rel, np.inf), axis=1)
    hi = np.max(np.where(inside, rel, -np.inf), axis=1)
    phi = np.minimum(np.maximum(np.abs(lat_min), np.abs(lat_max)), 90.0)
    cos_phi = np.cos(np.radians(phi))
    dlon = delta / (KM_PER_DEG * np.maximum(cos_phi, 1e-9))
    lo, hi = lo - dlon, hi + dlon
    full = (lat_max >= 90.0) | (lat_min <= -90.0) | (hi - lo >= 180.0) | (cos_phi < 1e-6)
    lon_lo = np.where(full, -180.0, ref + lo)
    lon_hi = np.where(full, 180.0, ref + hi)
    return np.clip(lat_min, -90.0, 90.0), np.clip(lat_max, -90.0, 90.0), lon_lo, lon_hi


def _region_countries(
    index: BorderIndex,
    grid: _Grid,
    caps: _Caps,
    allowed: NDArray[np.int64],
    ok: NDArray[np.bool_],
) -> tuple[tuple[Country, ...], ...]:
    """Every country meeting each row's region (conservative; see docs/country-boundaries.md).

    The region's bounding box is covered by at most ~COUNTRY_CELLS^2 raster cells of one level;
    a cell counts when its centre is within ``radius + half cell`` of enough landmarks, so any
    cell the region touches counts, and its countries (every country meeting the cell) are
    listed.
    """
    n = grid.x.shape[0]
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        empty: tuple[tuple[Country, ...], ...] = ((),) * n
        return empty
    lat_min, lat_max, lon_lo, lon_hi = _region_bbox(grid, rows)
    span = np.maximum(lat_max - lat_min, lon_hi - lon_lo)
    base = index.levels[0].res_deg
    top = len(index.levels) - 1
    level = np.clip(np.ceil(np.log2(np.maximum(span / (COUNTRY_CELLS * base), 1e-12))), 0, top)
    keys: list[NDArray[np.int64]] = []
    m = COUNTRY_CELLS + 2
    per = max(1, _ELEMENT_BUDGET // (m * m * max(caps.radius_km.shape[1], 1)))
    for lv in np.unique(level).astype(int).tolist():
        sel = np.flatnonzero(level == lv)
        for s in range(0, sel.size, per):
            part = sel[s : s + per]
            keys.append(
                _cells_meeting(
                    index,
                    lv,
                    rows[part],
                    lat_min[part],
                    lat_max[part],
                    lon_lo[part],
                    lon_hi[part],
                    _Caps(caps.xyz[rows[part]], caps.radius_km[rows[part]]),
                    allowed[rows[part]],
                    m,
                )
            )
    return keys_to_countries(index, np.concatenate(keys), n)


def _cells_meeting(
    index: BorderIndex,
    lv: int,
    rows: NDArray[np.intp],
    lat_min: FloatArray,
    lat_max: FloatArray,
    lon_lo: FloatArray,
    lon_hi: FloatArray,
    caps: _Caps,
    allowed: NDArray[np.int64],
    m: int,
) -> NDArray[np.int64]:
    """Country keys of the level-``lv`` cells of each bbox that the region may touch."""
    level = index.levels[lv]
    nrows, ncols = level.pure.shape
    res = level.res_deg
    r0 = np.clip(np.floor((90.0 - lat_max) / res), 0, nrows - 1).astype(np.int64)
    r1 = np.clip(np.floor((90.0 - lat_min) / res), 0, nrows - 1).astype(np.int64)
    c0 = np.floor((lon_lo + 180.0) / res).astype(np.int64)
    c1 = np.floor((lon_hi + 180.0) / res).astype(np.int64)
    c1 = np.minimum(c1, c0 + ncols - 1)
    # Only as many cells per axis as the widest box of this batch needs (the rest are invalid).
    m = int(min(m, max(int(np.max(r1 - r0, initial=0)), int(np.max(c1 - c0, initial=0))) + 1))
    k = np.arange(m)
    rr = r0[:, None] + k[None, :]
    cc = c0[:, None] + k[None, :]
    r_ok = rr <= r1[:, None]
    c_ok = cc <= c1[:, None]
    r_clip = np.minimum(rr, nrows - 1)
    r_g = np.repeat(r_clip, m, axis=1)
    c_g = np.tile(cc, (1, m))
    valid = np.repeat(r_ok, m, axis=1) & np.tile(c_ok, (1, m))
    # Cell centres form a lat x lon product per row: 2 m trig calls per row instead of 4 m^2.
    lat_r = np.radians(90.0 - (r_clip + 0.5) * res)
    lon_r = np.radians(-180.0 + (cc + 0.5) * res)
    cp, sp = np.cos(lat_r), np.sin(lat_r)
    cl, sl = np.cos(lon_r), np.sin(lon_r)
    cube = np.empty((rows.size, 3, m, m))
    np.multiply(cp[:, :, None], cl[:, None, :], out=cube[:, 0])
    np.multiply(cp[:, :, None], sl[:, None, :], out=cube[:, 1])
    cube[:, 2] = sp[:, :, None]
    xyz = cube.reshape(rows.size, 3, m * m)
    # Any point of a cell is within half a cell north-south plus half its widest east-west
    # extent of the centre (an L1 path bound, never shorter than the great circle); the widest
    # cell of the box (nearest the equator) sets one tolerance per row.
    low = np.where(lat_min * lat_max <= 0, 0.0, np.minimum(np.abs(lat_min), np.abs(lat_max)))
    cos_w = np.cos(np.radians(np.maximum(low - res, 0.0)))
    half_km = 0.5 * res * KM_PER_DEG * (1.0 + cos_w)
    dots = np.matmul(caps.xyz, xyz)
    thr = _cos_threshold(caps.radius_km + half_km[:, None])[:, :, None] - 1e-12
    miss = dots < thr
    if not allowed.any():
        meets = valid & ~np.any(miss, axis=1)
    else:
        meets = valid & (np.count_nonzero(miss, axis=1) <= allowed[:, None])
    owner, pos = np.nonzero(meets)
    cells = r_g[owner, pos] * ncols + c_g[owner, pos] % ncols
    return cell_country_keys(index, lv, rows[owner].astype(np.int64), cells)


def _frame(
    lm: LandmarkSet, radius_km: FloatArray, binding: NDArray[np.int64], opts: LocateOptions
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Projection centres (the binding landmarks) and first windows of a chunk."""
    b = np.maximum(binding, 0)
    lat0, lon0 = lm.lat_deg[b], lm.lon_deg[b]
    box = _initial_box(lat0, lon0, radius_km, lm, min(opts.max_liars, max(len(lm) - 1, 0)))
    return lat0, lon0, box


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
        options: grid size, passes and tolerated liars (``max_liars``).
        borders: country index (default: the offline index).

    Returns:
        One sorted tuple of ISO2 codes per region; empty when the disks do not meet.
    """
    opts = options or LocateOptions()
    radius = np.atleast_2d(np.asarray(radius_km, dtype=np.float64))
    valid = ~np.isnan(radius)
    n_lm = valid.sum(axis=1)
    allowed = np.minimum(opts.max_liars, np.maximum(n_lm - 1, 0)).astype(np.int64)
    binding = np.argmin(np.where(valid, radius, np.inf), axis=1).astype(np.int64)
    lat0, lon0, box = _frame(landmarks, radius, binding, opts)
    lm_xyz = to_unit_vectors(landmarks.lat_deg, landmarks.lon_deg)
    grid, caps = _solve(lat0, lon0, box, radius, lm_xyz, allowed, opts)
    index = borders or load_border_index()
    ok = np.asarray(grid.inside.any(axis=1) & (n_lm > 0))
    return _region_countries(index, grid, caps, allowed, ok)


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
    lat0, lon0, box = _frame(lm, proven, binding, opts)
    pg, p_caps = _solve(lat0, lon0, box, proven, lm_xyz, allowed, opts)
    p_ok = pg.inside.any(axis=1) & has
    # Likely region: search inside the proven region's final window; widen where empty.
    lbox = np.where(p_ok[:, None], _zoom(pg, opts.grid_size), box)
    lg, l_caps = _solve(lat0, lon0, lbox, likely, lm_xyz, allowed, opts)
    widened = np.zeros(n)
    likely_eff = likely.copy()
    for t in WIDENING_STEPS:
        empty = p_ok & ~lg.inside.any(axis=1)
        if not empty.any():
            break
        rows = np.flatnonzero(empty)
        wider = likely[rows] + t * (proven[rows] - likely[rows])
        sub, _ = _solve(lat0[rows], lon0[rows], lbox[rows], wider, lm_xyz, allowed[rows], opts)
        likely_eff[rows] = wider
        lg = _merge(lg, sub, rows)
        widened[rows] = t
    l_ok = lg.inside.any(axis=1) & p_ok
    w = lg.inside.astype(np.float64)
    centre = np.matmul(np.matmul(lg.local, w[:, :, None]).transpose(0, 2, 1), lg.frame)[:, 0]
    lat, lon = from_unit_vectors(centre)
    lat = np.where(l_ok, lat, np.nan)
    lon = np.where(l_ok, lon, np.nan)
    status = tuple(
        RegionStatus.NO_DATA if not h else (RegionStatus.OK if ok else RegionStatus.INCONSISTENT)
        for h, ok in zip(has.tolist(), p_ok.tolist(), strict=True)
    )
    empty_c: tuple[tuple[Country, ...], ...] = ((),) * n
    pc = lc = empty_c
    if opts.with_countries and borders is not None:
        pc = _region_countries(borders, pg, p_caps, allowed, p_ok)
        l_caps = _prune(lat0, lon0, lbox, likely_eff, lm_xyz, opts.grid_size)
        lc = _region_countries(borders, lg, l_caps, allowed, l_ok)
    return ChunkResult(
        lat=lat,
        lon=lon,
        proven_reach=_reach_km(pg, lat, lon),
        likely_reach=_reach_km(lg, lat, lon),
        min_disk=min_disk,
        binding=binding,
        n_lm=n_lm,
        widened=np.where(l_ok, widened, np.nan),
        status=status,
        proven_countries=pc,
        likely_countries=lc,
        resolution=np.where(p_ok, pg.delta_km, np.nan),
    )


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
    per = max(
        1, min(opts.chunk_size, _SOLVE_ELEMENTS // (opts.grid_size**2 * max(len(landmarks), 1)))
    )
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
