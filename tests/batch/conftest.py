"""Fixtures of the batch tests: a small simulated measurement set and its landmarks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chiptrail.batch.kernel import LocateJob
from chiptrail.batch.schema import MEASUREMENT_SCHEMA
from chiptrail.batch.simulate import SimulatedSet, simulate_measurements
from chiptrail.geoloc import LandmarkSet, LocateOptions, parse_landmarks_csv

FAST = LocateOptions(grid_size=8, refine_passes=1, with_countries=False)
"""Coarse solver settings: the tests check plumbing and equality, not geometry."""


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> SimulatedSet:
    """600 chips, 8 landmarks, 2 days, written in chunks of 250 (several files per partition)."""
    out = tmp_path_factory.mktemp("sim") / "set"
    return simulate_measurements(
        out, chips=600, n_landmarks=8, days=2, seed=7, chunk_chips=250, diverted_share=0.1
    )


@pytest.fixture(scope="session")
def landmarks(simulated: SimulatedSet) -> LandmarkSet:
    lms, errors = parse_landmarks_csv(simulated.landmarks_path.read_text(encoding="utf-8"))
    assert errors == ()
    return lms


@pytest.fixture(scope="session")
def job(landmarks: LandmarkSet) -> LocateJob:
    return LocateJob(landmarks, options=FAST)


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    return tmp_path / "out"


def write_negative_rtt_set(root: Path, landmark_id: str) -> Path:
    """A measurement set of one row with a negative RTT (bad input for the kernel)."""
    d = root / "day=2026-03-01" / "region=emea"
    d.mkdir(parents=True)
    file_schema = pa.schema([f for f in MEASUREMENT_SCHEMA if f.name not in ("day", "region")])
    row = {
        "chip_id": ["x"],
        "landmark_id": [landmark_id],
        "rtt_ms": [-2.0],
        "measured_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)],
    }
    pq.write_table(pa.table(row, schema=file_schema), d / "p.parquet")
    return root
