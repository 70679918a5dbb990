"""Landmark vetting: find landmarks whose stated positions contradict their mutual RTTs.

No I/O. Two landmarks whose stated positions are farther apart than light can travel in half their
measured RTT cannot both be where they say. The smallest set of landmarks to exclude is found
greedily (most contradictions first), which removes every contradiction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.errors import InvalidInput
from chiptrail.geoloc.bounds import EARTH_MODEL_MARGIN, proven_radius_km
from chiptrail.geoloc.landmarks import LandmarkSet
from chiptrail.geoloc.sphere import great_circle_km
from chiptrail.types import LandmarkId


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A pair of landmarks whose measured RTT is too short for their stated distance.

    Attributes:
        a, b: the landmarks.
        rtt_ms: the smaller RTT measured between them (either direction).
        distance_km: great-circle distance between their stated positions.
        bound_km: the farthest apart light allows for ``rtt_ms`` (margins and both
            uncertainties included); ``distance_km > bound_km``.
    """

    a: LandmarkId
    b: LandmarkId
    rtt_ms: float
    distance_km: float
    bound_km: float


@dataclass(frozen=True, slots=True)
class ExcludedLandmark:
    """A landmark the vetting removes, and why.

    Attributes:
        landmark_id: the landmark.
        contradictions: its contradictions with landmarks that were kept.
        required_uncertainty_km: the coordinate uncertainty that would make it consistent with
            every kept landmark (an alternative to excluding it).
    """

    landmark_id: LandmarkId
    contradictions: tuple[Contradiction, ...]
    required_uncertainty_km: float

    @property
    def reason(self) -> str:
        """One sentence for people."""
        c = self.contradictions
        if not c:
            return "contradicted only by other excluded landmarks"
        worst = max(c, key=lambda x: x.distance_km - x.bound_km)
        return (
            f"{len(c)} faster-than-light pair(s); worst {worst.a}-{worst.b}: "
            f"{worst.distance_km:.0f} km apart but RTT {worst.rtt_ms:.3f} ms "
            f"allows {worst.bound_km:.0f} km"
        )


@dataclass(frozen=True, slots=True)
class VettingReport:
    """Outcome of vetting.

    Attributes:
        kept: the landmarks that remain, mutually consistent.
        kept_index: their columns in the input set (int64 array).
        excluded: the removed landmarks with reasons, in removal order.
        contradictions: every contradiction found in the input.
    """

    kept: LandmarkSet
    kept_index: NDArray[np.int64]
    excluded: tuple[ExcludedLandmark, ...]
    contradictions: tuple[Contradiction, ...]


def find_contradictions(
    landmarks: LandmarkSet, rtt_ms: NDArray[np.float64], *, earth_margin: float = EARTH_MODEL_MARGIN
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Boolean (n, n) matrix of contradicting pairs plus (rtt, distance, bound) matrices."""
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    n = len(landmarks)
    if rtt.shape != (n, n):
        raise InvalidInput(f"landmark RTT matrix must be ({n}, {n}); got {rtt.shape}", {})
    if np.any(rtt < 0):
        raise InvalidInput("landmark RTTs must be >= 0 ms", {})
    sym = np.fmin(rtt, rtt.T)
    np.fill_diagonal(sym, np.nan)
    lat, lon, unc = landmarks.lat_deg, landmarks.lon_deg, landmarks.uncertainty_km
    dist = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    bound = proven_radius_km(sym, unc[:, None] + unc[None, :], earth_margin=earth_margin)
    bad = np.nan_to_num(dist - bound, nan=-1.0) > 0
    return bad, sym, dist, bound


def vet_landmarks(
    landmarks: LandmarkSet, rtt_ms: NDArray[np.float64], *, earth_margin: float = EARTH_MODEL_MARGIN
) -> VettingReport:
    """Exclude few landmarks (greedy, most contradictions first) until no contradiction is left.

    Args:
        landmarks: the landmark set.
        rtt_ms: (n, n) landmark-to-landmark RTTs in ms, NaN where not measured.
        earth_margin: relative Earth-model margin of the proven bound.

    Returns:
        A VettingReport; ``kept`` has no contradicting pair left.
    """
    bad, sym, dist, bound = find_contradictions(landmarks, rtt_ms, earth_margin=earth_margin)
    ids = landmarks.ids

    def pair(i: int, j: int) -> Contradiction:
        return Contradiction(
            ids[i], ids[j], float(sym[i, j]), float(dist[i, j]), float(bound[i, j])
        )

    ii, jj = np.nonzero(np.triu(bad, 1))
    everything = tuple(pair(int(i), int(j)) for i, j in zip(ii, jj, strict=True))
    alive = np.ones(len(landmarks), dtype=np.bool_)
    removed: list[int] = []
    while True:
        live = bad & alive[:, None] & alive[None, :]
        counts = live.sum(axis=1)
        if counts.max(initial=0) == 0:
            break
        excess = np.where(live, dist - bound, 0.0).sum(axis=1)
        # Most contradictions first; ties broken by total excess km, then by column.
        k = int(np.lexsort((np.arange(len(counts)), -excess, -counts))[0])
        alive[k] = False
        removed.append(k)
    excluded = []
    for k in removed:
        cols = np.flatnonzero(bad[k] & alive)
        need = float(np.max(dist[k, cols] - bound[k, cols], initial=0.0))
        excluded.append(
            ExcludedLandmark(
                ids[k],
                tuple(pair(k, int(j)) for j in cols),
                float(landmarks.uncertainty_km[k]) + need,
            )
        )
    kept_index = np.flatnonzero(alive).astype(np.int64)
    return VettingReport(landmarks.subset(kept_index), kept_index, tuple(excluded), everything)
