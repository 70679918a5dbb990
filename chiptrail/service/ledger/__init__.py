"""Custody ledger use cases: party keys, signed event submission, the log, chip views.

Each function owns one transaction; the pure rules of custody live in ``chiptrail.ledger``.
"""
