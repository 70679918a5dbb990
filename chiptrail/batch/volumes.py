"""Batch volume aggregation: chips delivered per ultimate parent and busiest rolling window.

The kernel (``aggregate_table``) reproduces ``chiptrail.parties.aggregate_volumes`` for custody
records (tested against it) with numpy two-pointer windows; the local path streams DuckDB's
join ordered by parent, the Spark path runs the same kernel through ``applyInArrow`` per parent.
Ultimate parents come from ``chiptrail.parties`` on the driver (the graph is small next to the
custody records). Cloud tenancy is left to the service (``chiptrail parties aggregate``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from chiptrail.batch.local import check_out_dir, open_duckdb, parquet_source
from chiptrail.batch.schema import VOLUME_SCHEMA
from chiptrail.errors import ChiptrailError, InvalidInput
from chiptrail.hardware.catalogue import get_model
from chiptrail.parties.aggregate import DEFAULT_STRUCTURING_CHIPS, H100_TPP
from chiptrail.parties.graph import OwnershipGraph, compute_ultimate_parents
from chiptrail.parties.model import Directorship, Ownership, from_ftm

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

PARENT_SCHEMA = pa.schema([("party_id", pa.string()), ("parent_id", pa.string())])
"""Party -> ultimate parent rows (a party with two ultimate parents has two rows)."""


@dataclass(frozen=True, slots=True)
class VolumeJob:
    """Parameters of the aggregation; picklable for Spark.

    Attributes:
        window: rolling window length.
        tpp_by_model: TPP of one chip of each model present in the custody records.
        h100_tpp: TPP of one H100-equivalent.
        threshold_chips: per-buyer count under which orders draw less scrutiny (split orders).
    """

    window: dt.timedelta
    tpp_by_model: Mapping[str, float]
    h100_tpp: float = H100_TPP
    threshold_chips: int = DEFAULT_STRUCTURING_CHIPS


@dataclass(frozen=True, slots=True)
class VolumeSummary:
    """What an aggregate run did: parents written, custody records read, windows flagged."""

    parents: int
    records: int
    split_orders: int


def parse_ownership_jsonl(text: str) -> dict[str, tuple[str, ...]]:
    """Ultimate parents of every party named by the FtM JSON lines (Ownership/Directorship).

    Raises:
        InvalidInput: a line that is not JSON or not a valid FtM entity.
    """
    links: list[Ownership | Directorship] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = from_ftm(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"ownership line {n}: not JSON ({exc.msg})", {"line": n}) from exc
        except ChiptrailError as exc:
            raise InvalidInput(f"ownership line {n}: {exc.message}", {"line": n}) from exc
        if isinstance(value, Ownership | Directorship):
            links.append(value)
    owners = [x for x in links if isinstance(x, Ownership)]
    directors = [x for x in links if isinstance(x, Directorship)]
    parents = compute_ultimate_parents(OwnershipGraph(owners, directors))
    return {str(k): tuple(str(p) for p in v) for k, v in parents.items()}


def parent_table(parents_of: Mapping[str, tuple[str, ...]]) -> pa.Table:
    """``PARENT_SCHEMA`` rows of a party -> ultimate parents mapping."""
    pairs = [(p, q) for p, qs in sorted(parents_of.items()) for q in qs]
    return pa.table(
        {"party_id": [p for p, _ in pairs], "parent_id": [q for _, q in pairs]},
        schema=PARENT_SCHEMA,
    )


def tpp_of_models(models: Iterable[str]) -> dict[str, float]:
    """TPP per chip model from the hardware catalogue.

    Raises:
        InvalidInput: a model the catalogue does not know.
    """
    out: dict[str, float] = {}
    for m in models:
        try:
            out[m] = get_model(m).tpp
        except ChiptrailError as exc:
            raise InvalidInput(f"custody: unknown chip model {m!r}", {"chip_model": m}) from exc
    return out


def _segments(keys: list[str]) -> Iterator[tuple[int, int]]:
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            yield start, i
            start = i


def _busiest(
    at_us: NDArray[np.int64], value: NDArray[np.float64], window_us: int
) -> tuple[int, int]:
    """(lo, hi) of the window ending at an event with the largest value (first on ties)."""
    lo = np.searchsorted(at_us, at_us - window_us, side="left")
    cs = np.concatenate([[0.0], np.cumsum(value)])
    hi = np.arange(1, at_us.size + 1)
    best = int(np.argmax(cs[hi] - cs[lo]))
    return int(lo[best]), best + 1


def aggregate_table(table: pa.Table, job: VolumeJob) -> pa.Table:
    """Busiest window per parent of rows (parent_id, buyer_id, chip_model, quantity, at).

    Rows may come in any order and hold any number of parents. Same figures as
    ``parties.aggregate_volumes`` on custody records (chips, TPP, H100-equivalents, window end),
    plus a split-orders flag for that window: two or more buyers, each under
    ``threshold_chips``, together at or over it.

    Returns:
        A table of ``VOLUME_SCHEMA``, one row per parent, sorted by parent_id.
    """
    t = table.sort_by([("parent_id", "ascending"), ("at", "ascending"), ("buyer_id", "ascending")])
    parent = t.column("parent_id").to_pylist()
    buyer = t.column("buyer_id").to_pylist()
    qty = t.column("quantity").to_numpy().astype(np.int64)
    at_us = pc.cast(t.column("at"), pa.int64()).to_numpy()
    models = t.column("chip_model").to_pylist()
    tpp = np.array([job.tpp_by_model[m] for m in models], dtype=np.float64) * qty
    window_us = int(job.window / dt.timedelta(microseconds=1))
    rows: dict[str, list[object]] = {f.name: [] for f in VOLUME_SCHEMA}
    for s, e in _segments(parent):
        lo, hi = _busiest(at_us[s:e], tpp[s:e] / job.h100_tpp, window_us)
        lo, hi = lo + s, hi + s
        per_buyer: dict[str, int] = {}
        for b, q in zip(buyer[lo:hi], qty[lo:hi].tolist(), strict=True):
            per_buyer[b] = per_buyer.get(b, 0) + q
        chips = int(sum(qty[lo:hi].tolist()))
        total = sum(tpp[lo:hi].tolist())
        top = max(per_buyer.values())
        end = int(at_us[hi - 1])
        rows["parent_id"].append(parent[s])
        rows["window_start_at"].append(end - window_us)
        rows["window_end_at"].append(end)
        rows["chips"].append(chips)
        rows["tpp_total"].append(total)
        rows["h100_equivalents"].append(round(total / job.h100_tpp, 6))
        rows["n_buyers"].append(len(per_buyer))
        rows["max_buyer_chips"].append(top)
        rows["split_orders"].append(
            len(per_buyer) >= 2 and top < job.threshold_chips and chips >= job.threshold_chips
        )
    return pa.table(rows, schema=VOLUME_SCHEMA)


def _complete_groups(batches: Iterable[pa.RecordBatch], key: str) -> Iterator[pa.Table]:
    """Re-cut a stream ordered by ``key`` so that no key's rows span two tables."""
    carry: pa.Table | None = None
    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        keys = table.column(key)
        last = keys[len(keys) - 1]
        tail = pc.equal(keys, last).to_numpy(zero_copy_only=False)
        cut = int(np.argmax(tail))  # ordered stream: the last key's rows are the suffix
        carry = table.slice(cut)
        if cut:
            yield table.slice(0, cut)
    if carry is not None and carry.num_rows:
        yield carry


