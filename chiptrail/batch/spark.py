"""The Spark path of the batch jobs: the same pivot as local.py, the same kernel via mapInArrow.

The only module of chiptrail that imports pyspark (with aggregate_spark in volumes.py, which
takes a session from here). Grouping choice (docs/batch.md): the long measurements are pivoted
with ``groupBy(chip_id, day, region)`` and one ``min(when(landmark_id = L, rtt_ms))`` per landmark,
so one chip's vector is whole in one row before the kernel sees it; the shuffle is by chip.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from chiptrail.batch.kernel import LocateJob, locate_batches
from chiptrail.batch.local import LocateSummary, check_out_dir
from chiptrail.batch.schema import MEASUREMENT_SCHEMA, SITE_COLUMNS, SITE_SCHEMA, VERDICT_SCHEMA
from chiptrail.errors import InvalidInput, Unavailable

if TYPE_CHECKING:
    from pyspark import Broadcast
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

log = logging.getLogger(__name__)

FAST_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""JVM flags that halve Spark's start on a small machine (tests); slower for long jobs."""


def spark_session(
    master: str,
    *,
    shuffle_partitions: int = 8,
    driver_memory: str = "1g",
    java_options: str | None = None,
) -> SparkSession:
    """A Spark session on ``master`` (``local[2]``, ``spark://host:7077``, ...), UI off.

    Raises:
        Unavailable: pyspark is not installed or the JVM could not start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise Unavailable("pyspark is not installed: pip install 'chiptrail[spark]'", {}) from exc
    builder = (
        SparkSession.builder.master(master)
        .appName("chiptrail-batch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
    )
    if java_options:
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM gateway raises bare exceptions
        raise Unavailable(f"could not start Spark on {master}: {exc}", {"master": master}) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def job_error(exc: Exception, out: Path | str) -> InvalidInput | Unavailable:
    """The chiptrail error for a failed Spark job: bad input raised by the kernel on an executor
    stays bad input (exit 2); anything else is Unavailable (exit 69)."""
    text = str(exc)
    marker = "chiptrail.errors.InvalidInput: "
    if marker in text:
        reason = text.split(marker, 1)[1].splitlines()[0]
        return InvalidInput(f"Spark job refused its input: {reason}", {"out": str(out)})
    return Unavailable(f"Spark job failed: {text[:2000]}", {"out": str(out)})


def to_spark_type(t: pa.DataType) -> DataType:
    """The Spark SQL type of an Arrow type used in schema.py."""
    from pyspark.sql import types as st

    simple: dict[pa.DataType, DataType] = {
        pa.string(): st.StringType(),
        pa.float64(): st.DoubleType(),
        pa.int32(): st.IntegerType(),
        pa.int64(): st.LongType(),
        pa.bool_(): st.BooleanType(),
        pa.date32(): st.DateType(),
        pa.timestamp("us", tz="UTC"): st.TimestampType(),
    }
    if pa.types.is_list(t):
        return st.ArrayType(to_spark_type(t.value_type), containsNull=True)
    if t in simple:
        return simple[t]
    raise InvalidInput(f"no Spark type for Arrow type {t}", {})


def to_spark_schema(schema: pa.Schema) -> StructType:
    """The Spark schema of an Arrow schema (names, types, nullability)."""
    from pyspark.sql import types as st

    return st.StructType(
        [st.StructField(f.name, to_spark_type(f.type), f.nullable) for f in schema]
    )


def pivot_frame(measurements: DataFrame, landmark_ids: tuple[str, ...]) -> DataFrame:
    """One row per (chip_id, day, region) with the per-landmark minimum RTT vector ``rtt_ms``.

    The same semantics as local.pivot_sql: unknown landmarks are ignored, missing ones null.
    """
    from pyspark.sql import functions as F

    mins = [
        F.min(F.when(F.col("landmark_id") == F.lit(lid), F.col("rtt_ms"))) for lid in landmark_ids
    ]
    return measurements.groupBy("chip_id", "day", "region").agg(F.array(*mins).alias("rtt_ms"))


def _locate_partition(
    batches: Iterator[pa.RecordBatch], job: Broadcast[LocateJob]
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: runs on executors with the broadcast job (landmarks, raster)."""
    yield from locate_batches(batches, job.value)


def read_measurements(spark: SparkSession, measurements: Path | str) -> DataFrame:
    """The long measurement set (Hive keys typed as in schema.MEASUREMENT_SCHEMA)."""
    return spark.read.schema(to_spark_schema(MEASUREMENT_SCHEMA)).parquet(str(measurements))


def wide_frame(
    spark: SparkSession, measurements: Path | str, job: LocateJob, sites: Path | str | None
) -> DataFrame:
    """The kernel's input: pivoted measurements, joined with declared sites when given."""
    wide = pivot_frame(read_measurements(spark, measurements), job.landmarks.ids)
    if sites is None:
        return wide
    site_df = spark.read.schema(to_spark_schema(SITE_SCHEMA)).parquet(str(sites))
    return wide.join(site_df.select("chip_id", *SITE_COLUMNS), on="chip_id", how="left").select(
        "chip_id", "day", "region", "rtt_ms", *SITE_COLUMNS
    )


def locate_frame(spark: SparkSession, wide: DataFrame, job: LocateJob) -> DataFrame:
    """Verdicts of a wide frame: the kernel of kernel.py through ``mapInArrow``."""
    shipped = spark.sparkContext.broadcast(job)
    body = functools.partial(_locate_partition, job=shipped)
    return wide.mapInArrow(body, to_spark_schema(VERDICT_SCHEMA))


def summarise(spark: SparkSession, out: Path | str) -> LocateSummary:
    """Counts per status and verdict of a written verdict set (one small Spark job)."""
    rows = spark.read.parquet(str(out)).groupBy("status", "verdict").count().collect()
    summary = LocateSummary()
    summary.partitions = spark.read.parquet(str(out)).select("day", "region").distinct().count()
    for r in rows:
        n = int(r["count"])
        summary.chips += n
        summary.status[r["status"]] = summary.status.get(r["status"], 0) + n
        key = r["verdict"] if r["verdict"] is not None else "none"
        summary.verdicts[key] = summary.verdicts.get(key, 0) + n
    return summary


def locate_spark(
    spark: SparkSession,
    measurements: Path | str,
    job: LocateJob,
    out: Path | str,
    *,
    sites: Path | str | None = None,
) -> LocateSummary:
    """The Spark twin of local.locate_local: same inputs, same output layout and rows.

    Raises:
        Conflict: a local ``out`` that is not empty. Unavailable: the Spark job failed.
    """
    if "://" not in str(out):
        check_out_dir(Path(out))
    verdicts = locate_frame(spark, wide_frame(spark, measurements, job, sites), job)
    try:
        verdicts.write.mode("errorifexists").partitionBy("day", "region").parquet(str(out))
    except Exception as exc:  # Py4J/Spark errors carry the executor's reason in their text
        raise job_error(exc, out) from exc
    return summarise(spark, out)
