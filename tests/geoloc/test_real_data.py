"""Soundness on real RIPE Atlas RTTs (shared data): the proven region always holds the truth."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from chiptrail.geoloc import BorderIndex, Landmark, LandmarkSet, RttTable, great_circle_km
from chiptrail.service.location.geoloc import locate_measurements
from chiptrail.types import Country, LandmarkId


def test_leave_one_out_proven_region_is_sound(shared: Path, borders: BorderIndex) -> None:
    data = shared / "data" / "latency"
    hosts = {r["id"]: r for r in csv.DictReader(io.StringIO((data / "hosts.csv").read_text()))}
    rtt: dict[tuple[str, str], float] = {}
    for r in csv.DictReader(io.StringIO((data / "measurements.csv").read_text())):
        a, b = sorted((r["src_id"], r["dst_id"]))
        rtt[(a, b)] = min(float(r["min_rtt_ms"]), rtt.get((a, b), np.inf))
    targets = [h for h, r in hosts.items() if r["role"] == "target+vp"]
    assert len(targets) == 11
    for t in targets:
        ids = [h for h in hosts if h != t]
        lm = LandmarkSet.of(
            Landmark(
                LandmarkId(i),
                float(hosts[i]["lat"]),
                float(hosts[i]["lon"]),
                Country(hosts[i]["country"]),
            )
            for i in ids
        )

        def get(a: str, b: str) -> float:
            return rtt.get((min(a, b), max(a, b)), np.nan)

        row = np.array([[get(t, j) for j in ids]])
        ll = np.array([[get(i, j) if i != j else np.nan for j in ids] for i in ids])
        run = locate_measurements(
            lm, RttTable((t,), row), RttTable(tuple(ids), ll), borders=borders
        )
        res = run.result
        lat, lon = float(hosts[t]["lat"]), float(hosts[t]["lon"])
        assert hosts[t]["country"] in res.proven_countries[0], t
        assert (
            float(great_circle_km(lat, lon, res.lat_deg[0], res.lon_deg[0]))
            <= res.proven_radius_km[0]
        )
        assert run.vetting is not None
        assert run.vetting.excluded == ()  # the data has no faster-than-light pair
