"""Throughput of chiptrail.geoloc.locate_chunks vs a straightforward shapely baseline.

Chips located per second on one core, 16 landmarks each, for 10k and 1M chips (streamed in chunks,
so peak memory stays flat), side by side with the baseline: shapely polygons of each disk
intersected chip by chip (measured on a subset and extrapolated). Prints the ratio.

Times are CPU seconds of this process (time.process_time) with BLAS pinned to one thread, so the
rates are per core even on a shared machine. A warm-up chunk runs first and is reported apart
(the first use of a raster level builds its column runs once per process). The chips' RTTs are
generated inside the timed loop (a small share of the time), as a stream would deliver them.

Run: python benchmarks/bench_locate.py [--quick] [--chips 10000,1000000] [--baseline 200]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from chiptrail.geoloc import (  # noqa: E402
    Calibration,
    Landmark,
    LandmarkSet,
    LocateOptions,
    great_circle_km,
    likely_radius_km,
    locate_chunks,
    proven_radius_km,
)
from chiptrail.geoloc.geojson import disk_outline  # noqa: E402
from chiptrail.service.location.geoloc import load_borders  # noqa: E402
from chiptrail.types import LandmarkId  # noqa: E402

C_KM_PER_MS = 299.792458
CHUNK = 4096


def landmarks(rng: np.random.Generator, n: int = 16) -> LandmarkSet:
    """n landmarks spread over East and South-East Asia."""
    lat = rng.uniform(-5.0, 40.0, n)
    lon = rng.uniform(95.0, 140.0, n)
    pts = enumerate(zip(lat.tolist(), lon.tolist(), strict=True))
    return LandmarkSet.of(Landmark(LandmarkId(f"lm{i}"), a, o) for i, (a, o) in pts)


def rtt_chunks(lm: LandmarkSet, n: int, seed: int) -> Iterator[np.ndarray]:
    """Honest RTTs of n chips in the same area: fibre at 2/3 c, 1.2-2x path stretch, +0.2 ms."""
    rng = np.random.default_rng(seed)
    for s in range(0, n, CHUNK):
        m = min(CHUNK, n - s)
        lat = rng.uniform(0.0, 35.0, m)
        lon = rng.uniform(100.0, 135.0, m)
        d = great_circle_km(lat[:, None], lon[:, None], lm.lat_deg, lm.lon_deg)
        yield 2.0 * d / (C_KM_PER_MS * 2 / 3) * rng.uniform(1.2, 2.0, d.shape) + 0.2


def run_ours(lm: LandmarkSet, n: int, opts: LocateOptions, borders: object) -> tuple[float, float]:
    """(CPU seconds, peak traced MiB) to locate n chips, streaming chunk by chunk."""
    tracemalloc.start()
    t0 = time.process_time()
    done = 0
    for part in locate_chunks(lm, rtt_chunks(lm, n, 1), options=opts, borders=borders):  # type: ignore[arg-type]
        done += len(part.status)
    dt = time.process_time() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert done == n
    return dt, peak


def run_baseline(lm: LandmarkSet, n: int) -> float:
    """CPU seconds for n chips: a 64-gon per disk (lon/lat), intersected one by one, centroid.

    Planar lon/lat polygons are what a first implementation would write; they are not even
    correct for large disks (hence make_valid), so the comparison flatters the baseline.
    """
    rtt = next(rtt_chunks(lm, n, 1))[:n]
    cal = Calibration.fallback(len(lm))
    proven = proven_radius_km(rtt)
    likely = likely_radius_km(rtt, cal, proven)
    t0 = time.process_time()
    for i in range(n):
        for radii in (proven[i], likely[i]):
            region = None
            for j in range(len(lm)):
                la, lo = disk_outline(
                    float(lm.lat_deg[j]), float(lm.lon_deg[j]), float(radii[j]), 64
                )
                poly = shapely.Polygon(np.column_stack([np.degrees(np.unwrap(np.radians(lo))), la]))
                if not poly.is_valid:  # disks over a pole fold over in lon/lat
                    poly = shapely.make_valid(poly)
                region = poly if region is None else region.intersection(poly)
            _ = region.centroid if region is not None else None
    return time.process_time() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chips", default="10000,1000000", help="comma-separated chip counts")
    p.add_argument("--baseline", type=int, default=200, help="chips for the baseline sample")
    p.add_argument("--quick", action="store_true", help="use 100k instead of 1M")
    args = p.parse_args()
    counts = [int(x) for x in args.chips.split(",")]
    if args.quick:
        counts = [min(c, 100_000) for c in counts]
    rng = np.random.default_rng(0)
    lm = landmarks(rng)
    borders = load_borders(None)
    # The first located chunk builds one-time state (the raster's column runs, numpy's caches):
    # timed apart, so the rates below are steady-state.
    warm_s, warm_mib = run_ours(lm, CHUNK, LocateOptions(), borders)
    print(
        f"one-time warm-up ({CHUNK:,} chips with countries): {warm_s:.2f} CPU s, {warm_mib:.0f} MiB"
    )
    base_s = run_baseline(lm, args.baseline)
    base_rate = args.baseline / base_s
    print(f"baseline (shapely, per chip, proven+likely, no countries): {base_rate:,.0f} chips/s")
    print("| chips | mode | CPU seconds | chips/s (1 core) | vs baseline | peak traced MiB |")
    print("|---|---|---|---|---|---|")
    for n in counts:
        for label, opts in (
            ("geometry", LocateOptions(with_countries=False)),
            ("geometry + countries", LocateOptions()),
        ):
            dt, peak = run_ours(lm, n, opts, borders)
            rate = n / dt
            print(
                f"| {n:,} | {label} | {dt:.1f} | {rate:,.0f} | {rate / base_rate:.0f}x "
                f"| {peak:.0f} |",
                flush=True,
            )
    print(
        f"(baseline measured on {args.baseline} chips; extrapolated: "
        f"{counts[-1] / base_rate:,.0f} CPU s for {counts[-1]:,})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
