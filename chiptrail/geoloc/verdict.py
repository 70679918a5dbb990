"""Location verdicts: a chip's measured region judged against its declared site.

No I/O. VIOLATION when the declared site lies outside the proven region (with the landmarks that
prove it), SUSPECT when it lies outside the likely region only, VERIFIED when the proven region
stays within the licensed country or within the configured radius of the site, UNVERIFIED otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.errors import InvalidInput
from chiptrail.geoloc.borders import BorderIndex
from chiptrail.geoloc.bounds import Calibration, disk_radii
from chiptrail.geoloc.landmarks import LandmarkSet, check_coordinates
from chiptrail.geoloc.region import LocateOptions, LocateResult, locate_targets
from chiptrail.geoloc.sphere import great_circle_km
from chiptrail.types import Country, LandmarkId, Verdict

LIKELY_TOLERANCE_KM = 1.0
"""A site must lie this far beyond a likely bound to be SUSPECT (proven bounds have none)."""


@dataclass(frozen=True, slots=True)
class DeclaredSite:
    """Where a chip is licensed to be.

    Attributes:
        lat, lon: WGS84 degrees of the declared data centre.
        country: ISO2 of the licence.
        radius_km: when set, a proven region within this distance of the site is VERIFIED even if
            it crosses a border (useful for sites near borders, e.g. Johor Bahru).
    """

    lat: float
    lon: float
    country: Country
    radius_km: float | None = None

    def __post_init__(self) -> None:
        check_coordinates(self.lat, self.lon, "declared site")
        if self.radius_km is not None and not (
            math.isfinite(self.radius_km) and self.radius_km > 0
        ):
            raise InvalidInput(
                "declared site: radius_km must be a positive number",
                {"field": "radius_km", "value": self.radius_km},
            )


@dataclass(frozen=True, slots=True)
class LandmarkEvidence:
    """One landmark's measurement and what it bounds.

    ``distance_km > bound_km`` means this measurement excludes the declared site.

    Attributes:
        landmark_id: the landmark that measured.
        rtt_ms: the (minimum) round-trip time.
        bound_km: the proven (or likely) radius derived from the RTT.
        distance_km: great-circle distance from the landmark to the declared site.
        kind: "proven" (light speed plus margins) or "likely" (calibrated).
    """

    landmark_id: LandmarkId
    rtt_ms: float
    bound_km: float
    distance_km: float
    kind: str

    @property
    def excess_km(self) -> float:
        """How far beyond the bound the site lies (negative: inside)."""
        return self.distance_km - self.bound_km


@dataclass(frozen=True, slots=True)
class LocationVerdict:
    """A verdict with the evidence that supports it (STYLE.md section 6).

    Attributes:
        verdict: VIOLATION, SUSPECT, VERIFIED or UNVERIFIED.
        reason: one sentence for people.
        evidence: the measurements that decide it (excluding landmarks for VIOLATION/SUSPECT, the
            tightest landmarks otherwise), most decisive first.
        proven_countries, likely_countries: every country the regions meet.
        lat, lon: point estimate (NaN when there is none).
        n_landmarks: landmarks that measured the chip.
    """

    verdict: Verdict
    reason: str
    evidence: tuple[LandmarkEvidence, ...]
    proven_countries: tuple[Country, ...]
    likely_countries: tuple[Country, ...]
    lat: float
    lon: float
    n_landmarks: int


def judge_location(
    landmarks: LandmarkSet,
    rtt_ms: NDArray[np.float64],
    site: DeclaredSite,
    calibration: Calibration | None = None,
    *,
    options: LocateOptions | None = None,
    borders: BorderIndex | None = None,
    min_landmarks: int = 1,
) -> LocationVerdict:
    """Judge one chip's RTTs (shape (n_landmarks,), NaN = not measured) against its declared site.

    See :func:`judge_targets` for the rules; this is the one-chip form.
    """
    row = np.asarray(rtt_ms, dtype=np.float64).reshape(1, -1)
    return judge_targets(
        landmarks,
        row,
        [site],
        calibration,
        options=options,
        borders=borders,
        min_landmarks=min_landmarks,
    )[0]


def judge_targets(
    landmarks: LandmarkSet,
    rtt_ms: NDArray[np.float64],
    sites: Sequence[DeclaredSite],
    calibration: Calibration | None = None,
    *,
    located: LocateResult | None = None,
    options: LocateOptions | None = None,
    borders: BorderIndex | None = None,
    min_landmarks: int = 1,
) -> tuple[LocationVerdict, ...]:
    """Judge many chips at once.

    Rules, in order (``f`` = ``options.max_liars``, tolerated lying landmarks):
      VIOLATION  more than f landmarks each prove the site is farther than light allows;
      SUSPECT    more than f calibrated (likely) bounds exclude the site;
      VERIFIED   the proven region meets no country but the licensed one (sea ignored), or it
                 lies within ``site.radius_km`` of the site;
      UNVERIFIED fewer than ``min_landmarks`` measurements, or the region is too wide.

    Args:
        landmarks: the landmark set (columns of ``rtt_ms``).
        rtt_ms: (n_targets, n_landmarks) minimum RTTs in ms, NaN = not measured.
        sites: one declared site per row.
        calibration: likely-bound lines; None = fibre fallback.
        located: the result of locate_targets on the same input, to avoid recomputing it.
        options, borders: passed to locate_targets.
        min_landmarks: fewer measurements than this give UNVERIFIED.

    Returns:
        One LocationVerdict per row.
    """
    rtt = np.asarray(rtt_ms, dtype=np.float64)
    if len(sites) != rtt.shape[0]:
        raise InvalidInput("judge_targets: one declared site per RTT row is required", {})
    opts = options or LocateOptions()
    cal = calibration or Calibration.fallback(len(landmarks))
    loc = located or locate_targets(landmarks, rtt, cal, options=opts, borders=borders)
    s_lat = np.array([s.lat for s in sites], dtype=np.float64)
    s_lon = np.array([s.lon for s in sites], dtype=np.float64)
    dist = great_circle_km(s_lat[:, None], s_lon[:, None], landmarks.lat_deg, landmarks.lon_deg)
    t = np.nan_to_num(loc.widened, nan=0.0)[:, None]
    proven, likely = disk_radii(
        rtt, landmarks.uncertainty_km, cal, widened=t, earth_margin=opts.earth_margin
    )
    p_out = np.nan_to_num(dist - proven, nan=-np.inf)
    # The bestline touches its lowest peer, so a peer judged as a target sits on its likely
    # boundary: a small tolerance keeps rounding from turning that into SUSPECT.
    l_out = np.nan_to_num(dist - likely - LIKELY_TOLERANCE_KM, nan=-np.inf)
    n_p = np.count_nonzero(p_out > 0, axis=1)
    n_l = np.count_nonzero(l_out > 0, axis=1)
    to_est = great_circle_km(s_lat, s_lon, loc.lat_deg, loc.lon_deg)
    disk_inside = np.nan_to_num(dist + proven, nan=np.inf)
    ids = landmarks.ids
    proven_sorted = np.argsort(np.where(np.isnan(proven), np.inf, proven), axis=1)
    out: list[LocationVerdict] = []
    for i, site in enumerate(sites):

        def ev(
            cols: NDArray[np.intp], bound: NDArray[np.float64], kind: str, i: int = i
        ) -> Evidence:
            return tuple(
                LandmarkEvidence(
                    ids[j], float(rtt[i, j]), float(bound[i, j]), float(dist[i, j]), kind
                )
                for j in cols.tolist()
            )

        n_meas = int(loc.n_landmarks[i])
        tight = proven_sorted[i, : min(3, n_meas)]
        need = max(min_landmarks, 1)
        if n_meas < need:
            reason = f"only {n_meas} landmark measurement(s); at least {need} needed"
            out.append(_verdict(Verdict.UNVERIFIED, reason, (), loc, i))
        elif n_p[i] > opts.max_liars:
            e = ev(np.argsort(-p_out[i])[: n_p[i]], proven, "proven")
            reason = (
                f"declared site is {e[0].distance_km:.0f} km from landmark {e[0].landmark_id}, "
                f"but its RTT of {e[0].rtt_ms:.3f} ms allows at most {e[0].bound_km:.0f} km"
            )
            out.append(_verdict(Verdict.VIOLATION, reason, e, loc, i))
        elif n_l[i] > opts.max_liars:
            e = ev(np.argsort(-l_out[i])[: n_l[i]], likely, "likely")
            reason = (
                f"declared site is {e[0].distance_km:.0f} km from landmark {e[0].landmark_id}, "
                f"beyond the calibrated {e[0].bound_km:.0f} km for {e[0].rtt_ms:.3f} ms"
            )
            out.append(_verdict(Verdict.SUSPECT, reason, e, loc, i))
        elif loc.proven_countries[i] == (site.country,):
            reason = f"proven region lies within {site.country}"
            out.append(_verdict(Verdict.VERIFIED, reason, ev(tight, proven, "proven"), loc, i))
        else:
            reach = min(float(np.min(disk_inside[i])), float(to_est[i] + loc.proven_radius_km[i]))
            if site.radius_km is not None and reach <= site.radius_km:
                reason = f"proven region lies within {reach:.0f} km of the declared site"
                verdict = Verdict.VERIFIED
            else:
                met = ", ".join(loc.proven_countries[i]) or "no country"
                reason = f"proven region meets {met}; licensed {site.country}"
                verdict = Verdict.UNVERIFIED
            out.append(_verdict(verdict, reason, ev(tight, proven, "proven"), loc, i))
    return tuple(out)


Evidence = tuple[LandmarkEvidence, ...]


def _verdict(
    verdict: Verdict, reason: str, evidence: Evidence, loc: LocateResult, i: int
) -> LocationVerdict:
    return LocationVerdict(
        verdict=verdict,
        reason=reason,
        evidence=evidence,
        proven_countries=loc.proven_countries[i],
        likely_countries=loc.likely_countries[i],
        lat=float(loc.lat_deg[i]),
        lon=float(loc.lon_deg[i]),
        n_landmarks=int(loc.n_landmarks[i]),
    )
