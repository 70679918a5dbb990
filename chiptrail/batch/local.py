"""The local (single-machine) path of the batch jobs: DuckDB pivots, the kernel runs here.

Reads and writes Parquet data sets one (day, region) partition at a time, streaming Arrow record
batches, so memory stays bounded by one partition's pivot (DuckDB spills beyond its limit), not
by the data set. The kernel runs in this process or in a pool of worker processes (``workers``).
The Spark path (spark.py) runs the same pivot and the same kernel.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from chiptrail.batch.kernel import LocateJob, locate_batch
from chiptrail.batch.schema import (
    PARTITION_SCHEMA,
    SITE_COLUMNS,
    VERDICT_SCHEMA,
)
from chiptrail.errors import Conflict, InvalidInput

ProgressFn = Callable[[int, int, int], None]
"""Called with (partitions done, partitions total, chips done)."""
Runner = Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]
"""Maps wide record batches to verdict batches, in order."""

BATCH_ROWS = 65_536
"""Chips per record batch handed to the kernel (bounds its working set)."""


@dataclass(slots=True)
class LocateSummary:
    """What a locate run did: partitions and chips, counts per status and verdict."""

    partitions: int = 0
    chips: int = 0
    status: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)

    def add(self, batch: pa.RecordBatch) -> None:
        """Count one output batch."""
        self.chips += batch.num_rows
        for name, counts in (("status", self.status), ("verdict", self.verdicts)):
            for value in batch.column(name).to_pylist():
                key = value if value is not None else "none"
                counts[key] = counts.get(key, 0) + 1


def sql_string(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def parquet_source(path: Path, *, partitioned: bool = True) -> str:
    """DuckDB ``read_parquet`` call over every Parquet file under ``path`` (Hive keys typed)."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or directory", {"field": "path"})
    glob = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    if not partitioned:
        return f"read_parquet({sql_string(glob)})"
    return (
        f"read_parquet({sql_string(glob)}, hive_partitioning = true, "
        "hive_types = {'day': DATE, 'region': VARCHAR})"
    )


def pivot_sql(measurements: Path, landmark_ids: tuple[str, ...], sites: Path | None) -> str:
    """SQL of the per-chip pivot of one (day, region) partition (parameters: day, region).

    A chip's vector holds, per landmark, the minimum RTT of the day; landmarks absent from the
    landmark set are ignored (the chip's row still appears, with nulls).
    """
    mins = ", ".join(
        f"min(rtt_ms) FILTER (WHERE landmark_id = {sql_string(lid)})" for lid in landmark_ids
    )
    pivot = (
        f"SELECT chip_id, day, region, CAST([{mins}] AS DOUBLE[]) AS rtt_ms "  # noqa: S608 - literals quoted by sql_string
        f"FROM {parquet_source(measurements)} WHERE day = $day AND region = $region "
        "GROUP BY chip_id, day, region"
    )
    if sites is None:
        return f"{pivot} ORDER BY chip_id"
    cols = ", ".join(f"s.{c}" for c in SITE_COLUMNS)
    return (
        f"SELECT p.chip_id, p.day, p.region, p.rtt_ms, {cols} FROM ({pivot}) p "  # noqa: S608
        f"LEFT JOIN {parquet_source(sites, partitioned=False)} s ON s.chip_id = p.chip_id "
        "ORDER BY p.chip_id"
    )


def list_partitions(
    con: duckdb.DuckDBPyConnection, measurements: Path
) -> list[tuple[dt.date, str]]:
    """The (day, region) partitions of a measurement set, in order."""
    rows = con.execute(
        f"SELECT DISTINCT day, region FROM {parquet_source(measurements)} ORDER BY day, region"  # noqa: S608
    ).fetchall()
    return [(r[0], str(r[1])) for r in rows]


def check_out_dir(out: Path) -> None:
    """Raise Conflict when ``out`` exists and is not empty (runs never overwrite)."""
    if out.exists() and any(out.iterdir()):
        raise Conflict(
            f"{out} exists and is not empty; choose a new output directory",
            {"field": "out", "value": str(out)},
        )


