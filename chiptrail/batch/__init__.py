"""chiptrail.batch: location verification and volume aggregation over Parquet, locally or on Spark.

Owns the Parquet schemas (schema.py), the one numpy kernel both paths share (kernel.py), the local
DuckDB/pyarrow runner (local.py), the Spark runner (spark.py, the only pyspark importer; pyspark
is imported lazily), batch volumes (volumes.py), the measurement-set simulator (simulate.py) and
the use cases behind the CLI (jobs.py). Geometry stays in geoloc, ownership in parties.
"""

from chiptrail.batch.jobs import run_aggregate, run_locate, run_simulate
from chiptrail.batch.kernel import LocateJob, locate_batch, locate_batches
from chiptrail.batch.local import LocateSummary, locate_local
from chiptrail.batch.simulate import SimulatedSet, simulate_measurements
from chiptrail.batch.volumes import VolumeJob, VolumeSummary, aggregate_local, aggregate_table

__all__ = [
    "LocateJob",
    "LocateSummary",
    "SimulatedSet",
    "VolumeJob",
    "VolumeSummary",
    "aggregate_local",
    "aggregate_table",
    "locate_batch",
    "locate_batches",
    "locate_local",
    "run_aggregate",
    "run_locate",
    "run_simulate",
    "simulate_measurements",
]
