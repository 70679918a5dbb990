"""Use cases of the case queue: store incident cases, list them with filters, show one in full.

Owns the ``cases`` and ``case_events`` rows; grouping is ``chiptrail.rules.cases`` (pure), triage
actions are ``service/alerts/triage.py``, findings rows are ``service/alerts/findings.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, literal, select, update

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.rules import RULES
from chiptrail.rules.cases import Case
from chiptrail.rules.registry import CHANNELS
from chiptrail.store.findings_tables import (
    CASE_PRIORITIES,
    CASE_STATUSES,
    case_comments,
    case_events,
    cases,
    findings,
)
from chiptrail.store.ledger_tables import parties_table
from chiptrail.store.parties_tables import party_entities
from chiptrail.types import Severity

MAX_PAGE = 1000
SORTS = {
    "rank": (cases.c.rank.asc(), cases.c.case_id.asc()),
    "score": (cases.c.score.desc(), cases.c.case_id.asc()),
    "updated": (cases.c.updated_at.desc(), cases.c.rank.asc()),
    "detected": (cases.c.first_detected_at.asc(), cases.c.rank.asc()),
    "findings": (cases.c.finding_count.desc(), cases.c.rank.asc()),
    "priority": (cases.c.priority.asc(), cases.c.rank.asc()),
}
"""Sort orders of the queue (``rank``: the ranking of the report and the rules engine)."""
_PRIORITY_OF = {
    Severity.CRITICAL: "P1",
    Severity.HIGH: "P2",
    Severity.MEDIUM: "P3",
    Severity.LOW: "P4",
    Severity.INFO: "P4",
}
_SEVERITY_RANK = {s.value: s.rank for s in Severity}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}))?")


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What the queue shows: every field is optional; ``q`` searches names and ids."""

    status: str | None = None
    channel: str | None = None
    rule: str | None = None
    severity: str | None = None
    country: str | None = None
    owner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


def party_names(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    """Names of stored parties (ownership graph first, then ledger registrations)."""
    wanted = sorted(set(ids))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for pid, name in conn.execute(
            select(parties_table.c.party_id, parties_table.c.name).where(
                parties_table.c.party_id.in_(chunk)
            )
        ):
            out[str(pid)] = str(name)
        for pid, name in conn.execute(
            select(party_entities.c.entity_id, party_entities.c.caption).where(
                party_entities.c.entity_id.in_(chunk)
            )
        ):
            out[str(pid)] = str(name)
    return out


def _wrap(values: Iterable[str]) -> str:
    """``,a,b,`` so that one LIKE '%,a,%' matches a whole item."""
    items = [v for v in values if v]
    return "," + ",".join(items) + "," if items else ""


def keep_case_ids(conn: Connection, grouped: Sequence[Case]) -> list[Case]:
    """Give each new case the id its findings had before, so triage state carries over.

    A case keeps the stored id most of its findings held (each stored id goes to one case).
    """
    ids = [f.finding_id for c in grouped for f in c.findings]
    before: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(findings.c.finding_id, findings.c.case_id).where(
                findings.c.finding_id.in_(ids[start : start + 500])
            )
        )
        before.update({str(a): str(b) for a, b in rows})
    taken: set[str] = set()
    out = []
    for c in grouped:
        votes = Counter(before[f.finding_id] for f in c.findings if f.finding_id in before)
        best = next((cid for cid, _ in votes.most_common() if cid not in taken), c.case_id)
        best = c.case_id if c.case_id not in taken and not votes else best
        taken.add(best)
        out.append(c if best == c.case_id else replace(c, case_id=best))
    return out


def case_rows(
    found: Sequence[Case], names: Mapping[str, str], now: datetime
) -> list[dict[str, Any]]:
    """Rows of the ``cases`` table for ``found`` (in rank order)."""
    rows = []
    for rank, c in enumerate(found, start=1):
        named = [names.get(p, "") for p in c.parties]
        words = [c.case_id, c.title, c.subject, *c.parties, *named, *c.chips, *c.countries]
        words += [*c.rules, *c.channels]
        times = [f.detected_at for f in c.findings]
        rows.append(
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
                "title": c.title,
                "priority": _PRIORITY_OF[c.severity],
                "channels": _wrap(c.channels),
                "countries": _wrap(c.countries),
                "chips": _wrap(c.chips),
                "parties": _wrap(c.parties),
                "search_text": " ".join(w.lower() for w in words if w),
                "finding_count": len(c.findings),
                "first_detected_at": min(times),
                "last_detected_at": max(times),
            }
        )
    return rows


_KEPT = ("status", "assignee", "priority", "opened_at")


