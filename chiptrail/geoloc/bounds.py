"""Distance bounds from round-trip times: the proven (light-speed) bound and the likely (CBG) bound.

No I/O. The proven bound is physics plus explicit margins; the likely bound is statistical, fitted
per landmark from landmark-to-landmark RTTs (Gueye et al., "Constraint-Based Geolocation of
Internet Hosts", IEEE/ACM ToN 2006: the "bestline").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chiptrail.errors import InvalidInput
from chiptrail.geoloc.sphere import FloatArray, arc_from_chord_km

C_KM_PER_S = 299_792.458
"""Speed of light in vacuum (exact, SI)."""
KM_PER_MS_RTT = C_KM_PER_S / 1000.0 / 2.0
"""One ms of round trip lets a signal reach this far and back at c: 149.896229 km."""
EARTH_MODEL_MARGIN = 0.007
"""Relative margin on the light-speed chord for the sphere-vs-WGS84 error.

Distances are computed on the mean-radius sphere, but signals travel between points of the
WGS84 ellipsoid. Two errors must be covered: the sphere overstates north-south distances near
the equator by up to 0.56% (6371.0088 km vs the meridional radius a(1 - e^2) = 6335.44 km), and
near-antipodal chords are shorter on the flattened Earth, which the chord-to-arc conversion
amplifies (4.4% pole to pole if uncorrected). Enlarging the chord by 0.6% before converting
covers both over 3 million sampled pairs; 0.7% is used. tests/geoloc/test_sphere.py checks it.
"""
LIGHT_SLOPE_MS_PER_KM = 1.0 / KM_PER_MS_RTT
"""RTT per km of distance at the speed of light (0.00667 ms/km): no honest line is flatter."""
FIBRE_SLOPE_MS_PER_KM = 1.5 / KM_PER_MS_RTT
"""RTT per km through fibre at about 2/3 c (0.0100 ms/km, i.e. 100 km per ms of RTT)."""
DEFAULT_MIN_PEERS = 3
LIKELY_FLOOR_SHARE = 0.7
"""Likely radii are never below this share of the fibre distance (70 km per ms of RTT).

A bestline fitted on a few nearby peers extrapolates too steeply to far targets; on the RIPE
Atlas evaluation (docs/geolocation.md) the floor raised the likely region's soundness from 91%
to 99% at the cost of fewer single-country answers. Tuned on that data: a statistical choice.
"""


def proven_radius_km(
    rtt_ms: ArrayLike,
    uncertainty_km: ArrayLike = 0.0,
    *,
    earth_margin: float = EARTH_MODEL_MARGIN,
) -> FloatArray:
    """Largest great-circle distance between a landmark and a responder consistent with an RTT.

    The signal cannot travel faster than c, so the straight-line (chord) distance is at most
    ``c * rtt / 2``. The chord is enlarged by the Earth-model margin, converted to the longer
    surface arc on the sphere, and the landmark's coordinate uncertainty is added.

    Args:
        rtt_ms: round-trip times in ms (any shape; NaN propagates).
        uncertainty_km: landmark position uncertainty, broadcast against ``rtt_ms``.
        earth_margin: relative margin for the spherical Earth model (on the chord).

    Returns:
        Radii in km, at most the half circumference (plus uncertainty).
    """
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    chord = KM_PER_MS_RTT * np.maximum(rtt, 0.0) * (1.0 + earth_margin)
    arc = arc_from_chord_km(chord)
    arc = np.where(np.isnan(rtt), np.nan, arc)
    return np.asarray(arc + np.asarray(uncertainty_km, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per-landmark line ``rtt_ms = intercept_ms + slope_ms_per_km * distance_km``.

    Attributes:
        slope_ms_per_km, intercept_ms: float64 arrays (n_landmarks,).
        n_peers: int64 array (n_landmarks,): peers the line was fitted on (0 for the fallback).
        is_fallback: bool array (n_landmarks,): True where too few peers left the global line.
        floor_share: likely radii are at least this share of the fibre (2/3 c) distance.
    """

    slope_ms_per_km: NDArray[np.float64]
    intercept_ms: NDArray[np.float64]
    n_peers: NDArray[np.int64]
    is_fallback: NDArray[np.bool_]
    floor_share: float = LIKELY_FLOOR_SHARE

    @classmethod
    def fallback(cls, n_landmarks: int) -> Calibration:
        """The global fibre line (2/3 c, zero intercept) for every landmark."""
        return cls(
            slope_ms_per_km=np.full(n_landmarks, FIBRE_SLOPE_MS_PER_KM),
            intercept_ms=np.zeros(n_landmarks),
            n_peers=np.zeros(n_landmarks, dtype=np.int64),
            is_fallback=np.ones(n_landmarks, dtype=np.bool_),
        )


