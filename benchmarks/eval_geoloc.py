"""Accuracy of chiptrail.geoloc on real RIPE Atlas RTTs, leave-one-out.

Reads /work/shared/data/latency/ (hosts.csv, measurements.csv; see its README) or --data DIR.
Two evaluations:
  A. the 11 measured anchors as targets, every other anchor as a landmark (up to 100 each);
  B. every anchor as a target, the 11 measured anchors (minus itself) as landmarks.
The target itself never takes part in vetting, calibration or as a landmark.

Run: python benchmarks/eval_geoloc.py [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from chiptrail.geoloc import (
    Landmark,
    LandmarkSet,
    LocateOptions,
    RttTable,
    country_at,
    great_circle_km,
)
from chiptrail.geoloc.bounds import LIKELY_FLOOR_SHARE
from chiptrail.service.location.geoloc import load_borders, locate_measurements
from chiptrail.types import Country, LandmarkId

CONTINENT = {
    **dict.fromkeys(
        [
            "AL",
            "AT",
            "CH",
            "CZ",
            "DE",
            "DK",
            "ES",
            "FI",
            "FR",
            "GB",
            "GR",
            "HR",
            "HU",
            "IT",
            "LT",
            "LU",
            "LV",
            "MK",
            "NL",
            "NO",
            "PL",
            "PT",
            "RU",
            "SE",
            "UA",
        ],
        "Europe",
    ),
    **dict.fromkeys(["US", "CR", "DO"], "North America"),
    **dict.fromkeys(["BR", "UY"], "South America"),
    **dict.fromkeys(["ZA", "UG", "TZ", "BF"], "Africa"),
    **dict.fromkeys(["SG", "PK", "IR", "KW", "QA", "TR"], "Asia"),
    "AU": "Oceania",
}


def load(data: Path) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], float]]:
    hosts = {r["id"]: r for r in csv.DictReader((data / "hosts.csv").open())}
    rtt: dict[tuple[str, str], float] = {}
    for r in csv.DictReader((data / "measurements.csv").open()):
        key = tuple(sorted((r["src_id"], r["dst_id"])))
        v = float(r["min_rtt_ms"])
        rtt[key] = min(v, rtt.get(key, v))  # type: ignore[index]
    return hosts, rtt


def landmark_set(hosts: dict[str, dict[str, str]], ids: list[str]) -> LandmarkSet:
    return LandmarkSet.of(
        Landmark(
            LandmarkId(i),
            float(hosts[i]["lat"]),
            float(hosts[i]["lon"]),
            Country(hosts[i]["country"]),
        )
        for i in ids
    )


def run_one(
    target: str, lm_ids: list[str], hosts, rtt, borders, floor: float = LIKELY_FLOOR_SHARE
) -> dict[str, object] | None:  # type: ignore[no-untyped-def]
    lm = landmark_set(hosts, lm_ids)
    row = np.array([[rtt.get(tuple(sorted((target, j))), np.nan) for j in lm_ids]])
    if np.isnan(row).all():
        return None
    ll = np.full((len(lm_ids), len(lm_ids)), np.nan)
    for a, i in enumerate(lm_ids):
        for b, j in enumerate(lm_ids):
            if a != b:
                ll[a, b] = rtt.get(tuple(sorted((i, j))), np.nan)
    cal_rows = RttTable(tuple(lm_ids), ll)
    run = locate_measurements(
        lm,
        RttTable((target,), row),
        cal_rows,
        borders=borders,
        options=LocateOptions(),
        floor_share=floor,
    )
    r = run.result
    h = hosts[target]
    lat, lon = float(h["lat"]), float(h["lon"])
    err = float(great_circle_km(lat, lon, r.lat_deg[0], r.lon_deg[0]))
    return {
        "target": target,
        "country": h["country"],
        "exact_country": country_at(lat, lon),
        "continent": CONTINENT.get(h["country"], "?"),
        "n": int(r.n_landmarks[0]),
        "proven": r.proven_countries[0],
        "likely": r.likely_countries[0],
        "error_km": err,
        "inside_proven": err <= float(r.proven_radius_km[0]),
        "min_disk_km": float(r.min_disk_km[0]),
        "excluded": [] if run.vetting is None else [x.landmark_id for x in run.vetting.excluded],
    }


def report(name: str, rows: list[dict[str, object]]) -> None:
    n = len(rows)
    ps = sum(r["country"] in r["proven"] for r in rows)  # type: ignore[operator]
    ls = sum(r["country"] in r["likely"] for r in rows)  # type: ignore[operator]
    one = sum(len(r["likely"]) == 1 for r in rows)  # type: ignore[arg-type]
    inside = sum(bool(r["inside_proven"]) for r in rows)
    errs = [float(r["error_km"]) for r in rows]  # type: ignore[arg-type]
    print(f"\n## {name}: {n} targets")
    print(f"proven region contains the true position: {inside}/{n}")
    print(f"true country in proven_countries: {ps}/{n} ({100 * ps / n:.1f}%)")
    print(f"true country in likely_countries: {ls}/{n} ({100 * ls / n:.1f}%)")
    print(f"likely region names exactly one country: {one}/{n} ({100 * one / n:.1f}%)")
    print(
        f"point estimate error: median {statistics.median(errs):.0f} km, "
        f"p90 {np.percentile(errs, 90):.0f} km"
    )
    print(
        "| continent | targets | median error km | p90 error km | proven sound "
        "| likely sound | one country |"
    )
    print("|---|---|---|---|---|---|---|")
    by: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        by[str(r["continent"])].append(r)
    for c, rs in sorted(by.items()):
        e = [float(r["error_km"]) for r in rs]  # type: ignore[arg-type]
        print(
            f"| {c} | {len(rs)} | {statistics.median(e):.0f} | {np.percentile(e, 90):.0f} | "
            f"{sum(r['country'] in r['proven'] for r in rs)}/{len(rs)} | "  # type: ignore[operator]
            f"{sum(r['country'] in r['likely'] for r in rs)}/{len(rs)} | "  # type: ignore[operator]
            f"{sum(len(r['likely']) == 1 for r in rs)}/{len(rs)} |"  # type: ignore[arg-type]
        )
    for r in rows:
        if (
            r["country"] not in r["proven"]
            or r["country"] not in r["likely"]
            or r["exact_country"] != r["country"]
        ):  # type: ignore[operator]
            print(
                f"  note {r['target']} ({r['country']}, polygons say {r['exact_country']}): "
                f"proven {','.join(r['proven'])[:80]} likely {','.join(r['likely'])} "  # type: ignore[arg-type]
                f"error {float(r['error_km']):.0f} km n={r['n']} excluded={r['excluded']}"  # type: ignore[arg-type]
            )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("/work/shared/data/latency"))
    args = p.parse_args()
    if not (args.data / "hosts.csv").is_file():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    hosts, rtt = load(args.data)
    borders = load_borders(None)
    targets = [h for h, r in hosts.items() if r["role"] == "target+vp"]
    t0 = time.perf_counter()
    for floor, label in (
        (LIKELY_FLOOR_SHARE, "chiptrail (bestline, 70 km/ms floor)"),
        (0.0, "plain CBG bestline"),
    ):
        a = [
            x
            for t in targets
            if (x := run_one(t, [h for h in hosts if h != t], hosts, rtt, borders, floor))
        ]
        report(f"A. {label}: measured anchors as targets, all other anchors as landmarks", a)
        b = [
            x
            for t in hosts
            if (x := run_one(t, [h for h in targets if h != t], hosts, rtt, borders, floor))
        ]
        report(f"B. {label}: every anchor as a target, the measured anchors as landmarks", b)
    print(f"\n({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
