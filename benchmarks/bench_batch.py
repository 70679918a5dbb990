"""Batch location verification: chips per second, local path vs Spark local[1] and local[2].

Run: python benchmarks/bench_batch.py [--chips 20000] [--masters local[1],local[2]]
         [--local-workers 2] [--pivot-chips 1000000] [--countries]

One run measures side by side, on the same simulated Parquet set:
  - the local path (DuckDB pivot + the numpy kernel in this process), the baseline;
  - the local path with the kernel in N worker processes, for each ``--local-workers`` N;
  - Spark ``local[N]`` for each master (JVM start timed separately from the job);
  - optionally the pivot alone (simulate + DuckDB pivot, no kernel) at a larger size, to show the
    I/O side at scale.
It prints chips/s, the ratio to the local path and a linear extrapolation to 1M and 10M chips
(both paths stream, so time is linear in chips and memory flat; the extrapolation says so).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from chiptrail.batch.kernel import LocateJob
from chiptrail.batch.local import list_partitions, locate_local, open_duckdb, pivot_sql
from chiptrail.batch.simulate import simulate_measurements
from chiptrail.geoloc import LocateOptions, load_border_index, parse_landmarks_csv


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _duckdb_pivot_s(measurements: Path, ids: tuple[str, ...], sites: Path) -> float:
    """Seconds DuckDB takes to pivot (and join sites for) the whole set, no kernel."""
    con = open_duckdb()
    t0 = time.perf_counter()
    sql = pivot_sql(measurements, ids, sites)
    for day, region in list_partitions(con, measurements):
        for _ in con.sql(sql, params={"day": day, "region": region}).to_arrow_reader(65_536):
            pass
    con.close()
    return time.perf_counter() - t0


def _pivot_only(root: Path, chips: int, landmarks: int) -> None:
    sim = root / "pivot-sim"
    t0 = time.perf_counter()
    s = simulate_measurements(sim, chips=chips, n_landmarks=landmarks, seed=2)
    t_sim = time.perf_counter() - t0
    lms, _ = parse_landmarks_csv(s.landmarks_path.read_text(encoding="utf-8"))
    con = open_duckdb()
    t0 = time.perf_counter()
    rows = 0
    sql = pivot_sql(s.measurements_dir, lms.ids, s.sites_path)
    for day, region in list_partitions(con, s.measurements_dir):
        reader = con.sql(sql, params={"day": day, "region": region}).to_arrow_reader(65_536)
        rows += sum(b.num_rows for b in reader)
    t_pivot = time.perf_counter() - t0
    con.close()
    print(f"\npivot alone at {chips:,} chips ({s.rows:,} long rows):")
    print(f"  simulate+write  {t_sim:8.1f} s  {chips / t_sim:12,.0f} chips/s")
    print(f"  DuckDB pivot    {t_pivot:8.1f} s  {rows / t_pivot:12,.0f} chips/s  ({rows:,} rows)")
    print(f"  peak RSS of this process so far: {_peak_rss_mb():,.0f} MB")
    shutil.rmtree(sim)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chips", type=int, default=20_000)
    ap.add_argument("--landmarks", type=int, default=16)
    ap.add_argument("--masters", default="local[1],local[2]")
    ap.add_argument("--local-workers", default="", help="comma-separated kernel process counts")
    ap.add_argument("--pivot-chips", type=int, default=0)
    ap.add_argument("--countries", action="store_true", help="attribute countries (raster)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    print(
        f"machine: {os.cpu_count()} cores (shared); chips={args.chips:,}, "
        f"landmarks={args.landmarks}, countries={args.countries}"
    )
    s = simulate_measurements(root / "sim", chips=args.chips, n_landmarks=args.landmarks, seed=1)
    lms, _ = parse_landmarks_csv(s.landmarks_path.read_text(encoding="utf-8"))
    borders = load_border_index() if args.countries else None
    job = LocateJob(lms, options=LocateOptions(with_countries=args.countries), borders=borders)
    t0 = time.perf_counter()
    locate_local(s.measurements_dir, job, root / "local", sites=s.sites_path)
    base = time.perf_counter() - t0
    pivots = [_duckdb_pivot_s(s.measurements_dir, lms.ids, s.sites_path)]
    results = [("local (DuckDB + kernel)", 0.0, base)]
    for n in [int(w) for w in args.local_workers.split(",") if w]:
        t0 = time.perf_counter()
        out = root / f"local-{n}"
        locate_local(s.measurements_dir, job, out, sites=s.sites_path, workers=n)
        results.append((f"local, {n} kernel processes", 0.0, time.perf_counter() - t0))
        pivots.append(pivots[0])
    for master in [m for m in args.masters.split(",") if m]:
        from chiptrail.batch.spark import locate_spark, spark_session, wide_frame

        t0 = time.perf_counter()
        spark = spark_session(master, shuffle_partitions=8, driver_memory="2g")
        start = time.perf_counter() - t0
        t0 = time.perf_counter()
        locate_spark(
            spark,
            s.measurements_dir,
            job,
            root / master.replace("[", "").replace("]", ""),
            sites=s.sites_path,
        )
        results.append((f"Spark {master}", start, time.perf_counter() - t0))
        t0 = time.perf_counter()
        wide = wide_frame(spark, s.measurements_dir, job, s.sites_path)
        wide.write.format("noop").mode("overwrite").save()
        pivots.append(time.perf_counter() - t0)
        spark.stop()
    print(
        f"\n{'path':28} {'JVM start s':>11} {'job s':>8} {'chips/s':>9} {'vs local':>9} "
        f"{'1M est. min':>11} {'10M est. h':>10} {'pivot s':>8}"
    )
    for (name, start, job_s), pivot_s in zip(results, pivots, strict=True):
        rate = args.chips / job_s
        print(
            f"{name:28} {start:11.1f} {job_s:8.1f} {rate:9,.0f} {base / job_s:8.2f}x "
            f"{1e6 / rate / 60:11.1f} {1e7 / rate / 3600:10.2f} {pivot_s:8.1f}"
        )
    print(f"peak RSS of this process: {_peak_rss_mb():,.0f} MB")
    print("(1M/10M columns: extrapolated linearly from the measured rate, not measured;")
    print(" pivot s: the same pivot and site join alone, no kernel, timed separately)")
    if args.pivot_chips:
        _pivot_only(root, args.pivot_chips, args.landmarks)
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
