"""Simulated measurement sets of any size, written as Parquet for the batch jobs.

Vectorised and chunked (memory ~ one chunk). Places chips at the simulator's cities
(``chiptrail.sim.cities``), diverts a share of them to cities without landmarks, and draws honest
RTTs from the simulator's fitted latency model (``chiptrail.sim.latency.simulate_rtt_ms``).
Writes; leaves locating to local.py and spark.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from chiptrail.batch.local import partition_dir
from chiptrail.batch.schema import MEASUREMENT_SCHEMA, SITE_SCHEMA
from chiptrail.errors import Conflict, InvalidInput
from chiptrail.sim.cities import CITIES, City, landmark_cities
from chiptrail.sim.latency import distance_km, simulate_rtt_ms

CHUNK_CHIPS = 100_000
"""Chips generated and written per step."""
JITTER_KM = 30.0
"""Standard deviation of a chip's position around its city (km, each axis)."""
KM_PER_DEG = 111.2
REGION_BOUNDS_LON = ((-30.0, "americas"), (60.0, "emea"), (180.0, "apac"))
"""Region of a declared site by longitude: west of -30 = americas, west of 60 = emea, else apac."""


@dataclass(frozen=True, slots=True)
class SimulatedSet:
    """Where a simulated measurement set was written and what it holds."""

    measurements_dir: Path
    sites_path: Path
    landmarks_path: Path
    chips: int
    rows: int
    diverted: int
    days: int


def region_of(lon: NDArray[np.float64]) -> NDArray[np.str_]:
    """Routing region of declared sites (see REGION_BOUNDS_LON)."""
    out = np.full(lon.shape, REGION_BOUNDS_LON[-1][1], dtype=object)
    for bound, name in reversed(REGION_BOUNDS_LON):
        out = np.where(lon < bound, name, out)
    return out.astype(np.str_)


def pick_landmarks(n: int) -> tuple[City, ...]:
    """``n`` landmark cities spread over the simulator's table (all continents for n >= 8)."""
    cities = landmark_cities()
    if not 1 <= n <= len(cities):
        raise InvalidInput(
            f"--landmarks must be between 1 and {len(cities)} (the simulator's landmark cities)",
            {"field": "landmarks", "value": n},
        )
    idx = np.unique(np.round(np.linspace(0, len(cities) - 1, n)).astype(int))
    return tuple(cities[i] for i in idx)


