"""Meridian scanlines: where an intersection of disks on the sphere lies, exactly, along meridians.

No I/O. The region solver (region.py) samples each target's region on K meridians spread over a
longitude window. Along one meridian, a disk (spherical cap) is one latitude interval with a
closed form (no trigonometry per point), and the region is the intersection of the intervals.

Why it is sound: a region point p at longitude lambda moves along its parallel to the nearest
scanline, at most ``h / 2`` of longitude away (h = window width / K); that path is at most
``delta = R cos(lat_low) h / 2`` long (lat_low: the latitude nearest the equator that the region
can reach) and the great-circle distance is shorter still. The moved point keeps p's latitude
and lies within ``radius + delta`` of every landmark p is within ``radius`` of. So the intervals
of disks widened by ``delta`` contain the latitude of every region point, at its scanline: the
sampled region is never smaller than the true one, in latitude not at all (up to rounding).

Intervals are kept as ``z = sin(latitude)`` (monotone on a meridian). For a cap with centre
``L`` and ``cos(angular radius) = c``, a meridian point ``(cos t cos lam, cos t sin lam, sin t)``
is inside when ``A cos t + B sin t >= c`` with ``A = Lx cos lam + Ly sin lam``, ``B = Lz``; the
arc ``t0 -/+ alpha`` has ``sin`` of its ends ``(B c -/+ A sqrt(A^2 + B^2 - c^2)) / (A^2 + B^2)``.
When the arc lies on the opposite half-meridian the formula gives ``lo > hi`` (empty); when a
pole is inside the cap that end is the pole. Caps of a quarter circumference or more are not
used as constraints (sound: the sampled region only grows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.sphere import EARTH_RADIUS_KM, FloatArray

NUMERIC_SLACK_KM = 0.01
"""Added to every sampling tolerance: float64 rounding moves interval ends by far less."""
TWO_PI = 2.0 * np.pi
_QUARTER = np.pi / 2.0
_MARGIN_RAD = 1e-9
"""Window edges are pushed out by this much (rounding in arcsin / wrap arithmetic)."""


@dataclass(frozen=True, slots=True)
class Window:
    """Per row: longitudes ``[lon0, lon0 + width]`` (radians, continuous, width <= 2 pi) and
    latitudes ``[lat_lo, lat_hi]`` (radians) that hold the whole region."""

    lon0: FloatArray
    width: FloatArray
    lat_lo: FloatArray
    lat_hi: FloatArray

    def take(self, rows: NDArray[np.intp]) -> Window:
        return Window(self.lon0[rows], self.width[rows], self.lat_lo[rows], self.lat_hi[rows])


@dataclass(frozen=True, slots=True)
class Disks:
    """Disks of many rows: centres (m, 3) unit vectors shared by all rows, radii (n, m) km
    (NaN = no disk) and the misses each row tolerates (n,) (``max_liars``)."""

    xyz: FloatArray
    radius_km: FloatArray
    allowed: NDArray[np.int64]

    def take(self, rows: NDArray[np.intp]) -> Disks:
        return Disks(self.xyz, self.radius_km[rows], self.allowed[rows])


@dataclass(frozen=True, slots=True)
class Scan:
    """A sampled region: K scanlines per row.

    Attributes:
        lon: (n, K) scanline longitudes, radians (continuous).
        lo, hi: (n, K) ends of each scanline's interval as sin(latitude); empty where not inside.
        inside: (n, K) the scanline meets the (widened) region.
        delta_km: (n,) the tolerance of this pass (see the module docstring).
        window: the window that was scanned.
    """

    lon: FloatArray
    lo: FloatArray
    hi: FloatArray
    inside: NDArray[np.bool_]
    delta_km: FloatArray
    window: Window

    @property
    def any_inside(self) -> NDArray[np.bool_]:
        return np.asarray(self.inside.any(axis=1))


def low_cos(lat_lo: FloatArray, lat_hi: FloatArray) -> FloatArray:
    """cos of the latitude nearest the equator in ``[lat_lo, lat_hi]`` (the widest parallel)."""
    low = np.where(lat_lo * lat_hi <= 0.0, 0.0, np.minimum(np.abs(lat_lo), np.abs(lat_hi)))
    return np.asarray(np.cos(low))


def cap_lon_halfwidth(lat: FloatArray, ang: FloatArray) -> FloatArray:
    """Half the longitude span (radians) of caps at latitude ``lat`` of angular radius ``ang``;
    pi where the cap reaches a pole (every longitude) or is missing (NaN)."""
    reach_pole = ~(ang < _QUARTER - np.abs(lat))  # NaN -> True
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.arcsin(np.clip(np.sin(ang) / np.cos(lat), 0.0, 1.0)) + _MARGIN_RAD
    return np.where(reach_pole, np.pi, half)


def initial_window(
    lm_lat: FloatArray, lm_lon: FloatArray, radius_km: FloatArray, n_union: int
) -> Window:
    """Window holding the union of each row's ``n_union`` smallest disks (the region of a row
    that tolerates ``n_union - 1`` lying landmarks lies in it). Landmark coordinates in radians.

    Rows without any disk get the whole sphere.
    """
    m = radius_km.shape[1]
    r = np.where(np.isnan(radius_km), np.inf, radius_km)
    k = max(1, min(n_union, m))
    order = np.argsort(r, axis=1, kind="stable")[:, :k]
    ang = np.take_along_axis(r, order, axis=1) / EARTH_RADIUS_KM
    lat, lon = lm_lat[order], lm_lon[order]
    used = np.isfinite(ang)
    used[:, 0] = True  # the tightest disk always bounds the region (inf if the row has none)
    ang = np.where(used, ang, 0.0)
    half = cap_lon_halfwidth(lat, np.where(np.isinf(ang), np.nan, ang))
    ref = lon[:, :1]
    rel = (lon - ref + np.pi) % TWO_PI - np.pi
    lo = np.min(np.where(used, rel - half, np.inf), axis=1)
    hi = np.max(np.where(used, rel + half, -np.inf), axis=1)
    full = (hi - lo >= TWO_PI) | np.any(used & (half >= np.pi), axis=1)
    lon0 = np.where(full, ref[:, 0] - np.pi, ref[:, 0] + lo)
    width = np.where(full, TWO_PI, hi - lo)
    a = np.minimum(ang, np.pi)
    lat_lo = np.min(np.where(used, lat - a, np.inf), axis=1) - _MARGIN_RAD
    lat_hi = np.max(np.where(used, lat + a, -np.inf), axis=1) + _MARGIN_RAD
    return Window(lon0, width, np.maximum(lat_lo, -_QUARTER), np.minimum(lat_hi, _QUARTER))


def meridian_intervals(
    centres: FloatArray,
    cos_r: FloatArray,
    free: NDArray[np.bool_],
    cos_lon: FloatArray,
    sin_lon: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Latitude intervals (as sin(lat)) of caps along meridians.

    Args:
        centres: (*S, 3) unit vectors of the cap centres (S: any shape, e.g. (n, J)).
        cos_r: (*S) cos of each cap's angular radius (radius < a quarter circumference).
        free: (*S) caps that constrain nothing (interval = the whole meridian).
        cos_lon, sin_lon: cos and sin of the meridians' longitudes, (..., K) broadcastable to
            (*S, K): (n, 1, K) for (n, J) caps, or (m, K) for caps laid out (J, m).

    Returns:
        lo, hi of shape (*S, K); NaN or lo > hi where the meridian misses the cap.
    """
    a = centres[..., 0, None] * cos_lon
    a += centres[..., 1, None] * sin_lon
    b = centres[..., 2, None]
    c = cos_r[..., None]
    rho2 = a * a
    rho2 += b * b
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(rho2 - c * c)  # NaN where the meridian's great circle misses the cap
        np.divide(1.0, rho2, out=rho2)
    s *= a
    bc = b * c
    lo = bc - s
    lo *= rho2
    hi = np.add(bc, s, out=s)
    hi *= rho2
    zc = centres[..., 2]
    south = (-zc >= cos_r) | free  # south pole inside (or no constraint)
    north = (zc >= cos_r) | free
    if south.any():
        np.copyto(lo, -1.0, where=south[..., None])
    if north.any():
        np.copyto(hi, 1.0, where=north[..., None])
    return lo, hi


