"""Location verdicts for the simulator's probe rounds through ``chiptrail.geoloc``.

No I/O. ``calibrate_world`` shows how a deployment would calibrate (CBG bestlines) on its own
landmark mesh; the judge itself uses the fibre fallback (see ``judge_rounds_geoloc``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc import (
    Calibration,
    DeclaredSite,
    Landmark,
    LandmarkSet,
    LocateOptions,
    LocationVerdict,
    calibrate_landmarks,
    great_circle_km,
    judge_targets,
)
from chiptrail.rules.view import LocationFix
from chiptrail.sim.latency import simulate_rtt_ms
from chiptrail.sim.probing import VERIFY_RADIUS_KM
from chiptrail.sim.world import World
from chiptrail.types import Country, LandmarkId, Verdict

CHUNK = 20_000
FAST = LocateOptions(grid_size=8, refine_passes=0, with_countries=False)
FULL = LocateOptions(grid_size=12, refine_passes=1)


def landmark_set(world: World) -> LandmarkSet:
    """The world's landmarks as a geoloc ``LandmarkSet`` (column order = ``world.landmarks``)."""
    return LandmarkSet(
        tuple(
            Landmark(LandmarkId(m.landmark_id), m.lat, m.lon, Country(m.country))
            for m in world.landmarks
        )
    )


def calibrate_world(world: World, lms: LandmarkSet, seed: int) -> Calibration:
    """CBG calibration from a simulated landmark-to-landmark RTT mesh."""
    rng = np.random.default_rng(seed)
    dist = great_circle_km(
        lms.lat_deg[:, None], lms.lon_deg[:, None], lms.lat_deg[None, :], lms.lon_deg[None, :]
    )
    rtt = simulate_rtt_ms(dist, rng)
    np.fill_diagonal(rtt, np.nan)
    return calibrate_landmarks(dist, rtt)


def _rtt_matrix(world: World, rows: NDArray[np.int64], n_landmarks: int) -> NDArray[np.float64]:
    r = world.rounds
    rtt = np.full((len(rows), n_landmarks), np.nan)
    at = np.arange(len(rows))
    for k in range(r.rtt_ms.shape[1]):
        cols = r.landmark_index[rows, k]
        # several columns may name the same landmark: keep the minimum RTT
        rtt[at, cols] = np.fmin(rtt[at, cols], r.rtt_ms[rows, k])
    return rtt


def _judge(
    world: World, lms: LandmarkSet, rows: NDArray[np.int64], opts: LocateOptions
) -> tuple[LocationVerdict, ...]:
    sites = world.site_list
    declared = [
        DeclaredSite(s.lat, s.lon, s.country, radius_km=VERIFY_RADIUS_KM)
        for s in (sites[int(i)] for i in world.rounds.site_index[rows])
    ]
    cal = Calibration.fallback(len(lms))
    out: list[LocationVerdict] = []
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        rtt = _rtt_matrix(world, part, len(lms))
        out += judge_targets(lms, rtt, declared[start : start + CHUNK], cal, options=opts)
    return tuple(out)


def judge_rounds_geoloc(world: World) -> tuple[LocationFix, ...]:
    """One ``LocationFix`` per probe round, judged by ``geoloc.judge_targets``.

    Two passes for speed: every round without country attribution (a proven region within
    ``VERIFY_RADIUS_KM`` of the site verifies), then the rounds that did not verify again with
    countries, so violations carry the countries their proven region meets. Likely bounds use
    geoloc's fibre fallback (no CBG calibration: the simulated routes are not persistent per pair).
    """
    r = world.rounds
    if len(r) == 0:
        return ()
    lms = landmark_set(world)
    rows = np.arange(len(r), dtype=np.int64)
    verdicts = list(_judge(world, lms, rows, FAST))
    again = np.array(
        [i for i, v in enumerate(verdicts) if v.verdict is not Verdict.VERIFIED], dtype=np.int64
    )
    if again.size:
        for i, v in zip(again.tolist(), _judge(world, lms, again, FULL), strict=True):
            verdicts[i] = v
    coords = {m.landmark_id: (m.lat, m.lon) for m in world.landmarks}
    k = r.rtt_ms.shape[1]
    rtts = round_rtts(world)
    fixes: list[LocationFix] = []
    for i, v in enumerate(verdicts):
        site = world.site_list[int(r.site_index[i])]
        tight = min(v.evidence, key=lambda e: e.bound_km, default=None)
        lat, lon = coords[str(tight.landmark_id)] if tight else (site.lat, site.lon)
        fixes.append(
            LocationFix(
                fix_id=f"F-{i:08d}",
                chip_id=world.chip_ids[int(r.chip_index[i])],
                at=world.at(float(r.at_days[i])),
                verdict=v.verdict,
                site_id=site.site_id,
                lat=lat,
                lon=lon,
                radius_km=tight.bound_km if tight else float("inf"),
                proven_countries=v.proven_countries,
                landmark_ids=tuple(str(e.landmark_id) for e in v.evidence),
                measurement_ids=tuple(f"M-{i:08d}-{j}" for j in range(k)),
                explanation=v.reason,
                rtts_ms=rtts[i],
                likely_countries=v.likely_countries,
            )
        )
    return tuple(fixes)


def round_rtts(world: World) -> list[tuple[tuple[str, float], ...]]:
    """Each round's minimum RTT (ms) per challenging landmark, as ``(landmark_id, rtt_ms)``."""
    r = world.rounds
    ids = [m.landmark_id for m in world.landmarks]
    out: list[tuple[tuple[str, float], ...]] = []
    for lms, rtt in zip(r.landmark_index.tolist(), r.rtt_ms.tolist(), strict=True):
        best: dict[str, float] = {}
        for j, ms in zip(lms, rtt, strict=True):
            lm = ids[j]
            best[lm] = min(ms, best.get(lm, ms))
        out.append(tuple((lm, round(ms, 3)) for lm, ms in sorted(best.items())))
    return out