def partition_dir(out: Path, day: dt.date, region: str) -> Path:
    """Hive-style directory of one partition (the layout Spark's ``partitionBy`` writes)."""
    return out / f"day={day.isoformat()}" / f"region={region}"


def open_duckdb(memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose operators spill to disk beyond ``memory_limit``."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {sql_string(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")
    return con


def pivot_batches(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    day: dt.date,
    region: str,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Stream one partition's wide rows as record batches."""
    reader = con.sql(sql, params={"day": day, "region": region}).to_arrow_reader(batch_rows)
    yield from reader


def locate_local(
    measurements: Path,
    job: LocateJob,
    out: Path,
    *,
    sites: Path | None = None,
    progress: ProgressFn | None = None,
    batch_rows: int = BATCH_ROWS,
    workers: int = 1,
) -> LocateSummary:
    """Locate every chip of a measurement set on this machine; write verdicts as Parquet.

    Args:
        measurements: directory (or file) of ``MEASUREMENT_SCHEMA`` Parquet.
        job: landmarks, calibration, options, country raster.
        out: new output directory (``VERDICT_SCHEMA``, partitioned by day and region).
        sites: optional Parquet of ``SITE_SCHEMA``; chips listed there are judged.
        progress: called after each partition.
        batch_rows: chips per kernel call.
        workers: kernel processes; 1 runs the kernel in this process. More run it in a pool of
            worker processes (each receives ``job`` once) while this one pivots and writes; the
            output is the same, row for row and in the same order.

    Raises:
        InvalidInput: missing input, malformed rows, ``workers`` < 1. Conflict: ``out`` is not
        empty.
    """
    if workers < 1:
        raise InvalidInput("workers must be at least 1", {"field": "workers", "value": workers})
    check_out_dir(out)
    con = open_duckdb()
    try:
        parts = list_partitions(con, measurements)
        sql = pivot_sql(measurements, job.landmarks.ids, sites)
        summary = LocateSummary()
        file_schema = pa.schema([f for f in VERDICT_SCHEMA if f.name not in ("day", "region")])
        with kernel_runner(job, workers) as run:
            for n, (day, region) in enumerate(parts, start=1):
                target = partition_dir(out, day, region)
                target.mkdir(parents=True, exist_ok=True)
                with pq.ParquetWriter(target / "part-00000.parquet", file_schema) as writer:
                    for result in run(pivot_batches(con, sql, day, region, batch_rows)):
                        summary.add(result)
                        writer.write_batch(result.drop_columns(["day", "region"]))
                summary.partitions = n
                if progress is not None:
                    progress(n, len(parts), summary.chips)
        return summary
    finally:
        con.close()


_WORKER_JOB: list[LocateJob] = []


def _start_worker(job: LocateJob) -> None:
    _WORKER_JOB[:] = [job]


def _locate_in_worker(batch: pa.RecordBatch) -> pa.RecordBatch:
    return locate_batch(batch, _WORKER_JOB[0])


@contextmanager
def kernel_runner(job: LocateJob, workers: int) -> Iterator[Runner]:
    """A Runner for ``job``: in this process (``workers`` = 1) or in a pool of processes, with at
    most two batches per worker in flight so memory stays bounded. Workers are spawned, not
    forked (this process holds DuckDB's threads)."""
    if workers == 1:

        def run_here(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            return (locate_batch(b, job) for b in batches)

        yield run_here
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_start_worker, initargs=(job,)
    ) as pool:

        def run_pooled(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            pending: deque[Future[pa.RecordBatch]] = deque()
            for b in batches:
                pending.append(pool.submit(_locate_in_worker, b))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

        yield run_pooled


def read_dataset(path: Path, schema: pa.Schema) -> pa.Table:
    """Read a partitioned output data set (local or Spark-written) with ``schema``'s types."""
    keys = [f for f in PARTITION_SCHEMA if f.name in schema.names]
    dataset = ds.dataset(
        str(path),
        format="parquet",
        partitioning=ds.partitioning(pa.schema(keys), flavor="hive") if keys else None,
    )
    return dataset.to_table().select(schema.names).cast(schema)