def _intersect_flat(
    useful: NDArray[np.bool_], disks: Disks, lon: FloatArray, delta_km: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per scanline, the latitudes inside every useful disk.

    One interval per (row, disk) pair that can cut the row's window (no padding to the busiest
    row). Rows are grouped by their number of pairs c, and a group's pairs are laid out as
    (c, rows, K), so the intersection is c - 1 contiguous maxima (a segmented reduce is 6x
    slower).
    """
    n, k = lon.shape
    count = useful.sum(axis=1)
    out_lo = np.full((n, k), -1.0)
    out_hi = np.full((n, k), 1.0)
    if not count.any():
        return out_lo, out_hi
    by_count = np.argsort(count, kind="stable")
    cols_first = np.argsort(~useful, axis=1, kind="stable")
    sizes, first, members = np.unique(count[by_count], return_index=True, return_counts=True)
    row_parts: list[NDArray[np.intp]] = []
    col_parts: list[NDArray[np.intp]] = []
    groups: list[tuple[int, NDArray[np.intp], int]] = []
    off = 0
    for c, f, m in zip(sizes.tolist(), first.tolist(), members.tolist(), strict=True):
        if c == 0:
            continue
        g = by_count[f : f + m]
        row_parts.append(np.tile(g, c))
        col_parts.append(cols_first[g, :c].T.ravel())
        groups.append((c, g, off))
        off += c * m
    rows = np.concatenate(row_parts)
    cols = np.concatenate(col_parts)
    cos_r = np.cos((disks.radius_km[rows, cols] + delta_km[rows]) / EARTH_RADIUS_KM)
    centres = disks.xyz[cols]
    c_lon, s_lon = np.cos(lon), np.sin(lon)
    for c, g, o in groups:
        span = slice(o, o + c * g.size)
        lo, hi = meridian_intervals(
            centres[span].reshape(c, g.size, 3),
            cos_r[span].reshape(c, g.size),
            np.zeros((c, g.size), dtype=np.bool_),
            c_lon[g],
            s_lon[g],
        )
        out_lo[g] = lo.max(axis=0)
        out_hi[g] = hi.min(axis=0)
    return out_lo, out_hi


def _combine_padded(
    useful: NDArray[np.bool_], disks: Disks, lon: FloatArray, delta_km: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per scanline, the hull of the latitudes inside all disks but ``allowed`` (liars)."""
    j = max(int(useful.sum(axis=1).max(initial=0)), 1)
    order = np.argsort(~useful, axis=1, kind="stable")[:, :j]
    keep = np.take_along_axis(useful, order, axis=1)
    r = np.take_along_axis(disks.radius_km, order, axis=1)
    cos_r = np.cos(np.where(keep, (r + delta_km[:, None]) / EARTH_RADIUS_KM, 0.0))
    lo, hi = meridian_intervals(
        disks.xyz[order], cos_r, ~keep, np.cos(lon)[:, None, :], np.sin(lon)[:, None, :]
    )
    allowed = disks.allowed
    bad = np.isnan(lo) | np.isnan(hi) | (lo > hi)
    lo = np.sort(np.where(bad, 2.0, lo), axis=1)
    hi = np.sort(np.where(bad, -2.0, hi), axis=1)
    # z is inside >= j - allowed intervals only if z >= (j - allowed)-th smallest lo and
    # z <= (j - allowed)-th largest hi; fewer columns than that means no constraint (dropped
    # disks contain the window and never miss).
    need = j - allowed
    idx_lo = np.clip(need - 1, 0, j - 1)[:, None, None]
    idx_hi = np.clip(allowed, 0, j - 1)[:, None, None]
    out_lo = np.take_along_axis(lo, idx_lo, axis=1)[:, 0]
    out_hi = np.take_along_axis(hi, idx_hi, axis=1)[:, 0]
    unconstrained = (need <= 0)[:, None]
    return np.where(unconstrained, -1.0, out_lo), np.where(unconstrained, 1.0, out_hi)