def _job_for(models: Iterable[str], window: dt.timedelta, threshold_chips: int) -> VolumeJob:
    return VolumeJob(window, tpp_of_models(models), threshold_chips=threshold_chips)


def aggregate_local(
    custody: Path,
    parents_of: Mapping[str, tuple[str, ...]],
    out: Path,
    *,
    window: dt.timedelta = dt.timedelta(days=30),
    threshold_chips: int = DEFAULT_STRUCTURING_CHIPS,
    progress: Callable[[int], None] | None = None,
) -> VolumeSummary:
    """Aggregate a custody set (``CUSTODY_SCHEMA`` Parquet) on this machine into ``out``.

    Raises:
        InvalidInput: missing input, unknown chip models. Conflict: ``out`` is not empty.
    """
    check_out_dir(out)
    con = open_duckdb()
    try:
        src = parquet_source(custody, partitioned=False)
        models = [r[0] for r in con.sql(f"SELECT DISTINCT chip_model FROM {src}").fetchall()]  # noqa: S608
        job = _job_for(models, window, threshold_chips)
        con.register("parents", parent_table(parents_of))
        sql = (
            "SELECT coalesce(p.parent_id, c.buyer_id) AS parent_id, c.buyer_id, c.chip_model, "  # noqa: S608
            f"c.quantity, c.at FROM {src} c LEFT JOIN parents p ON p.party_id = c.buyer_id "
            "ORDER BY parent_id"
        )
        out.mkdir(parents=True, exist_ok=True)
        records = int(con.sql(f"SELECT count(*) FROM {src}").fetchall()[0][0])  # noqa: S608
        parents = flagged = done = 0
        with pq.ParquetWriter(out / "part-00000.parquet", VOLUME_SCHEMA) as writer:
            for group in _complete_groups(con.sql(sql).to_arrow_reader(65_536), "parent_id"):
                result = aggregate_table(group, job)
                writer.write_table(result)
                parents += result.num_rows
                done += group.num_rows
                flagged += int(pc.sum(result.column("split_orders").cast(pa.int64())).as_py() or 0)
                if progress is not None:
                    progress(done)
        return VolumeSummary(parents, records, flagged)
    finally:
        con.close()


