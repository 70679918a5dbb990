"""The batch use cases behind ``chiptrail batch locate|aggregate|simulate``: one function each.

Each picks the local path or, given a Spark master URL, the Spark path; both write the same
Parquet layout. Parsing of the small side inputs (landmarks.csv, ownership JSON lines) is here;
the CLI only reads options and renders the summary.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from chiptrail.batch.kernel import LocateJob
from chiptrail.batch.local import LocateSummary, ProgressFn, locate_local
from chiptrail.batch.simulate import SimulatedSet, simulate_measurements
from chiptrail.batch.volumes import VolumeSummary, aggregate_local, parse_ownership_jsonl
from chiptrail.errors import InvalidInput
from chiptrail.geoloc import LandmarkSet, LocateOptions, load_border_index, parse_landmarks_csv
from chiptrail.parties.aggregate import DEFAULT_STRUCTURING_CHIPS

log = logging.getLogger(__name__)


def read_landmarks(path: Path) -> LandmarkSet:
    """Parse landmarks.csv strictly (a batch run over millions of chips must not skip rows).

    Raises:
        InvalidInput: a missing file or any bad row.
    """
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", {"field": "landmarks"})
    landmarks, errors = parse_landmarks_csv(path.read_text(encoding="utf-8"))
    if errors:
        raise InvalidInput(
            f"{path}: {len(errors)} bad row(s): {errors[0]}", {"errors": [str(e) for e in errors]}
        )
    if len(landmarks) == 0:
        raise InvalidInput(f"{path}: no landmarks", {"field": "landmarks"})
    return landmarks


def run_locate(
    measurements: Path,
    landmarks_csv: Path,
    out: Path,
    *,
    sites: Path | None = None,
    spark_master: str | None = None,
    options: LocateOptions | None = None,
    progress: ProgressFn | None = None,
    workers: int = 1,
) -> LocateSummary:
    """Locate (and judge, where sites are given) every chip of a Parquet measurement set.

    Args:
        measurements: ``MEASUREMENT_SCHEMA`` Parquet directory.
        landmarks_csv: landmarks.csv (its row order is the order of the per-chip vector).
        out: new directory for the verdicts (``VERDICT_SCHEMA``, by day and region).
        sites: ``SITE_SCHEMA`` Parquet of declared sites (optional).
        spark_master: run on Spark at this master URL (``local[2]``, ``spark://host:7077``);
            None runs on this machine.
        options: solver knobs; ``with_countries`` loads the offline country raster once.
        progress: local path only: called after each partition.
        workers: local path only: kernel processes (Spark sizes its own executors).

    Raises:
        InvalidInput, Conflict, Unavailable (Spark missing or failed).
    """
    if spark_master is not None and workers != 1:
        raise InvalidInput(
            "--workers applies to the local path; Spark sizes its executors itself",
            {"field": "workers"},
        )
    opts = options or LocateOptions()
    landmarks = read_landmarks(landmarks_csv)
    if sites is not None and not sites.exists():
        raise InvalidInput(f"{sites}: no such file or directory", {"field": "sites"})
    borders = load_border_index() if opts.with_countries else None
    job = LocateJob(landmarks, options=opts, borders=borders)
    if spark_master is None:
        return locate_local(measurements, job, out, sites=sites, progress=progress, workers=workers)
    from chiptrail.batch.spark import locate_spark, spark_session

    if not measurements.exists():
        raise InvalidInput(f"{measurements}: no such file or directory", {"field": "path"})
    return locate_spark(spark_session(spark_master), measurements, job, out, sites=sites)


def run_aggregate(
    custody: Path,
    ownership: Path,
    out: Path,
    *,
    window: dt.timedelta = dt.timedelta(days=30),
    threshold_chips: int = DEFAULT_STRUCTURING_CHIPS,
    spark_master: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> VolumeSummary:
    """Chips per ultimate parent and busiest rolling window over a Parquet custody set.

    Args:
        custody: ``CUSTODY_SCHEMA`` Parquet directory.
        ownership: FtM JSON lines (Ownership and Directorship entities; others ignored).
        out: new directory for ``VOLUME_SCHEMA`` rows.
        window, threshold_chips: window length; split-orders threshold per buyer.
        spark_master: run on Spark at this master URL; None runs on this machine.

    Raises:
        InvalidInput, Conflict, Unavailable.
    """
    if not ownership.is_file():
        raise InvalidInput(f"{ownership}: no such file", {"field": "ownership"})
    if window <= dt.timedelta(0) or threshold_chips <= 0:
        raise InvalidInput("window and threshold must be positive", {"field": "window"})
    parents = parse_ownership_jsonl(ownership.read_text(encoding="utf-8"))
    if spark_master is None:
        return aggregate_local(
            custody, parents, out, window=window, threshold_chips=threshold_chips, progress=progress
        )
    from chiptrail.batch.spark import spark_session
    from chiptrail.batch.volumes import aggregate_spark

    if not custody.exists():
        raise InvalidInput(f"{custody}: no such file or directory", {"field": "custody"})
    return aggregate_spark(
        spark_session(spark_master),
        custody,
        parents,
        out,
        window=window,
        threshold_chips=threshold_chips,
    )


def run_simulate(
    out: Path,
    *,
    chips: int,
    n_landmarks: int = 16,
    days: int = 1,
    seed: int = 0,
    diverted_share: float = 0.02,
) -> SimulatedSet:
    """Write a simulated measurement set (see simulate.simulate_measurements)."""
    return simulate_measurements(
        out,
        chips=chips,
        n_landmarks=n_landmarks,
        days=days,
        seed=seed,
        diverted_share=diverted_share,
    )
