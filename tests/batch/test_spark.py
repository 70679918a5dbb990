"""The Spark path on a small local[2] run: the same rows as the local path, row for row."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chiptrail.batch.kernel import LocateJob
from chiptrail.batch.local import locate_local, read_dataset
from chiptrail.batch.schema import VERDICT_SCHEMA, VOLUME_SCHEMA
from chiptrail.batch.simulate import SimulatedSet
from chiptrail.batch.volumes import aggregate_local, parse_ownership_jsonl
from chiptrail.errors import Conflict, InvalidInput
from tests.batch.conftest import write_negative_rtt_set
from tests.batch.test_volumes import ownership_text, write_custody
from tests.conftest import require

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.spark,
    # py4j's and pyspark's own imports and sockets, not ours
    pytest.mark.filterwarnings("ignore::DeprecationWarning:py4j.*"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

SORT = [("day", "ascending"), ("region", "ascending"), ("chip_id", "ascending")]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    have = shutil.which("java") is not None and importlib.util.find_spec("pyspark") is not None
    require(have, "Spark tests need Java 17 (java on PATH) and pyspark")
    from chiptrail.batch.spark import FAST_START_JAVA_OPTIONS, spark_session

    session = spark_session(
        "local[2]", shuffle_partitions=2, driver_memory="512m", java_options=FAST_START_JAVA_OPTIONS
    )
    yield session
    session.stop()


def test_spark_locate_equals_local_row_for_row(
    spark: SparkSession, simulated: SimulatedSet, job: LocateJob, tmp_path: Path
) -> None:
    from chiptrail.batch.spark import locate_spark

    local = locate_local(
        simulated.measurements_dir, job, tmp_path / "local", sites=simulated.sites_path
    )
    remote = locate_spark(
        spark, simulated.measurements_dir, job, tmp_path / "spark", sites=simulated.sites_path
    )
    a = read_dataset(tmp_path / "local", VERDICT_SCHEMA).sort_by(SORT)
    b = read_dataset(tmp_path / "spark", VERDICT_SCHEMA).sort_by(SORT)
    assert a.num_rows == b.num_rows == 1200
    assert a.equals(b)
    assert remote.verdicts == local.verdicts
    assert remote.partitions == local.partitions == 6
    with pytest.raises(Conflict):
        locate_spark(spark, simulated.measurements_dir, job, tmp_path / "spark")


def test_spark_aggregate_equals_local(spark: SparkSession, tmp_path: Path) -> None:
    from chiptrail.batch.volumes import aggregate_spark

    custody = write_custody(tmp_path / "custody")
    parents = parse_ownership_jsonl(ownership_text())
    window = dt.timedelta(days=30)
    local = aggregate_local(custody, parents, tmp_path / "local", window=window)
    remote = aggregate_spark(spark, custody, parents, tmp_path / "spark", window=window)
    a = read_dataset(tmp_path / "local", VOLUME_SCHEMA).sort_by("parent_id")
    b = read_dataset(tmp_path / "spark", VOLUME_SCHEMA).sort_by("parent_id")
    assert a.equals(b)
    assert remote == local


def test_spark_schemas_match_pyspark_own_arrow_mapping() -> None:
    require(importlib.util.find_spec("pyspark") is not None, "needs pyspark")
    from pyspark.sql.pandas.types import from_arrow_schema

    from chiptrail.batch.schema import MEASUREMENT_SCHEMA, SITE_SCHEMA
    from chiptrail.batch.spark import to_spark_schema

    for schema in (MEASUREMENT_SCHEMA, SITE_SCHEMA, VERDICT_SCHEMA, VOLUME_SCHEMA):
        mine = to_spark_schema(schema)
        theirs = from_arrow_schema(schema)
        assert [(f.name, f.dataType) for f in mine] == [(f.name, f.dataType) for f in theirs]


def test_cli_spark_flag_runs_the_same_job(
    spark: SparkSession, simulated: SimulatedSet, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from chiptrail.cli.main import app

    args = [
        "batch",
        "locate",
        "--measurements",
        str(simulated.measurements_dir),
        "--landmarks",
        str(simulated.landmarks_path),
        "--sites",
        str(simulated.sites_path),
        "--no-countries",
        "--grid-size",
        "8",
        "--json",
        "--out",
    ]
    runner = CliRunner()
    local = runner.invoke(app, [*args, str(tmp_path / "local")])
    remote = runner.invoke(app, [*args, str(tmp_path / "spark"), "--spark", "local[2]"])
    assert local.exit_code == remote.exit_code == 1  # the simulated set holds diverted chips
    a = json.loads(local.stdout)
    b = json.loads(remote.stdout)
    assert {k: v for k, v in a.items() if k != "out"} == {k: v for k, v in b.items() if k != "out"}
    assert a["chips"] == 1200


def test_country_raster_travels_to_executors(
    spark: SparkSession, simulated: SimulatedSet, job: LocateJob, tmp_path: Path
) -> None:
    from chiptrail.batch.spark import locate_spark
    from chiptrail.geoloc import LocateOptions, load_border_index

    coarse = load_border_index(0.8)  # a coarse raster builds in seconds; same code path
    with_countries = LocateJob(
        job.landmarks,
        options=LocateOptions(grid_size=8, refine_passes=1, with_countries=True),
        borders=coarse,
    )
    locate_local(simulated.measurements_dir, with_countries, tmp_path / "local")
    locate_spark(spark, simulated.measurements_dir, with_countries, tmp_path / "spark")
    a = read_dataset(tmp_path / "local", VERDICT_SCHEMA).sort_by(SORT)
    b = read_dataset(tmp_path / "spark", VERDICT_SCHEMA).sort_by(SORT)
    assert a.equals(b)
    countries = {c for row in b.column("proven_countries").to_pylist() for c in row}
    assert {"US", "DE", "CN"} <= countries


def test_bad_rows_on_executors_are_bad_input(
    spark: SparkSession, job: LocateJob, tmp_path: Path
) -> None:
    from chiptrail.batch.spark import locate_spark

    write_negative_rtt_set(tmp_path / "m", job.landmarks.ids[0])
    with pytest.raises(InvalidInput, match="RTTs must be finite"):
        locate_spark(spark, tmp_path / "m", job, tmp_path / "out")