def likely_radius_km(
    rtt_ms: ArrayLike, calibration: Calibration, proven_km: ArrayLike | None = None
) -> FloatArray:
    """Distance the calibrated line assigns to an RTT, floored and clipped to the proven radius.

    Args:
        rtt_ms: (..., n_landmarks) RTTs in ms; NaN stays NaN.
        calibration: one line per landmark (the last axis).
        proven_km: the proven radii of the same shape, an upper cap; computed when None.
    """
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    d = (rtt - calibration.intercept_ms) / calibration.slope_ms_per_km
    d = np.maximum(d, calibration.floor_share * rtt / FIBRE_SLOPE_MS_PER_KM)
    cap = proven_radius_km(rtt) if proven_km is None else np.asarray(proven_km)
    return np.asarray(np.clip(d, 0.0, cap))


def disk_radii(
    rtt_ms: ArrayLike,
    uncertainty_km: ArrayLike = 0.0,
    calibration: Calibration | None = None,
    *,
    widened: ArrayLike = 0.0,
    earth_margin: float = EARTH_MODEL_MARGIN,
) -> tuple[FloatArray, FloatArray]:
    """The proven and likely disk radii (km) around each landmark, as the verdict bounds them.

    The likely radius is the calibrated distance plus the landmark's uncertainty, never beyond the
    proven one, then widened towards it by ``widened`` (0..1, the share the region solver needed
    for the likely disks to meet). The proven region is the intersection of the proven disks, the
    likely region that of the likely disks.

    Args:
        rtt_ms: (..., n_landmarks) RTTs in ms; NaN stays NaN.
        uncertainty_km: landmark position uncertainty, broadcast against ``rtt_ms``.
        calibration: one line per landmark; None = the fibre fallback.
        widened: broadcast against ``rtt_ms`` (e.g. shape (n_targets, 1)).
    """
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    cal = calibration or Calibration.fallback(rtt.shape[-1] if rtt.ndim else 1)
    unc = np.asarray(uncertainty_km, dtype=np.float64)
    proven = proven_radius_km(rtt, unc, earth_margin=earth_margin)
    likely = np.minimum(likely_radius_km(rtt, cal, proven) + unc, proven)
    t = np.asarray(widened, dtype=np.float64)
    return proven, np.asarray(likely + t * (proven - likely))


