"""The local path: simulator output, DuckDB pivot, kernel, Parquet verdicts."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from chiptrail.batch.kernel import LocateJob, locate_batch, rtt_matrix
from chiptrail.batch.local import locate_local, read_dataset
from chiptrail.batch.schema import MEASUREMENT_SCHEMA, VERDICT_SCHEMA, wide_schema
from chiptrail.batch.simulate import SimulatedSet, region_of, simulate_measurements
from chiptrail.errors import Conflict, InvalidInput
from chiptrail.geoloc import LandmarkSet, locate_targets, proven_radius_km
from tests.batch.conftest import FAST, write_negative_rtt_set


def test_simulated_set_has_the_documented_schema(simulated: SimulatedSet) -> None:
    table = read_dataset(simulated.measurements_dir, MEASUREMENT_SCHEMA)
    assert table.schema == MEASUREMENT_SCHEMA
    assert table.num_rows == simulated.rows
    days = set(table.column("day").to_pylist())
    assert days == {dt.date(2026, 1, 1), dt.date(2026, 1, 2)}
    measured_day = pc.cast(table.column("measured_at"), pa.date32())
    assert measured_day.equals(table.column("day"))
    assert pc.min(table.column("rtt_ms")).as_py() > 0
    # 8 landmarks x 600 chips x 2 days, minus about 5% dropout
    assert 0.9 * 9600 < simulated.rows < 9600


def test_simulator_is_seeded(tmp_path: Path) -> None:
    a = simulate_measurements(tmp_path / "a", chips=50, n_landmarks=4, seed=3)
    b = simulate_measurements(tmp_path / "b", chips=50, n_landmarks=4, seed=3)
    ta = read_dataset(a.measurements_dir, MEASUREMENT_SCHEMA).sort_by("measured_at")
    tb = read_dataset(b.measurements_dir, MEASUREMENT_SCHEMA).sort_by("measured_at")
    assert ta.equals(tb)


def test_regions_by_longitude() -> None:
    lon = np.array([-122.0, -46.6, -0.1, 55.3, 103.8])
    assert region_of(lon).tolist() == ["americas", "americas", "emea", "emea", "apac"]


def test_local_run_matches_the_core_solver_row_for_row(
    simulated: SimulatedSet, job: LocateJob, landmarks: LandmarkSet, fresh: Path
) -> None:
    summary = locate_local(simulated.measurements_dir, job, fresh, sites=simulated.sites_path)
    got = read_dataset(fresh, VERDICT_SCHEMA)
    assert summary.chips == got.num_rows == 1200  # every chip, each day
    assert summary.partitions == 6  # 2 days x 3 regions
    # The same numbers from the core solver on a matrix pivoted by hand in numpy.
    long = read_dataset(simulated.measurements_dir, MEASUREMENT_SCHEMA)
    day1 = long.filter(pc.equal(long.column("day"), pa.scalar(dt.date(2026, 1, 2))))
    ids = sorted(set(day1.column("chip_id").to_pylist()))
    row = {c: i for i, c in enumerate(ids)}
    rtt = np.full((len(ids), len(landmarks)), np.inf)
    for c, lm, r in zip(
        *(day1.column(n).to_pylist() for n in ("chip_id", "landmark_id", "rtt_ms")), strict=True
    ):
        j = landmarks.index_of(lm)
        rtt[row[c], j] = min(rtt[row[c], j], r)
    rtt[np.isinf(rtt)] = np.nan
    ref = locate_targets(landmarks, rtt, target_ids=ids, options=FAST)
    mine = got.filter(pc.equal(got.column("day"), pa.scalar(dt.date(2026, 1, 2)))).sort_by(
        "chip_id"
    )
    assert mine.column("chip_id").to_pylist() == ids
    np.testing.assert_array_equal(mine.column("lat").to_numpy(zero_copy_only=False), ref.lat_deg)
    np.testing.assert_array_equal(
        mine.column("proven_radius_km").to_numpy(zero_copy_only=False), ref.proven_radius_km
    )
    assert mine.column("n_landmarks").to_pylist() == ref.n_landmarks.tolist()


def test_diverted_chips_are_caught_and_honest_ones_are_not_violations(
    simulated: SimulatedSet, job: LocateJob, fresh: Path
) -> None:
    summary = locate_local(simulated.measurements_dir, job, fresh, sites=simulated.sites_path)
    # About 10% of 600 chips were moved to cities without landmarks (CN, RU), on both days.
    assert 80 <= summary.verdicts["VIOLATION"] <= 160
    assert sum(summary.verdicts.values()) == 1200
    assert summary.status == {"ok": 1200}


def test_without_sites_there_is_no_verdict(
    simulated: SimulatedSet, job: LocateJob, fresh: Path
) -> None:
    summary = locate_local(simulated.measurements_dir, job, fresh)
    assert summary.verdicts == {"none": 1200}


def test_refuses_to_overwrite(simulated: SimulatedSet, job: LocateJob, fresh: Path) -> None:
    fresh.mkdir()
    (fresh / "keep.txt").write_text("x")
    with pytest.raises(Conflict):
        locate_local(simulated.measurements_dir, job, fresh)


def _wide(rtt: Sequence[Sequence[float | None]], landmarks: int) -> pa.RecordBatch:
    n = len(rtt)
    return pa.RecordBatch.from_pydict(
        {
            "chip_id": [f"c{i}" for i in range(n)],
            "day": [dt.date(2026, 1, 1)] * n,
            "region": ["emea"] * n,
            "rtt_ms": rtt,
        },
        schema=wide_schema(with_sites=False),
    )


def test_kernel_marks_chips_without_measurements(landmarks: LandmarkSet) -> None:
    n = len(landmarks)
    out = locate_batch(
        _wide([[None] * n, [5.0] + [None] * (n - 1)], n), LocateJob(landmarks, options=FAST)
    )
    assert out.schema == VERDICT_SCHEMA
    assert out.column("status").to_pylist() == ["no_data", "ok"]
    assert out.column("lat").to_pylist()[0] is None
    assert out.column("binding_landmark").to_pylist() == [None, landmarks.ids[0]]


@pytest.mark.parametrize(
    ("rtt", "message"),
    [([[1.0]], "elements"), ([[-1.0] * 8], "RTTs must be finite")],
    ids=["vector of the wrong length", "negative RTT"],
)
def test_kernel_refuses_bad_vectors(
    landmarks: LandmarkSet, rtt: list[list[float]], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        locate_batch(_wide(rtt, len(landmarks)), LocateJob(landmarks, options=FAST))


def test_rtt_matrix_turns_nulls_into_nan() -> None:
    m = rtt_matrix(_wide([[1.0, None], [None, 2.5]], 2), 2)
    assert np.isnan(m[0, 1])
    assert np.isnan(m[1, 0])
    assert m[1, 1] == 2.5


def test_missing_input_is_bad_input(job: LocateJob, tmp_path: Path, fresh: Path) -> None:
    with pytest.raises(InvalidInput):
        locate_local(tmp_path / "nope", job, fresh)


def test_repeated_probes_keep_the_minimum(tmp_path: Path, job: LocateJob, fresh: Path) -> None:
    lid = job.landmarks.ids[0]
    at = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    d = tmp_path / "m" / "day=2026-03-01" / "region=emea"
    d.mkdir(parents=True)
    file_schema = pa.schema([f for f in MEASUREMENT_SCHEMA if f.name not in ("day", "region")])
    rows = {
        "chip_id": ["x", "x", "x"],
        "landmark_id": [lid, lid, "unknown"],
        "rtt_ms": [9.0, 4.0, 1.0],
        "measured_at": [at] * 3,
    }
    pq.write_table(pa.table(rows, schema=file_schema), d / "p.parquet")
    locate_local(tmp_path / "m", job, fresh)
    got = read_dataset(fresh, VERDICT_SCHEMA)
    assert got.column("n_landmarks").to_pylist() == [1]
    assert got.column("min_disk_km").to_pylist()[0] == pytest.approx(float(proven_radius_km(4.0)))


def test_job_survives_pickling_as_spark_ships_it(job: LocateJob) -> None:
    back = pickle.loads(pickle.dumps(job))  # noqa: S301 - our own bytes
    assert back.landmarks.ids == job.landmarks.ids
    np.testing.assert_array_equal(back.landmarks.lat_deg, job.landmarks.lat_deg)
    assert back.options == job.options


def test_worker_processes_write_the_same_rows_in_the_same_order(
    simulated: SimulatedSet, job: LocateJob, tmp_path: Path
) -> None:
    """workers=2 (spawned processes, several batches per partition in flight) = in-process."""
    one = locate_local(
        simulated.measurements_dir, job, tmp_path / "one", sites=simulated.sites_path
    )
    two = locate_local(
        simulated.measurements_dir,
        job,
        tmp_path / "two",
        sites=simulated.sites_path,
        workers=2,
        batch_rows=64,
    )
    assert one == two
    a = read_dataset(tmp_path / "one", VERDICT_SCHEMA)
    b = read_dataset(tmp_path / "two", VERDICT_SCHEMA)
    assert a.num_rows == 1200
    assert a.equals(b)


def test_bad_rows_in_a_worker_are_bad_input(job: LocateJob, tmp_path: Path) -> None:
    measurements = write_negative_rtt_set(tmp_path / "m", job.landmarks.ids[0])
    with pytest.raises(InvalidInput, match="RTTs must be finite"):
        locate_local(measurements, job, tmp_path / "out", workers=2)
    with pytest.raises(InvalidInput, match="workers"):
        locate_local(measurements, job, tmp_path / "out2", workers=0)
