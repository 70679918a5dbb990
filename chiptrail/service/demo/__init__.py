"""The demo pipeline: simulate a world, write it through the ingestion paths, judge it, report.

The world itself is built by ``chiptrail.sim``; this package stores it and scores detection.
"""