def _useful(window: Window, disks: Disks, delta_km: FloatArray) -> NDArray[np.bool_]:
    """(n, m): disks that may cut the window (the rest contain it, or constrain nothing)."""
    lat_m = 0.5 * (window.lat_lo + window.lat_hi)
    lon_m = window.lon0 + 0.5 * window.width
    cm = np.cos(lat_m)
    mid = np.stack([cm * np.cos(lon_m), cm * np.sin(lon_m), np.sin(lat_m)], axis=1)
    # From the middle: along its meridian to any latitude, then along that parallel.
    reach = EARTH_RADIUS_KM * (
        0.5 * (window.lat_hi - window.lat_lo)
        + low_cos(window.lat_lo, window.lat_hi) * 0.5 * window.width
    )
    d = np.arccos(np.clip(mid @ disks.xyz.T, -1.0, 1.0)) * EARTH_RADIUS_KM
    r = disks.radius_km
    useful = ~(d + reach[:, None] + 1e-6 <= r)  # NaN radius -> False below
    useful &= ~np.isnan(r)
    useful &= (r + delta_km[:, None]) < _QUARTER * EARTH_RADIUS_KM
    return np.asarray(useful)


def scan(window: Window, disks: Disks, k: int) -> Scan:
    """One pass: K meridians over each row's window, the region's interval on each."""
    h = window.width / k
    lon = window.lon0[:, None] + h[:, None] * (np.arange(k) + 0.5)[None, :]
    delta = 0.5 * h * EARTH_RADIUS_KM * low_cos(window.lat_lo, window.lat_hi) + NUMERIC_SLACK_KM
    return scan_at(window, disks, lon, delta)


