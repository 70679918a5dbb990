"""Use cases of the rules capability: run and store findings, list rules, findings and cases.

Owns the transactions; rule logic lives in ``chiptrail.rules`` (pure).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.rules import RULES, Case, Finding, group_cases, run_rules
from chiptrail.rules.registry import CHANNELS
from chiptrail.rules.view import view_from_json
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import CASE_STATUSES, case_comments, cases, findings, rule_runs
from chiptrail.types import Severity

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """One page of results and the total count that matched."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class StoredRun:
    """What a stored rule run wrote."""

    run_id: int
    finding_count: int
    case_count: int


def list_rules() -> list[dict[str, str]]:
    """Every rule with its id, channel, title and description (its docstring)."""
    return [r.to_dict() for r in RULES]


def _case_rows(found: Sequence[Case], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "case_id": c.case_id,
            "subject": c.subject,
            "subject_kind": c.subject_kind.value,
            "severity": c.severity.value,
            "score": c.score,
            "rank": rank,
            "rules": ",".join(c.rules),
            "opened_at": now,
            "updated_at": now,
        }
        for rank, c in enumerate(found, start=1)
    ]


def _upsert_cases(conn: Connection, rows: list[dict[str, Any]]) -> None:
    existing = set(conn.scalars(select(cases.c.case_id)))
    new = [r for r in rows if r["case_id"] not in existing]
    if new:
        conn.execute(insert(cases), new)
    for r in rows:
        if r["case_id"] in existing:
            values = {k: r[k] for k in ("severity", "score", "rank", "rules", "updated_at")}
            conn.execute(update(cases).where(cases.c.case_id == r["case_id"]).values(**values))


def store_findings(
    db: Database, found: Sequence[Finding], *, kind: str, summary: dict[str, Any], now: datetime
) -> StoredRun:
    """Replace the stored findings with ``found``, upsert their cases, record the run.

    Cases keep their triage state (status, assignee, comments) across runs; cases left without
    findings are removed unless someone triaged or commented on them. One transaction.
    """
    grouped = group_cases(found)
    case_of = {f.finding_id: c.case_id for c in grouped for f in c.findings}
    with db.unit() as conn:
        run_id = conn.execute(
            insert(rule_runs).values(
                kind=kind,
                started_at=now,
                finished_at=datetime.now(UTC),
                finding_count=len(found),
                summary=json.dumps(summary),
            )
        ).inserted_primary_key
        assert run_id is not None  # noqa: S101 - an insert always returns its key
        conn.execute(delete(findings))
        _upsert_cases(conn, _case_rows(grouped, now))
        rows = [
            {
                "finding_id": f.finding_id,
                "rule": f.rule,
                "channel": f.channel,
                "severity": f.severity.value,
                "severity_rank": f.severity.rank,
                "subject": f.subject,
                "subject_kind": f.subject_kind.value,
                "detected_at": f.detected_at,
                "explanation": f.explanation,
                "evidence": json.dumps([e.to_dict() for e in f.evidence]),
                "case_id": case_of[f.finding_id],
                "run_id": run_id[0],
            }
            for f in found
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(findings), rows[start : start + 5000])
        live = select(findings.c.case_id).distinct()
        commented = select(case_comments.c.case_id).distinct()
        conn.execute(
            delete(cases).where(
                cases.c.case_id.not_in(live),
                cases.c.case_id.not_in(commented),
                cases.c.status == "open",
            )
        )
    return StoredRun(run_id=int(run_id[0]), finding_count=len(found), case_count=len(grouped))


def _finding_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.finding_id,
        "rule": row.rule,
        "channel": row.channel,
        "severity": row.severity,
        "subject": row.subject,
        "subject_kind": row.subject_kind,
        "detected_at": _utc(row.detected_at).isoformat(),
        "explanation": row.explanation,
        "evidence": json.loads(row.evidence),
        "case_id": row.case_id,
    }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", {"field": "limit"})
    if offset < 0:
        raise InvalidInput("offset must be 0 or more", {"field": "offset"})


