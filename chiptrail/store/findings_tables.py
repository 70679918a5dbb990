"""Tables of the rules capability: findings, cases (triage state), case comments, rule runs.

Registered on the shared metadata; created by migration 0005. Queries live in
``service/alerts/findings.py``.
Findings and cases are derived data: a rule run upserts them, keeping each case's triage state.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, Table, Text

from chiptrail.store.metadata import metadata

CASE_STATUSES = ("open", "assigned", "confirmed", "false_alarm")
"""Triage states of a case."""

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