def scan_at(window: Window, disks: Disks, lon: FloatArray, delta_km: FloatArray) -> Scan:
    """The region's interval on the given meridians (n, K) of each row, for disks widened by
    ``delta_km`` (n,): the caller vouches that every region point is within ``delta_km`` of a
    scanline along its parallel."""
    n, k = lon.shape
    useful = _useful(window, disks, delta_km)
    if disks.allowed.any():
        lo2, hi2 = _combine_padded(useful, disks, lon, delta_km)
    else:
        lo2, hi2 = _intersect_flat(useful, disks, lon, delta_km)
    # The window's latitudes hold the region (dropped disks contain the window, not beyond).
    np.maximum(lo2, np.sin(window.lat_lo)[:, None], out=lo2)
    np.minimum(hi2, np.sin(window.lat_hi)[:, None], out=hi2)
    inside = np.asarray(lo2 <= hi2) if n else np.zeros((0, k), dtype=np.bool_)
    return Scan(lon, lo2, hi2, inside, delta_km, window)


def zoom(sc: Scan) -> Window:
    """The smallest window (of this scan's cells) holding every inside scanline, per row; rows
    with none keep their window."""
    k = sc.lon.shape[1]
    w = sc.window
    h = w.width / k
    inside = sc.inside
    any_in = inside.any(axis=1)
    first = np.argmax(inside, axis=1)
    last = k - 1 - np.argmax(inside[:, ::-1], axis=1)
    lon0 = w.lon0 + first * h
    width = (last - first + 1) * h
    full = w.width >= TWO_PI - 1e-12
    if full.any():
        # A whole-circle window may hold a region across its seam: cut at the longest run of
        # empty scanlines instead (none empty: the window stays whole).
        empty2 = np.tile(~inside, (1, 2))
        pos = np.arange(2 * k)
        last_in = np.maximum.accumulate(np.where(empty2, -1, pos), axis=1)
        run = pos - last_in
        end = np.argmax(run, axis=1)
        gap = np.minimum(run[np.arange(run.shape[0]), end], k)
        start = end + 1
        c_lon0 = w.lon0 + start * h
        c_width = (k - gap) * h
        lon0 = np.where(full, np.where(gap > 0, c_lon0, w.lon0), lon0)
        width = np.where(full, np.where(gap > 0, c_width, w.width), width)
    z_lo = np.clip(np.min(np.where(inside, sc.lo, np.inf), axis=1), -1.0, 1.0)
    z_hi = np.clip(np.max(np.where(inside, sc.hi, -np.inf), axis=1), -1.0, 1.0)
    lat_lo = np.arcsin(np.where(any_in, z_lo, -1.0)) - _MARGIN_RAD
    lat_hi = np.arcsin(np.where(any_in, z_hi, 1.0)) + _MARGIN_RAD
    return Window(
        np.where(any_in, lon0, w.lon0),
        np.where(any_in, width, w.width),
        np.where(any_in, np.maximum(lat_lo, w.lat_lo), w.lat_lo),
        np.where(any_in, np.minimum(lat_hi, w.lat_hi), w.lat_hi),
    )


def solve(window: Window, disks: Disks, k: int, refine_passes: int) -> Scan:
    """A first pass over ``window`` and ``refine_passes`` passes over the zoomed windows."""
    sc = scan(window, disks, k)
    for _ in range(refine_passes):
        any_in = sc.any_inside
        if not any_in.any():
            break
        rows = np.flatnonzero(any_in)
        if rows.size == any_in.size:
            sc = scan(zoom(sc), disks, k)
        else:
            nxt = scan(zoom(sc).take(rows), disks.take(rows), k)
            sc = merge(sc, nxt, rows)
    return sc


