"""The one numpy kernel of batch location verification: a wide Arrow batch in, verdicts out.

Called directly by the local runner and through ``DataFrame.mapInArrow`` on Spark, so both paths
give the same rows. The geometry is ``chiptrail.geoloc``'s; this module only converts Arrow
columns to the (n_chips, n_landmarks) RTT matrix and the results back to Arrow. No file I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from chiptrail.batch.schema import VERDICT_SCHEMA
from chiptrail.errors import InvalidInput
from chiptrail.geoloc import (
    BorderIndex,
    Calibration,
    DeclaredSite,
    LandmarkSet,
    LocateOptions,
    judge_targets,
    locate_targets,
)
from chiptrail.types import Country


@dataclass(frozen=True, slots=True)
class LocateJob:
    """Everything the kernel needs besides the rows; picklable, so Spark ships it to executors.

    Attributes:
        landmarks: the landmark set; element j of each ``rtt_ms`` vector is landmark j.
        calibration: likely-bound lines (None: the fibre fallback).
        options: solver knobs; ``options.with_countries`` needs ``borders``.
        borders: the country raster (None: no country attribution).
        min_landmarks: fewer measurements than this give UNVERIFIED.
    """

    landmarks: LandmarkSet
    calibration: Calibration | None = None
    options: LocateOptions = field(default_factory=LocateOptions)
    borders: BorderIndex | None = None
    min_landmarks: int = 1

    def solver_options(self) -> LocateOptions:
        """The options with country attribution switched off when there is no raster."""
        o = self.options
        if self.borders is not None or not o.with_countries:
            return o
        return LocateOptions(
            grid_size=o.grid_size,
            refine_passes=o.refine_passes,
            chunk_size=o.chunk_size,
            max_liars=o.max_liars,
            earth_margin=o.earth_margin,
            with_countries=False,
        )


def rtt_matrix(batch: pa.RecordBatch, n_landmarks: int) -> NDArray[np.float64]:
    """The ``rtt_ms`` list column as a float64 (n_rows, n_landmarks) matrix, NaN for nulls.

    Raises:
        InvalidInput: a row whose vector does not have ``n_landmarks`` elements.
    """
    col = batch.column("rtt_ms")
    if len(col) == 0:
        return np.zeros((0, n_landmarks))
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    if np.any(lengths != n_landmarks):
        raise InvalidInput(
            f"every rtt_ms vector must have {n_landmarks} elements (one per landmark)",
            {"field": "rtt_ms"},
        )
    values = pc.fill_null(pc.list_flatten(col), np.nan)
    flat = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return flat.reshape(len(col), n_landmarks)


def _nullable(a: NDArray[np.float64]) -> pa.Array:
    return pa.array(a, type=pa.float64(), from_pandas=True)  # NaN -> null


def _sites(batch: pa.RecordBatch) -> tuple[NDArray[np.intp], list[DeclaredSite]]:
    """Rows that carry a declared site, and those sites."""
    if "site_lat" not in batch.schema.names:
        return np.zeros(0, dtype=np.intp), []
    lat = batch.column("site_lat").to_pylist()
    lon = batch.column("site_lon").to_pylist()
    country = batch.column("site_country").to_pylist()
    radius = batch.column("site_radius_km").to_pylist()
    rows: list[int] = []
    sites: list[DeclaredSite] = []
    for i, (a, o, c, r) in enumerate(zip(lat, lon, country, radius, strict=True)):
        if a is None or o is None or c is None:
            continue
        rows.append(i)
        sites.append(DeclaredSite(float(a), float(o), Country(str(c)), r))
    return np.array(rows, dtype=np.intp), sites


def locate_batch(batch: pa.RecordBatch, job: LocateJob) -> pa.RecordBatch:
    """Locate (and, where a declared site is given, judge) every chip of a wide batch.

    Args:
        batch: rows of ``schema.wide_schema``: chip_id, day, region, rtt_ms (list of
            float64 ms, one per landmark, null = not measured) and optionally the site columns.
        job: landmarks, calibration, solver options and country raster.

    Returns:
        A batch of ``schema.VERDICT_SCHEMA``, row i describing input row i.

    Raises:
        InvalidInput: malformed vectors, negative or infinite RTTs, bad declared sites.
    """
    lms = job.landmarks
    rtt = rtt_matrix(batch, len(lms))
    opts = job.solver_options()
    ids = batch.column("chip_id").to_pylist()
    res = locate_targets(
        lms, rtt, job.calibration, target_ids=ids, options=opts, borders=job.borders
    )
    verdict: list[str | None] = [None] * len(ids)
    reason: list[str | None] = [None] * len(ids)
    rows, sites = _sites(batch)
    if sites:
        sub = res.take(rows)
        judged = judge_targets(
            lms,
            rtt[rows],
            sites,
            job.calibration,
            located=sub,
            options=opts,
            borders=job.borders,
            min_landmarks=job.min_landmarks,
        )
        for i, v in zip(rows.tolist(), judged, strict=True):
            verdict[i], reason[i] = v.verdict.value, v.reason
    lm_ids = lms.ids
    binding = [lm_ids[b] if b >= 0 else None for b in res.binding_landmark.tolist()]
    columns = [
        batch.column("chip_id"),
        batch.column("day"),
        batch.column("region"),
        pa.array([s.value for s in res.status], pa.string()),
        _nullable(res.lat_deg),
        _nullable(res.lon_deg),
        _nullable(res.proven_radius_km),
        _nullable(res.likely_radius_km),
        _nullable(res.min_disk_km),
        _nullable(res.resolution_km),
        _nullable(res.widened),
        pa.array(res.n_landmarks.astype(np.int32), pa.int32()),
        pa.array(binding, pa.string()),
        pa.array([list(c) for c in res.proven_countries], pa.list_(pa.string())),
        pa.array([list(c) for c in res.likely_countries], pa.list_(pa.string())),
        pa.array(verdict, pa.string()),
        pa.array(reason, pa.string()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=VERDICT_SCHEMA)


def locate_batches(batches: Iterable[pa.RecordBatch], job: LocateJob) -> Iterator[pa.RecordBatch]:
    """``locate_batch`` over a stream of batches (the ``mapInArrow`` function shape)."""
    for batch in batches:
        if batch.num_rows:
            yield locate_batch(batch, job)
