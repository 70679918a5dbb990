"""chiptrail.batch: location verification and volume aggregation over Parquet, locally or on Spark.

Owns the Parquet schemas (schema.py), the one numpy kernel both paths share (kernel.py), the local
DuckDB/pyarrow runner (local.py), the Spark runner (spark.py, the only pyspark importer), batch
volumes (volumes.py) and the measurement-set simulator (simulate.py). Geometry stays in geoloc.
"""