def fit_bestline(
    distance_km: ArrayLike, rtt_ms: ArrayLike, min_slope_ms_per_km: float = FIBRE_SLOPE_MS_PER_KM
) -> tuple[float, float] | None:
    """CBG bestline: the line below every (distance, rtt) point closest to them all.

    Solves ``max m * mean(x) + b`` subject to ``y_j >= m x_j + b``, ``b >= 0`` and
    ``m >= min_slope``: a linear programme in two variables whose optimum is a vertex, so every
    vertex candidate (pairs of points, a point with b = 0, a point with m = min_slope) is tried.

    Returns:
        ``(slope_ms_per_km, intercept_ms)`` or None when no line satisfies the constraints
        (a point faster than ``min_slope`` allows).
    """
    x = np.asarray(distance_km, dtype=np.float64)
    y = np.asarray(rtt_ms, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size == 0:
        return None
    i, j = np.triu_indices(x.size, k=1)
    dx = x[i] - x[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        m_pair = np.where(np.abs(dx) > 1e-9, (y[i] - y[j]) / dx, np.nan)
        m_zero = np.where(x > 1e-9, y / x, np.nan)
    b_pair = y[i] - m_pair * x[i]
    m = np.concatenate([m_pair, m_zero, np.full(x.size + 1, min_slope_ms_per_km)])
    b = np.concatenate([b_pair, np.zeros(x.size), y - min_slope_ms_per_km * x, [0.0]])
    good = np.isfinite(m) & np.isfinite(b)
    m, b = m[good], b[good]
    tol = 1e-9 * max(1.0, float(np.max(y)))
    feasible = (m >= min_slope_ms_per_km - 1e-12) & (b >= -tol)
    feasible &= np.all(y[None, :] >= m[:, None] * x[None, :] + b[:, None] - tol, axis=1)
    if not feasible.any():
        return None
    score = np.where(feasible, m * x.mean() + b, -np.inf)
    k = int(np.argmax(score))
    return float(m[k]), float(max(b[k], 0.0))


def calibrate_landmarks(
    distance_km: ArrayLike,
    rtt_ms: ArrayLike,
    *,
    min_peers: int = DEFAULT_MIN_PEERS,
    min_slope_ms_per_km: float = FIBRE_SLOPE_MS_PER_KM,
) -> Calibration:
    """Fit one CBG bestline per landmark from landmark-to-landmark measurements.

    Args:
        distance_km: (n, n) great-circle distances between the landmarks' stated positions.
        rtt_ms: (n, n) RTTs, row = landmark that measured, column = peer; NaN where missing. The
            smaller of the two directions is used for each pair; the diagonal is ignored.
        min_peers: landmarks with fewer measured peers get the fallback line (2/3 c, b = 0).
        min_slope_ms_per_km: no line may be flatter than this (default: fibre at 2/3 c); when the
            data contradict it, a light-speed floor is tried before falling back.

    Returns:
        The per-landmark calibration.

    Raises:
        InvalidInput: on shape mismatch or negative RTTs.
    """
    dist = np.asarray(distance_km, dtype=np.float64)
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    if rtt.ndim != 2 or rtt.shape[0] != rtt.shape[1] or dist.shape != rtt.shape:
        raise InvalidInput(
            "calibration: distance and RTT matrices must both be square (n_landmarks, n_landmarks)",
            {"rtt_shape": list(rtt.shape), "distance_shape": list(dist.shape)},
        )
    if np.any(rtt < 0):
        raise InvalidInput("calibration: RTTs must be >= 0 ms", {})
    sym = np.fmin(rtt, rtt.T)
    np.fill_diagonal(sym, np.nan)
    n = rtt.shape[0]
    cal = Calibration.fallback(n)
    slope, intercept = cal.slope_ms_per_km.copy(), cal.intercept_ms.copy()
    peers, fallback = cal.n_peers.copy(), cal.is_fallback.copy()
    for k in range(n):  # calibration is O(n_landmarks), off the hot path
        row = np.isfinite(sym[k])
        peers[k] = int(row.sum())
        if peers[k] < min_peers:
            continue
        line = fit_bestline(dist[k, row], sym[k, row], min_slope_ms_per_km)
        if line is None:
            line = fit_bestline(dist[k, row], sym[k, row], LIGHT_SLOPE_MS_PER_KM)
        if line is None:
            continue
        slope[k], intercept[k] = line
        fallback[k] = False
    return Calibration(slope, intercept, peers, fallback)


def without_floor(calibration: Calibration) -> Calibration:
    """The same lines with no floor: plain CBG bestlines (for comparisons)."""
    return replace(calibration, floor_share=0.0)
