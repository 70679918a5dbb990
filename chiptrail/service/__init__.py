"""Use cases (ingest, verify, locate, screen, alert, report); owns transactions.

Edges (cli, api) call exactly one service function per command or route.
"""