def _group_body(job: VolumeJob) -> Callable[[pa.Table], pa.Table]:
    """applyInArrow body (one parent's rows); annotated so pyspark infers the Arrow eval type."""

    def body(table: pa.Table) -> pa.Table:
        return aggregate_table(table, job)

    return body


def aggregate_frame(
    spark: SparkSession, custody: DataFrame, parents: pa.Table, job: VolumeJob
) -> DataFrame:
    """Busiest window per parent on Spark: join parents, group by parent, the same kernel."""
    from pyspark.sql import functions as F

    from chiptrail.batch.spark import to_spark_schema

    pdf = spark.createDataFrame(parents.to_pandas(), schema=to_spark_schema(PARENT_SCHEMA))
    joined = custody.join(F.broadcast(pdf), custody["buyer_id"] == pdf["party_id"], "left")
    rows = joined.select(
        F.coalesce(pdf["parent_id"], custody["buyer_id"]).alias("parent_id"),
        custody["buyer_id"],
        custody["chip_model"],
        custody["quantity"],
        custody["at"],
    )
    return rows.groupBy("parent_id").applyInArrow(_group_body(job), to_spark_schema(VOLUME_SCHEMA))


def aggregate_spark(
    spark: SparkSession,
    custody: Path | str,
    parents_of: Mapping[str, tuple[str, ...]],
    out: Path | str,
    *,
    window: dt.timedelta = dt.timedelta(days=30),
    threshold_chips: int = DEFAULT_STRUCTURING_CHIPS,
) -> VolumeSummary:
    """The Spark twin of aggregate_local (same output rows).

    Raises:
        Conflict: a local ``out`` that is not empty. Unavailable: the Spark job failed.
    """
    from pyspark.sql import functions as F

    from chiptrail.batch.schema import CUSTODY_SCHEMA
    from chiptrail.batch.spark import job_error, to_spark_schema

    if "://" not in str(out):
        check_out_dir(Path(out))
    df = spark.read.schema(to_spark_schema(CUSTODY_SCHEMA)).parquet(str(custody))
    models = [r[0] for r in df.select("chip_model").distinct().collect()]
    job = _job_for(models, window, threshold_chips)
    result = aggregate_frame(spark, df, parent_table(parents_of), job)
    try:
        result.write.mode("errorifexists").parquet(str(out))
    except Exception as exc:  # Py4J/Spark errors carry the executor's reason in their text
        raise job_error(exc, out) from exc
    written = spark.read.parquet(str(out))
    flagged = written.where(F.col("split_orders")).count()
    return VolumeSummary(written.count(), df.count(), flagged)