def landmarks_csv(cities: tuple[City, ...]) -> str:
    """landmarks.csv text (``landmark_id,lat,lon,country``) for the chosen cities."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["landmark_id", "lat", "lon", "country"])
    for c in cities:
        w.writerow([c.name.lower().replace(" ", "-"), c.lat, c.lon, c.country])
    return buf.getvalue()


def _jitter(
    lat: NDArray[np.float64], lon: NDArray[np.float64], rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    dlat = rng.normal(0.0, JITTER_KM / KM_PER_DEG, lat.shape)
    dlon = rng.normal(0.0, JITTER_KM / KM_PER_DEG, lon.shape) / np.cos(np.radians(lat))
    return np.clip(lat + dlat, -89.0, 89.0), (lon + dlon + 180.0) % 360.0 - 180.0


@dataclass(frozen=True, slots=True)
class _Chunk:
    ids: NDArray[np.str_]
    site: NDArray[np.intp]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    diverted: int


def _chips(start: int, n: int, diverted_share: float, rng: np.random.Generator) -> _Chunk:
    homes = [i for i, c in enumerate(CITIES) if c.landmark]
    away = [i for i, c in enumerate(CITIES) if not c.landmark]
    site = np.array(homes)[rng.integers(0, len(homes), n)]
    true = site.copy()
    moved = rng.random(n) < diverted_share
    true[moved] = np.array(away)[rng.integers(0, len(away), int(moved.sum()))]
    c_lat = np.array([c.lat for c in CITIES])
    c_lon = np.array([c.lon for c in CITIES])
    lat, lon = _jitter(c_lat[true], c_lon[true], rng)
    ids = np.char.add("chip-", np.char.zfill(np.arange(start, start + n).astype(np.str_), 9))
    return _Chunk(ids, site, lat, lon, int(moved.sum()))


def _write_sites(chunk: _Chunk, writer: pq.ParquetWriter) -> None:
    city = [CITIES[i] for i in chunk.site.tolist()]
    writer.write_batch(
        pa.RecordBatch.from_arrays(
            [
                pa.array(chunk.ids, pa.string()),
                pa.array([c.lat for c in city], pa.float64()),
                pa.array([c.lon for c in city], pa.float64()),
                pa.array([c.country for c in city], pa.string()),
                pa.array([None] * len(city), pa.float64()),
            ],
            schema=SITE_SCHEMA,
        )
    )


def simulate_measurements(
    out: Path,
    *,
    chips: int,
    n_landmarks: int = 16,
    days: int = 1,
    seed: int = 0,
    first_day: dt.date = dt.date(2026, 1, 1),
    diverted_share: float = 0.02,
    dropout: float = 0.05,
    chunk_chips: int = CHUNK_CHIPS,
) -> SimulatedSet:
    """Write ``out/measurements`` (day/region partitions), ``out/sites.parquet``, landmarks.csv.

    Every landmark probes every chip once a day; a share ``dropout`` of probes is lost.

    Raises:
        InvalidInput: non-positive sizes or shares outside [0, 1]. Conflict: ``out`` not empty.
    """
    if chips < 1 or days < 1 or chunk_chips < 1:
        raise InvalidInput("chips, days and chunk size must be positive", {"field": "chips"})
    if not (0.0 <= diverted_share <= 1.0 and 0.0 <= dropout < 1.0):
        raise InvalidInput("diverted share and dropout must be within [0, 1)", {})
    if out.exists() and any(out.iterdir()):
        raise Conflict(f"{out} exists and is not empty; choose a new output directory", {})
    cities = pick_landmarks(n_landmarks)
    lm_lat = np.array([c.lat for c in cities])
    lm_lon = np.array([c.lon for c in cities])
    lm_ids = np.array([c.name.lower().replace(" ", "-") for c in cities])
    out.mkdir(parents=True, exist_ok=True)
    (out / "landmarks.csv").write_text(landmarks_csv(cities), encoding="utf-8")
    rng = np.random.default_rng(seed)
    rows = diverted = 0
    meas = out / "measurements"
    file_schema = pa.schema([f for f in MEASUREMENT_SCHEMA if f.name not in ("day", "region")])
    with pq.ParquetWriter(out / "sites.parquet", SITE_SCHEMA) as sites_writer:
        for part, start in enumerate(range(0, chips, chunk_chips)):
            chunk = _chips(start, min(chunk_chips, chips - start), diverted_share, rng)
            diverted += chunk.diverted
            _write_sites(chunk, sites_writer)
            site_lon = np.array([CITIES[i].lon for i in chunk.site.tolist()])
            region = region_of(site_lon)
            dist = distance_km(chunk.lat[:, None], chunk.lon[:, None], lm_lat, lm_lon)
            for d in range(days):
                day = first_day + dt.timedelta(days=d)
                rtt = simulate_rtt_ms(dist, rng)
                kept = rng.random(rtt.shape) >= dropout
                secs = rng.integers(0, 86_400_000_000, rtt.shape)
                base = np.datetime64(day.isoformat(), "us")
                for reg in np.unique(region).tolist():
                    sel = kept & (region == reg)[:, None]
                    r, c = np.nonzero(sel)
                    batch = pa.RecordBatch.from_arrays(
                        [
                            pa.array(chunk.ids[r], pa.string()),
                            pa.array(lm_ids[c], pa.string()),
                            pa.array(rtt[r, c], pa.float64()),
                            pa.array(base + secs[r, c], pa.timestamp("us", tz="UTC")),
                        ],
                        schema=file_schema,
                    )
                    target = partition_dir(meas, day, str(reg))
                    target.mkdir(parents=True, exist_ok=True)
                    pq.write_table(
                        pa.Table.from_batches([batch]),
                        target / f"part-{part:05d}.parquet",
                        compression="zstd",
                    )
                    rows += batch.num_rows
    return SimulatedSet(
        meas, out / "sites.parquet", out / "landmarks.csv", chips, rows, diverted, days
    )