def merge(old: Scan, new: Scan, rows: NDArray[np.intp]) -> Scan:
    """``old`` with ``rows`` replaced by the rows of ``new`` (which has one row per ``rows``)."""

    def put(a: NDArray[np.generic], b: NDArray[np.generic]) -> NDArray[np.generic]:
        out = a.copy()
        out[rows] = b
        return out

    ow, nw = old.window, new.window
    return Scan(
        lon=np.asarray(put(old.lon, new.lon), dtype=np.float64),
        lo=np.asarray(put(old.lo, new.lo), dtype=np.float64),
        hi=np.asarray(put(old.hi, new.hi), dtype=np.float64),
        inside=np.asarray(put(old.inside, new.inside), dtype=np.bool_),
        delta_km=np.asarray(put(old.delta_km, new.delta_km), dtype=np.float64),
        window=Window(
            np.asarray(put(ow.lon0, nw.lon0), dtype=np.float64),
            np.asarray(put(ow.width, nw.width), dtype=np.float64),
            np.asarray(put(ow.lat_lo, nw.lat_lo), dtype=np.float64),
            np.asarray(put(ow.lat_hi, nw.lat_hi), dtype=np.float64),
        ),
    )


def centroid(sc: Scan) -> tuple[FloatArray, FloatArray]:
    """Area-weighted centroid (lat, lon degrees) of each row's sampled region; NaN if empty.

    Each scanline stands for a strip of equal longitude width; along it the area element is
    ``cos(lat) d lat``, integrated in closed form.
    """
    inside = sc.inside
    lo = np.where(inside, np.clip(sc.lo, -1.0, 1.0), 0.0)
    hi = np.where(inside, np.clip(sc.hi, -1.0, 1.0), 0.0)

    def prim(z: FloatArray) -> FloatArray:  # integral of cos^2(lat) d lat, in z = sin(lat)
        return np.asarray(0.5 * (np.arcsin(z) + z * np.sqrt(1.0 - z * z)))

    f = prim(hi) - prim(lo)
    vx = np.sum(f * np.cos(sc.lon), axis=1)
    vy = np.sum(f * np.sin(sc.lon), axis=1)
    vz = np.sum(0.5 * (hi * hi - lo * lo), axis=1)
    norm = np.sqrt(vx * vx + vy * vy + vz * vz)
    # A region spread all round the globe can cancel out: take its widest scanline's middle.
    degenerate = norm < 1e-12
    if degenerate.any():
        widest = np.argmax(np.where(inside, sc.hi - sc.lo, -np.inf), axis=1)
        at = np.arange(inside.shape[0])
        zm = 0.5 * (sc.lo[at, widest] + sc.hi[at, widest])
        cm = np.sqrt(np.clip(1.0 - zm * zm, 0.0, 1.0))
        lon_w = sc.lon[at, widest]
        vx = np.where(degenerate, cm * np.cos(lon_w), vx)
        vy = np.where(degenerate, cm * np.sin(lon_w), vy)
        vz = np.where(degenerate, zm, vz)
    lat = np.degrees(np.arctan2(vz, np.hypot(vx, vy)))
    lon = (np.degrees(np.arctan2(vy, vx)) + 180.0) % 360.0 - 180.0
    ok = inside.any(axis=1)
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def reach_km(sc: Scan, lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """Radius of a disk around (lat, lon) holding each row's whole region (an upper bound).

    Along a meridian the distance to a point is largest at an interval end, unless the point's
    farthest point of that meridian's great circle lies on the meridian (it is then more than a
    quarter circumference away, and that farthest distance is used).
    """
    p = np.radians(lat_deg)
    lam = np.radians(lon_deg)
    px, py, pz = np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)
    cl, sl = np.cos(sc.lon), np.sin(sc.lon)
    a = px[:, None] * cl + py[:, None] * sl
    z_lo = np.clip(sc.lo, -1.0, 1.0)
    z_hi = np.clip(sc.hi, -1.0, 1.0)
    d_lo = a * np.sqrt(1.0 - z_lo * z_lo) + pz[:, None] * z_lo
    d_hi = a * np.sqrt(1.0 - z_hi * z_hi) + pz[:, None] * z_hi
    worst = np.minimum(d_lo, d_hi)
    worst = np.where(a < 0.0, np.minimum(worst, -np.sqrt(a * a + pz[:, None] ** 2)), worst)
    worst = np.where(sc.inside, worst, np.inf)
    ang = np.arccos(np.clip(np.min(worst, axis=1), -1.0, 1.0))
    out = ang * EARTH_RADIUS_KM + sc.delta_km
    return np.where(sc.inside.any(axis=1), out, np.nan)
