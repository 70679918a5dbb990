"""Fit the simulator's latency model on real RIPE Atlas anchor-to-anchor RTTs.

Reads ../shared/data/latency/{hosts,measurements}.csv (or $CHIPTRAIL_SHARED/data/latency) and prints
the constants that ``chiptrail/sim/latency.py`` carries. The simulator never reads the data itself.

Model: min_rtt_ms = 2 * d_km / FIBRE_KM_PER_MS * inflation + last_mile_ms, where inflation (route
detours) is log-normal and last_mile_ms is the intercept; fitted on the lower envelope (the 10th
percentile of RTT/fibre-bound per distance bin) and the spread of log(inflation) above it.

Usage: python benchmarks/fit_latency.py
"""

from __future__ import annotations

import csv
import itertools
import math
import os
from pathlib import Path

import numpy as np

FIBRE_KM_PER_MS = 299.792458 * 2 / 3


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def main() -> None:
    root = Path(os.environ.get("CHIPTRAIL_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    folder = root / "data" / "latency"
    with (folder / "hosts.csv").open() as f:
        hosts = {r["id"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f)}
    dist, rtt = [], []
    with (folder / "measurements.csv").open() as f:
        for r in csv.DictReader(f):
            a, b = hosts.get(r["src_id"]), hosts.get(r["dst_id"])
            if a is None or b is None:
                continue
            dist.append(_haversine_km(*a, *b))
            rtt.append(float(r["min_rtt_ms"]))
    d, t = np.array(dist), np.array(rtt)
    bound = 2 * d / FIBRE_KM_PER_MS
    far = d > 500
    # lower envelope: RTT ~= last_mile + infl_min * bound; least squares on the per-bin 10th pct
    bins = np.quantile(d[far], np.linspace(0, 1, 11))
    xs, ys = [], []
    for lo, hi in itertools.pairwise(bins):
        m = far & (d >= lo) & (d <= hi)
        xs.append(np.median(bound[m]))
        ys.append(np.quantile(t[m], 0.10))
    slope, intercept = np.polyfit(np.array(xs), np.array(ys), 1)
    last_mile = max(float(intercept), 0.5)
    infl = (t[far] - last_mile) / bound[far]
    log_infl = np.log(np.clip(infl, 1.0, None))
    print(f"pairs: {len(d)}, with d > 500 km: {int(far.sum())}")
    print(f"lower-envelope slope (route inflation at 10th pct): {slope:.3f}")
    print(f"intercept (last mile + queueing floor) ms: {intercept:.3f} -> used {last_mile:.2f}")
    print(
        f"inflation median {np.median(infl):.3f}, p10 {np.quantile(infl, 0.1):.3f}, "
        f"p90 {np.quantile(infl, 0.9):.3f}"
    )
    print(f"log-inflation mean {log_infl.mean():.3f} sd {log_infl.std():.3f}")
    print(f"RTT / (d / 100 km per ms) median {np.median(t[far] / (d[far] / 100)):.3f}")


if __name__ == "__main__":
    main()