def upsert_cases(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Insert new cases (with an ``opened`` history event); update the contents of known ones,
    keeping their triage state (status, assignee, priority)."""
    existing = set(conn.scalars(select(cases.c.case_id)))
    new = [r for r in rows if r["case_id"] not in existing]
    if new:
        conn.execute(insert(cases), new)
        conn.execute(
            insert(case_events),
            [
                {
                    "case_id": r["case_id"],
                    "at": now,
                    "actor": "rules",
                    "action": "opened",
                    "detail": f"{r['finding_count']} findings ({r['rules']}), {r['severity']}",
                }
                for r in new
            ],
        )
    for r in rows:
        if r["case_id"] in existing:
            values = {k: v for k, v in r.items() if k not in (*_KEPT, "case_id")}
            conn.execute(update(cases).where(cases.c.case_id == r["case_id"]).values(**values))


def _check(value: str | None, allowed: Iterable[str], field: str) -> None:
    allowed = list(allowed)
    if value is not None and value not in allowed:
        raise InvalidInput(
            f"unknown {field} {value!r}; one of {', '.join(allowed)}", {"field": field}
        )


def _conditions(flt: CaseFilter) -> list[ColumnElement[bool]]:
    _check(flt.status, CASE_STATUSES, "status")
    _check(flt.channel, CHANNELS, "channel")
    _check(flt.rule, [r.rule_id for r in RULES], "rule")
    _check(flt.severity, _SEVERITY_RANK, "severity")
    conds: list[ColumnElement[bool]] = []
    if flt.status is not None:
        conds.append(cases.c.status == flt.status)
    if flt.channel is not None:
        conds.append(cases.c.channels.contains(f",{flt.channel},"))
    if flt.rule is not None:
        conds.append((literal(",") + cases.c.rules + literal(",")).contains(f",{flt.rule},"))
    if flt.severity is not None:
        floor = _SEVERITY_RANK[flt.severity]
        conds.append(cases.c.severity.in_([s for s, r in _SEVERITY_RANK.items() if r >= floor]))
    if flt.country is not None:
        conds.append(cases.c.countries.contains(f",{flt.country.upper()},"))
    if flt.owner is not None:
        conds.append(cases.c.assignee == flt.owner)
    if flt.since is not None:
        conds.append(cases.c.last_detected_at >= flt.since)
    if flt.until is not None:
        conds.append(cases.c.first_detected_at <= flt.until)
    if flt.q:
        terms = [t for t in flt.q.lower().split() if t][:8]
        conds.extend(cases.c.search_text.contains(t, autoescape=True) for t in terms)
    return conds


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _split(value: str) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def case_summary(row: Any) -> dict[str, Any]:
    """The queue's view of one stored case."""
    return {
        "id": row.case_id,
        "title": row.title or row.subject,
        "subject": row.subject,
        "subject_kind": row.subject_kind,
        "severity": row.severity,
        "priority": row.priority,
        "score": row.score,
        "rank": row.rank,
        "rules": _split(row.rules),
        "channels": _split(row.channels),
        "countries": _split(row.countries),
        "chips": _split(row.chips),
        "parties": _split(row.parties),
        "chip_count": len(_split(row.chips)),
        "finding_count": row.finding_count,
        "status": row.status,
        "assignee": row.assignee,
        "opened_at": _utc(row.opened_at),
        "updated_at": _utc(row.updated_at),
        "first_detected_at": _utc(row.first_detected_at),
        "last_detected_at": _utc(row.last_detected_at),
    }


def query_cases(
    conn: Connection, flt: CaseFilter, *, sort: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of cases matching ``flt`` in ``sort`` order, and the total that matched.

    Raises:
        InvalidInput: an unknown filter value, sort or a bad page.
    """
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}; one of {', '.join(SORTS)}", {"field": "sort"})
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset 0 or more", {"field": "limit"})
    conds = _conditions(flt)
    total = conn.scalar(select(func.count()).select_from(cases).where(*conds)) or 0
    rows = conn.execute(
        select(cases).where(*conds).order_by(*SORTS[sort]).limit(limit).offset(offset)
    ).all()
    return [case_summary(r) for r in rows], int(total)


def _evidence_at(detail: str, fallback: str) -> str:
    m = _DATE.match(detail)
    if m is None:
        return fallback
    return f"{m.group(1)}T{m.group(2) or '00:00'}:00+00:00"


def evidence_timeline(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every piece of evidence of a case's findings, once, in time order (when its detail is
    dated, else at its finding's detection), each naming the findings that cite it."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for f in items:
        for e in f["evidence"]:
            key = (e["ref"], e["detail"])
            entry = merged.setdefault(
                key, {**e, "at": _evidence_at(e["detail"], f["detected_at"]), "findings": []}
            )
            entry["findings"].append(f["id"])
    return sorted(merged.values(), key=lambda e: (e["at"], e["ref"]))


def load_case(conn: Connection, case_id: str) -> dict[str, Any]:
    """One case with its findings, evidence timeline, comments and history.

    Raises:
        NotFound: no such case.
    """
    row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id!r}", {"case_id": case_id})
    out = case_summary(row)
    rows = conn.execute(
        select(findings)
        .where(findings.c.case_id == case_id)
        .order_by(findings.c.severity_rank.desc(), findings.c.rule, findings.c.subject)
    ).all()
    items = [
        {
            "id": r.finding_id,
            "rule": r.rule,
            "channel": r.channel,
            "severity": r.severity,
            "subject": r.subject,
            "subject_kind": r.subject_kind,
            "detected_at": _utc(r.detected_at),
            "explanation": r.explanation,
            "evidence": json.loads(r.evidence),
        }
        for r in rows
    ]
    names = party_names(conn, out["parties"])
    out["party_names"] = names
    out["findings"] = items
    out["evidence"] = evidence_timeline(items)
    out["comments"] = [
        {"author": c.author, "body": c.body, "created_at": _utc(c.created_at)}
        for c in conn.execute(
            select(case_comments)
            .where(case_comments.c.case_id == case_id)
            .order_by(case_comments.c.comment_id)
        )
    ]
    out["history"] = [
        {"at": _utc(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in conn.execute(
            select(case_events)
            .where(case_events.c.case_id == case_id)
            .order_by(case_events.c.event_id)
        )
    ]
    return out


def check_priority(priority: str) -> str:
    """``priority`` if it is one of P1..P4.

    Raises:
        InvalidInput: anything else.
    """
    _check(priority, CASE_PRIORITIES, "priority")
    return priority
