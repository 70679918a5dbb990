"""Landmark planning: which pairs of places a deployment can tell apart, and what to add.

No I/O. A deployment tells a declared place A from a diversion place B when an honest chip at A
gets a proven region that excludes B: then a chip at B can never be VERIFIED at A (its own region
always contains B, since delay can be added but never removed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.bounds import EARTH_MODEL_MARGIN, FIBRE_SLOPE_MS_PER_KM, proven_radius_km
from chiptrail.geoloc.landmarks import Landmark, LandmarkSet, check_coordinates
from chiptrail.geoloc.sphere import great_circle_km
from chiptrail.types import LandmarkId


@dataclass(frozen=True, slots=True)
class Place:
    """A named place (lat, lon in WGS84 degrees)."""

    name: str
    lat: float
    lon: float

    def __post_init__(self) -> None:
        check_coordinates(self.lat, self.lon, f"place {self.name}")


@dataclass(frozen=True, slots=True)
class PlacePair:
    """Declared place ``a`` (where the licence says) vs diversion place ``b``."""

    a: Place
    b: Place

    @property
    def label(self) -> str:
        """``"a vs b"``."""
        return f"{self.a.name} vs {self.b.name}"


@dataclass(frozen=True, slots=True)
class RttModel:
    """Best-case RTT an honest chip sees: ``overhead_ms + slope_ms_per_km * distance``.

    Defaults: straight fibre at 2/3 c and 0.2 ms of processing and last-mile delay.
    """

    slope_ms_per_km: float = FIBRE_SLOPE_MS_PER_KM
    overhead_ms: float = 0.2
    earth_margin: float = EARTH_MODEL_MARGIN


@dataclass(frozen=True, slots=True)
class PairSeparation:
    """Whether a pair is told apart, and by which landmark.

    Attributes:
        pair: the pair.
        landmark_id: the landmark that separates it best (None if none does).
        margin_km: distance from that landmark to B minus the proven radius of an honest chip at A
            (> 0: separated).
    """

    pair: PlacePair
    landmark_id: LandmarkId | None
    margin_km: float

    @property
    def separated(self) -> bool:
        """True when the margin is positive."""
        return self.margin_km > 0


@dataclass(frozen=True, slots=True)
class LandmarkPlan:
    """What the current deployment separates and the smallest addition found for the rest.

    Attributes:
        current: per pair, with the deployed landmarks only.
        additions: candidate landmark ids to add, in greedy order.
        planned: per pair, with the additions.
        unseparable: labels of pairs no candidate separates.
    """

    current: tuple[PairSeparation, ...]
    additions: tuple[LandmarkId, ...]
    planned: tuple[PairSeparation, ...]
    unseparable: tuple[str, ...]


def separation_margins(
    landmarks: LandmarkSet, pairs: Sequence[PlacePair], model: RttModel
) -> NDArray[np.float64]:
    """(n_pairs, n_landmarks) margins in km; > 0 where the landmark separates the pair."""
    a_lat = np.array([p.a.lat for p in pairs])
    a_lon = np.array([p.a.lon for p in pairs])
    b_lat = np.array([p.b.lat for p in pairs])
    b_lon = np.array([p.b.lon for p in pairs])
    lat, lon = landmarks.lat_deg, landmarks.lon_deg
    d_a = great_circle_km(a_lat[:, None], a_lon[:, None], lat, lon)
    d_b = great_circle_km(b_lat[:, None], b_lon[:, None], lat, lon)
    rtt = model.overhead_ms + model.slope_ms_per_km * d_a
    radius = proven_radius_km(rtt, landmarks.uncertainty_km, earth_margin=model.earth_margin)
    return np.asarray(d_b - radius)


def _best(
    landmarks: LandmarkSet, pairs: Sequence[PlacePair], margins: NDArray[np.float64]
) -> tuple[PairSeparation, ...]:
    if margins.shape[1] == 0:
        return tuple(PairSeparation(p, None, float("-inf")) for p in pairs)
    k = np.argmax(margins, axis=1)
    best = margins[np.arange(len(pairs)), k]
    ids = landmarks.ids
    return tuple(
        PairSeparation(p, ids[int(j)] if m > 0 else None, float(m))
        for p, j, m in zip(pairs, k, best, strict=True)
    )


def plan_landmarks(
    deployed: LandmarkSet,
    candidates: LandmarkSet,
    pairs: Sequence[PlacePair],
    model: RttModel | None = None,
) -> LandmarkPlan:
    """Report which pairs the deployment separates and add candidates by greedy set cover.

    Args:
        deployed: landmarks already running.
        candidates: sites where a landmark could be added.
        pairs: (declared place, diversion place) pairs to tell apart.
        model: the best-case RTT model of an honest chip.

    Returns:
        The plan: current separation, additions in greedy order, separation with them, and
        the pairs no candidate can separate.
    """
    m = model or RttModel()
    cur_m = separation_margins(deployed, pairs, m)
    current = _best(deployed, pairs, cur_m)
    todo = {i for i, s in enumerate(current) if not s.separated}
    cand_m = separation_margins(candidates, pairs, m) > 0
    chosen: list[int] = []
    while todo:
        rows = np.array(sorted(todo))
        gain = cand_m[rows].sum(axis=0)
        if gain.size == 0 or gain.max() == 0:
            break
        k = int(np.argmax(gain))
        chosen.append(k)
        todo -= {int(r) for r in rows[cand_m[rows, k]]}
    added = candidates.subset(chosen)
    full = LandmarkSet(deployed.landmarks + added.landmarks)
    planned = _best(full, pairs, separation_margins(full, pairs, m))
    return LandmarkPlan(
        current=current,
        additions=added.ids,
        planned=planned,
        unseparable=tuple(pairs[i].label for i in sorted(todo)),
    )


@dataclass(frozen=True, slots=True)
class LandmarkProposal:
    """The one place where a new landmark best separates a site from its neighbouring places.

    Attributes:
        place: where to put it.
        preferred: True when ``place`` is one of the preferred candidates (say, another party's
            declared site, where a landmark can be hosted by someone other than the operator).
        separated: labels of the pairs it separates that the deployment leaves open.
        already: labels of the pairs the deployed landmarks separate already.
        unseparable: labels of the pairs no candidate separates (closer than an honest chip's
            proven radius at any candidate).
        margin_km: the smallest separation margin over ``separated`` (km; inf when none).
    """

    place: Place
    preferred: bool
    separated: tuple[str, ...]
    already: tuple[str, ...]
    unseparable: tuple[str, ...]
    margin_km: float


def _places_as_landmarks(places: Sequence[Place]) -> LandmarkSet:
    return LandmarkSet(
        tuple(Landmark(LandmarkId(f"candidate-{i}"), p.lat, p.lon) for i, p in enumerate(places))
    )


def propose_landmark(
    site: Place,
    neighbours: Sequence[Place],
    deployed: LandmarkSet,
    preferred: Sequence[Place],
    fallback: Sequence[Place],
    model: RttModel | None = None,
) -> LandmarkProposal:
    """Choose one landmark place that separates ``site`` from the most ``neighbours`` that the
    deployed landmarks cannot already tell apart from it.

    Each candidate is scored by how many open pairs (site, neighbour) it separates, then by its
    smallest margin over them. A preferred candidate that separates as many pairs as the best
    candidate overall wins over a fallback, a fallback over ``site`` itself: a landmark at the
    site gives an honest chip there the smallest proven radius, but it is hosted by the very
    operator whose chips it should verify, so it is the last resort.

    Args:
        site: the declared site that cannot be verified.
        neighbours: places a chip could be instead (other countries' sites or points).
        deployed: the landmarks already running.
        preferred: candidate places in order of preference.
        fallback: further candidates (points near the site).
        model: the best-case RTT model of an honest chip.

    Returns:
        The proposal; with no neighbours, the first preferred candidate (else the site).
    """
    m = model or RttModel()
    pairs = [PlacePair(site, b) for b in neighbours]
    candidates = [*preferred, *fallback, site]
    first = preferred[0] if preferred else site
    if not pairs:
        return LandmarkProposal(first, bool(preferred), (), (), (), math.inf)
    current = _best(deployed, pairs, separation_margins(deployed, pairs, m))
    open_rows = [i for i, s in enumerate(current) if not s.separated]
    already = tuple(pairs[i].label for i, s in enumerate(current) if s.separated)
    if not open_rows:
        return LandmarkProposal(first, bool(preferred), (), already, (), math.inf)
    todo = [pairs[i] for i in open_rows]
    margins = separation_margins(_places_as_landmarks(candidates), todo, m)  # (pairs, cands)
    ok = margins > 0
    counts = ok.sum(axis=0)
    worst = np.where(ok, margins, np.inf).min(axis=0)
    best_count = int(counts.max())
    n_pref = len(preferred)

    def pick(lo: int, hi: int) -> int | None:
        idx = [j for j in range(lo, hi) if int(counts[j]) == best_count]
        return max(idx, key=lambda j: (float(worst[j]), -j)) if idx else None

    j = pick(0, n_pref)
    if j is None:
        j = pick(n_pref, len(candidates) - 1)
    j = len(candidates) - 1 if j is None else j  # the site itself, last
    covered = np.asarray(ok.any(axis=1), dtype=bool)
    return LandmarkProposal(
        place=candidates[j],
        preferred=j < n_pref,
        separated=tuple(p.label for i, p in enumerate(todo) if ok[i, j]),
        already=already,
        unseparable=tuple(p.label for i, p in enumerate(todo) if not covered[i]),
        margin_km=float(worst[j]) if best_count else math.inf,
    )