def list_findings(
    db: Database,
    *,
    rule: str | None = None,
    channel: str | None = None,
    severity: str | None = None,
    subject: str | None = None,
    case_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """Stored findings, most severe first, filtered and paginated.

    Raises:
        InvalidInput: unknown rule, channel or severity, or a bad page.
    """
    _check_page(limit, offset)
    conds = []
    if rule is not None:
        if rule not in {r.rule_id for r in RULES}:
            raise InvalidInput(f"unknown rule {rule!r}", {"field": "rule"})
        conds.append(findings.c.rule == rule)
    if channel is not None:
        if channel not in CHANNELS:
            raise InvalidInput(
                f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}", {"field": "channel"}
            )
        conds.append(findings.c.channel == channel)
    if severity is not None:
        try:
            rank = Severity(severity).rank
        except ValueError as exc:
            raise InvalidInput(f"unknown severity {severity!r}", {"field": "severity"}) from exc
        conds.append(findings.c.severity_rank >= rank)
    if subject is not None:
        conds.append(findings.c.subject == subject)
    if case_id is not None:
        conds.append(findings.c.case_id == case_id)
    order = (findings.c.severity_rank.desc(), findings.c.rule, findings.c.subject)
    with db.unit() as conn:
        total = conn.scalar(select(func.count()).select_from(findings).where(*conds)) or 0
        rows = conn.execute(
            select(findings).where(*conds).order_by(*order).limit(limit).offset(offset)
        ).all()
    return Page([_finding_dict(r) for r in rows], int(total), limit, offset)


def get_finding(db: Database, finding_id: str) -> dict[str, Any]:
    """One stored finding with its evidence.

    Raises:
        NotFound: no finding with that id.
    """
    with db.unit() as conn:
        row = conn.execute(select(findings).where(findings.c.finding_id == finding_id)).first()
    if row is None:
        raise NotFound(f"no finding {finding_id!r}", {"finding_id": finding_id})
    return _finding_dict(row)


def list_cases(
    db: Database, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> Page:
    """Stored cases in rank order (most urgent first), optionally by triage status.

    Raises:
        InvalidInput: unknown status or a bad page.
    """
    _check_page(limit, offset)
    conds = []
    if status is not None:
        if status not in CASE_STATUSES:
            raise InvalidInput(
                f"unknown status {status!r}; one of {', '.join(CASE_STATUSES)}", {"field": "status"}
            )
        conds.append(cases.c.status == status)
    with db.unit() as conn:
        total = conn.scalar(select(func.count()).select_from(cases).where(*conds)) or 0
        rows = conn.execute(
            select(cases)
            .where(*conds)
            .order_by(cases.c.rank, cases.c.case_id)
            .limit(limit)
            .offset(offset)
        ).all()
        counts: dict[str, int] = {
            str(case): int(n)
            for case, n in conn.execute(
                select(findings.c.case_id, func.count()).group_by(findings.c.case_id)
            )
        }
    items = [
        {
            "id": r.case_id,
            "subject": r.subject,
            "subject_kind": r.subject_kind,
            "severity": r.severity,
            "score": r.score,
            "rank": r.rank,
            "rules": r.rules.split(",") if r.rules else [],
            "finding_count": int(counts.get(r.case_id, 0)),
            "status": r.status,
            "assignee": r.assignee,
            "opened_at": _utc(r.opened_at).isoformat(),
            "updated_at": _utc(r.updated_at).isoformat(),
        }
        for r in rows
    ]
    return Page(items, int(total), limit, offset)


def all_findings(db: Database) -> list[dict[str, Any]]:
    """Every stored finding (for export), most severe first."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = list_findings(db, limit=MAX_PAGE, offset=offset)
        out += page.items
        offset += MAX_PAGE
        if offset >= page.total:
            return out


def export_findings(db: Database, fmt: str) -> str:
    """Every stored finding as ``jsonl`` (one alert per line) or ``csv``.

    Raises:
        InvalidInput: unknown format.
    """
    rows = all_findings(db)
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        cols = (
            "id",
            "rule",
            "channel",
            "severity",
            "subject_kind",
            "subject",
            "detected_at",
            "explanation",
            "case_id",
        )
        writer.writerow((*cols, "evidence"))
        for r in rows:
            writer.writerow((*(r[c] for c in cols), ";".join(e["ref"] for e in r["evidence"])))
        return buf.getvalue()
    raise InvalidInput(f"unknown format {fmt!r}: use jsonl or csv", {"field": "format"})


def run_rules_on_view(
    db: Database | None, data: bytes, *, store: bool, now: datetime
) -> list[Finding]:
    """Run every rule over a JSON world view; with ``store``, replace the stored findings.

    Raises:
        InvalidInput: the view does not parse.
    """
    view = view_from_json(data)
    found = run_rules(view)
    if store and db is not None:
        store_findings(db, found, kind="rules-run", summary={"findings": len(found)}, now=now)
    return found
