"""Use cases of the rules capability: run and store findings, list rules, findings and cases.

Owns the transactions; rule logic lives in ``chiptrail.rules`` (pure).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.rules import RULES, Finding, SubjectKind, WorldView, group_cases, run_rules
from chiptrail.rules.registry import CHANNELS
from chiptrail.rules.view import view_from_json
from chiptrail.service.access.scope import findings_clause
from chiptrail.service.alerts.cases import (
    CaseFilter,
    case_rows,
    keep_case_ids,
    load_case,
    party_names,
    query_cases,
    upsert_cases,
)
from chiptrail.service.auth import Caller
from chiptrail.service.parties.status import ListMatch, record_list_matches
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import case_comments, cases, findings, rule_runs
from chiptrail.types import Severity

MAX_PAGE = 1000
MAX_OFFSET = 1_000_000_000
"""Deeper pages are refused: an offset past every stored row is a mistake, and one past 2**63
overflows the database's integers."""


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


def store_findings(
    db: Database,
    found: Sequence[Finding],
    *,
    kind: str,
    summary: dict[str, Any],
    now: datetime,
    view: WorldView | None = None,
) -> StoredRun:
    """Replace the stored findings with ``found``, upsert their incident cases, record the run.

    ``view`` (the world the findings came from) links chips to their lot and holder. Cases keep
    their id and triage state (status, assignee, priority, comments, history) across runs while
    most of their findings stay together; cases left without findings are removed unless someone
    triaged or commented on them. One transaction.
    """
    with db.unit() as conn:
        subjects = {f.subject for f in found if f.subject_kind is SubjectKind.PARTY}
        names = party_names(conn, subjects)
        grouped = keep_case_ids(conn, group_cases(found, view, names))
        case_of = {f.finding_id: c.case_id for c in grouped for f in c.findings}
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
        upsert_cases(conn, case_rows(grouped, names, now), now)
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
    if view is not None:
        hits = [
            ListMatch(h.party_id, h.list_name, h.listed_name, h.score, h.explanation)
            for h in view.screening_hits
        ]
        record_list_matches(db, hits, now=now)
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
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET}", {"field": "offset"})


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
    viewer: Caller | None = None,
) -> Page:
    """Stored findings, most severe first, filtered and paginated.

    ``viewer`` limits them to the findings its party reaches (``service.access.scope``);
    ``None`` (the CLI) sees all.

    Raises:
        InvalidInput: unknown rule, channel or severity, or a bad page.
    """
    _check_page(limit, offset)
    conds = [findings_clause(viewer)]
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


def get_finding(db: Database, finding_id: str, *, viewer: Caller | None = None) -> dict[str, Any]:
    """One stored finding with its evidence (``viewer``: only one its party reaches).

    Raises:
        NotFound: no finding with that id (or none the viewer reaches).
    """
    query = select(findings).where(findings.c.finding_id == finding_id)
    with db.unit() as conn:
        row = conn.execute(query.where(findings_clause(viewer))).first()
    if row is None:
        raise NotFound(f"no finding {finding_id!r}", {"finding_id": finding_id})
    return _finding_dict(row)


def list_cases(
    db: Database,
    *,
    status: str | None = None,
    flt: CaseFilter | None = None,
    sort: str = "rank",
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """Stored incident cases, filtered, sorted (default: rank, most urgent first), paginated.

    Raises:
        InvalidInput: unknown status, channel, rule, severity or sort, or a bad page.
    """
    flt = flt or CaseFilter()
    if status is not None:
        flt = replace(flt, status=status)
    with db.unit() as conn:
        items, total = query_cases(conn, flt, sort=sort, limit=limit, offset=offset)
    return Page(items, total, limit, offset)


def get_case(db: Database, case_id: str) -> dict[str, Any]:
    """One case: its chips, parties (with names), findings, evidence in time order, comments and
    history.

    Raises:
        NotFound: no such case.
    """
    with db.unit() as conn:
        return load_case(conn, case_id)


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
        store_findings(
            db, found, kind="rules-run", summary={"findings": len(found)}, now=now, view=view
        )
    return found
