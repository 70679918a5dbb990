"""How the simulator scales: world build time from 1k to 1M chips, and the vectorised probe rounds
against a per-chip Python loop (the baseline) on the same chips.

Usage: python benchmarks/sim_scale.py [MAX_CHIPS]   (default 100000; 1000000 needs ~3 GB RAM)
"""

from __future__ import annotations

import sys
import time

import numpy as np

from chiptrail.sim.latency import distance_km, simulate_rtt_ms
from chiptrail.sim.scenarios import build_world


def _loop_rtts(lat: np.ndarray, lon: np.ndarray, lm_lat: np.ndarray, lm_lon: np.ndarray) -> list:
    rng = np.random.default_rng(0)
    out = []
    for a, b in zip(lat, lon, strict=True):
        row = []
        for c, d in zip(lm_lat, lm_lon, strict=True):
            dist = distance_km(np.array([a]), np.array([b]), np.array([c]), np.array([d]))
            row.append(float(simulate_rtt_ms(dist, rng)[0]))
        out.append(row)
    return out


def main() -> None:
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    sizes = [n for n in (1_000, 10_000, 100_000, 1_000_000) if n <= top]
    print("chips      build_s   probe_rounds   events   incidents")
    for n in sizes:
        t = time.perf_counter()
        w = build_world(n, seed=1)
        print(
            f"{n:>9,} {time.perf_counter() - t:>9.2f} {len(w.rounds):>14,} "
            f"{len(w.events):>8,} {len(w.incidents):>11}"
        )
    rng = np.random.default_rng(1)
    k = 2000
    lat, lon = rng.uniform(-60, 60, k), rng.uniform(-180, 180, k)
    lm_lat, lm_lon = rng.uniform(-60, 60, 4), rng.uniform(-180, 180, 4)
    t = time.perf_counter()
    d = distance_km(lat[:, None], lon[:, None], lm_lat[None, :], lm_lon[None, :])
    simulate_rtt_ms(d, rng)
    vec = time.perf_counter() - t
    t = time.perf_counter()
    _loop_rtts(lat, lon, lm_lat, lm_lon)
    loop = time.perf_counter() - t
    print(
        f"RTTs for {k} chips x 4 landmarks: vectorised {vec * 1e3:.2f} ms, "
        f"per-chip loop {loop * 1e3:.0f} ms, ratio {loop / vec:.0f}x"
    )


if __name__ == "__main__":
    main()
