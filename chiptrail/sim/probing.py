"""Probe rounds: which landmarks challenge which chip when, and the RTTs they time.

No I/O. Also holds the simulator's own simplified verdict (``judge_rounds_simple``), used where
``chiptrail.geoloc`` is not wired in: proven disks of radius c * RTT / 2 around each landmark.
"""

from __future__ import annotations

import numpy as np

from chiptrail.rules.view import LocationFix, Site
from chiptrail.sim._builder import ChipMotion
from chiptrail.sim.latency import (
    C_KM_PER_MS,
    FIBRE_KM_PER_MS,
    FloatArray,
    distance_km,
    simulate_rtt_ms,
)
from chiptrail.sim.world import IntArray, ProbeRounds, SimLandmark, World
from chiptrail.types import Verdict

SITE_LANDMARKS = 3
"""Landmarks nearest to the declared site that challenge a chip each round."""
DROPOUT = 0.03
"""Share of rounds an honest chip misses (maintenance, network)."""
VERIFY_RADIUS_KM = 500.0
"""A fix is VERIFIED when the proven region lies within this radius of the declared site."""
MARGIN_KM = 25.0
"""Coordinate uncertainty added to every proven radius."""


def _nearest(lat: FloatArray, lon: FloatArray, lms: tuple[SimLandmark, ...], k: int) -> IntArray:
    lm_lat = np.array([m.lat for m in lms])
    lm_lon = np.array([m.lon for m in lms])
    d = distance_km(lat[:, None], lon[:, None], lm_lat[None, :], lm_lon[None, :])
    out: IntArray = np.argsort(d, axis=1)[:, :k].astype(np.int64)
    return out


def simulate_rounds(
    motion: ChipMotion,
    sites: tuple[Site, ...],
    landmarks: tuple[SimLandmark, ...],
    rng: np.random.Generator,
    round_days: FloatArray,
) -> ProbeRounds:
    """Simulate every probe round: positions from ``motion``, honest RTTs from the latency model.

    Args:
        motion: per-chip declared site, install time and away periods (days relative to now).
        sites: the world's sites (index order of ``motion.site``).
        landmarks: the probe servers.
        rng: the world's generator.
        round_days: (R,) days of each round relative to now.

    Returns:
        One row per answered (chip, round).
    """
    site_idx = np.array(motion.site, dtype=np.int64)
    installed = np.array(motion.installed_at)
    away_from, away_until = np.array(motion.away_from), np.array(motion.away_until)
    away_lat, away_lon = np.array(motion.away_lat), np.array(motion.away_lon)
    away_answers, never = np.array(motion.away_answers), np.array(motion.never_answers)
    relay = np.array(motion.away_relay, dtype=bool)
    s_lat = np.array([s.lat for s in sites] or [0.0])
    s_lon = np.array([s.lon for s in sites] or [0.0])
    lm_lat = np.array([m.lat for m in landmarks])
    lm_lon = np.array([m.lon for m in landmarks])
    site_near = _nearest(s_lat, s_lon, landmarks, SITE_LANDMARKS)
    parts: list[tuple[IntArray, FloatArray, IntArray, IntArray, FloatArray]] = []
    for day in round_days:
        t = day + rng.uniform(0.0, 0.5, site_idx.shape)
        away = (away_from <= t) & (t < away_until)
        ok = (site_idx >= 0) & (installed <= t) & ~never & (rng.random(site_idx.shape) > DROPOUT)
        ok &= ~away | away_answers
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            continue
        site = site_idx[idx]
        lat = np.where(away[idx], away_lat[idx], s_lat[site])
        lon = np.where(away[idx], away_lon[idx], s_lon[site])
        own = _nearest(lat, lon, landmarks, 1)
        # a relaying chip answers only its site's landmarks (it hides from those near it)
        own = np.where((away[idx] & relay[idx])[:, None], site_near[site][:, :1], own)
        lms = np.concatenate([site_near[site], own], axis=1)
        d = distance_km(lat[:, None], lon[:, None], lm_lat[lms], lm_lon[lms])
        parts.append((idx, t[idx], site, lms, simulate_rtt_ms(d, rng)))
    if not parts:
        k = SITE_LANDMARKS + 1
        return ProbeRounds(
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros(0, np.int64),
            np.zeros((0, k), np.int64),
            np.zeros((0, k)),
        )
    return ProbeRounds(
        chip_index=np.concatenate([p[0] for p in parts]),
        at_days=np.concatenate([p[1] for p in parts]),
        site_index=np.concatenate([p[2] for p in parts]),
        landmark_index=np.concatenate([p[3] for p in parts]),
        rtt_ms=np.concatenate([p[4] for p in parts]),
    )


def judge_rounds_simple(world: World) -> tuple[LocationFix, ...]:
    """Verdict per round with proven disks (c * RTT / 2 + margin) and likely disks (fibre speed).

    VIOLATION: the declared site lies outside some proven disk. VERIFIED: some proven disk lies
    within ``VERIFY_RADIUS_KM`` of the site. SUSPECT: outside some likely disk only. Else
    UNVERIFIED. The point estimate is the landmark with the smallest RTT.
    """
    r = world.rounds
    if len(r) == 0:
        return ()
    lm_lat = np.array([m.lat for m in world.landmarks])
    lm_lon = np.array([m.lon for m in world.landmarks])
    s_lat = np.array([s.lat for s in world.site_list])[r.site_index]
    s_lon = np.array([s.lon for s in world.site_list])[r.site_index]
    d_site = distance_km(
        s_lat[:, None], s_lon[:, None], lm_lat[r.landmark_index], lm_lon[r.landmark_index]
    )
    proven = r.rtt_ms * C_KM_PER_MS / 2 + MARGIN_KM
    likely = r.rtt_ms * FIBRE_KM_PER_MS / 2 + MARGIN_KM
    violation = np.asarray((d_site > proven).any(axis=1)).tolist()
    verified = np.asarray((d_site + proven <= VERIFY_RADIUS_KM).any(axis=1)).tolist()
    suspect = np.asarray((d_site > likely).any(axis=1)).tolist()
    best = np.argmin(r.rtt_ms, axis=1)
    rows = np.arange(len(r))
    best_lm = r.landmark_index[rows, best]
    radius = proven[rows, best]
    fixes = []
    for i in range(len(r)):
        if violation[i]:
            verdict = Verdict.VIOLATION
        elif verified[i]:
            verdict = Verdict.VERIFIED
        elif suspect[i]:
            verdict = Verdict.SUSPECT
        else:
            verdict = Verdict.UNVERIFIED
        lm = world.landmarks[int(best_lm[i])]
        chip = world.chip_ids[int(r.chip_index[i])]
        fixes.append(
            LocationFix(
                fix_id=f"F-{i:08d}",
                chip_id=chip,
                at=world.at(float(r.at_days[i])),
                verdict=verdict,
                site_id=world.site_list[int(r.site_index[i])].site_id,
                lat=lm.lat,
                lon=lm.lon,
                radius_km=float(radius[i]),
                landmark_ids=tuple(
                    world.landmarks[int(j)].landmark_id for j in r.landmark_index[i]
                ),
                measurement_ids=tuple(f"M-{i:08d}-{k}" for k in range(r.rtt_ms.shape[1])),
                explanation=f"min RTT {float(r.rtt_ms[i, best[i]]):.1f} ms from {lm.landmark_id}",
            )
        )
    return tuple(fixes)
