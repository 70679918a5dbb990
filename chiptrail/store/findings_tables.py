"""Tables of the rules capability: findings, cases (triage state), case comments and history, rule
runs, and the screening matches that make a party restricted.

Registered on the shared metadata; created by migrations 0005 and 0008. Queries live in
``service/alerts/findings.py``.
Findings and cases are derived data: a rule run upserts them, keeping each case's triage state.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, Table, Text

from chiptrail.store.metadata import metadata

CASE_STATUSES = ("open", "assigned", "confirmed", "false_alarm")
"""Triage states of a case."""
CASE_PRIORITIES = ("P1", "P2", "P3", "P4")
"""Case priorities, most urgent first (set from severity, changed by triage)."""

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("subject", String(300), nullable=False, index=True),
    Column("subject_kind", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("score", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("rules", Text, nullable=False),
    Column("status", String(20), nullable=False, server_default="open"),
    Column("assignee", String(300), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # 0007: the incident's contents, denormalised for the queue's filters and search.
    Column("title", Text, nullable=False, server_default=""),
    Column("priority", String(2), nullable=False, server_default="P3"),
    Column("channels", Text, nullable=False, server_default=""),
    Column("countries", Text, nullable=False, server_default=""),
    Column("chips", Text, nullable=False, server_default=""),
    Column("parties", Text, nullable=False, server_default=""),
    Column("search_text", Text, nullable=False, server_default=""),
    Column("finding_count", Integer, nullable=False, server_default="0"),
    Column("first_detected_at", DateTime(timezone=True), nullable=True),
    Column("last_detected_at", DateTime(timezone=True), nullable=True),
)

findings = Table(
    "findings",
    metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("rule", String(100), nullable=False, index=True),
    Column("channel", String(40), nullable=False, index=True),
    Column("severity", String(20), nullable=False),
    Column("severity_rank", Integer, nullable=False),
    Column("subject", String(300), nullable=False, index=True),
    Column("subject_kind", String(20), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("explanation", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column(
        "case_id",
        String(64),
        ForeignKey("cases.case_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("run_id", Integer, nullable=True),
)

case_comments = Table(
    "case_comments",
    metadata,
    Column("comment_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "case_id",
        String(64),
        ForeignKey("cases.case_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("author", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

rule_runs = Table(
    "rule_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("finding_count", Integer, nullable=False),
    Column("summary", Text, nullable=False),
)

case_events = Table(
    "case_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "case_id",
        String(64),
        ForeignKey("cases.case_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("action", String(40), nullable=False),
    Column("detail", Text, nullable=False),
)
"""A case's history: opened, assigned, prioritised, commented, closed, reopened (append-only)."""

party_screening = Table(
    "party_screening",
    metadata,
    Column("party_id", String(300), primary_key=True),
    Column("list_id", String(100), primary_key=True),
    Column("entry_name", String(1000), primary_key=True),
    Column("score", Float, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("list_sha256", String(64), nullable=False),
    Column("list_loaded_at", DateTime(timezone=True), nullable=True),
    Column("matched_at", DateTime(timezone=True), nullable=False),
)
"""Screening matches of stored parties against list entries, with the list version (sha256) and
date behind each: a party with a match is restricted by listing."""
