"""Triage of findings: assign, comment, close as confirmed or false alarm (on the finding's case).

Writes the triage columns and comments of the rules capability's tables; the findings themselves
are the rules engine's and are never changed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from chiptrail.errors import Conflict, InvalidInput, NotFound
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import case_comments, cases, findings


class TriageAction(StrEnum):
    """What an analyst does to a finding."""

    ASSIGN = "assign"
    COMMENT = "comment"
    CLOSE = "close"


class Resolution(StrEnum):
    """How a closed finding ended."""

    CONFIRMED = "confirmed"
    FALSE_ALARM = "false_alarm"


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment on a case."""

    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TriageState:
    """The case a finding belongs to, after triage."""

    finding_id: str
    case_id: str
    status: str
    assignee: str | None
    comments: tuple[Comment, ...]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def triage_finding(
    db: Database,
    finding_id: str,
    *,
    action: TriageAction,
    author: str,
    now: datetime,
    assignee: str | None = None,
    comment: str | None = None,
    resolution: Resolution | None = None,
) -> TriageState:
    """Apply one triage action to the case of ``finding_id``, in one transaction.

    Raises:
        NotFound: no such finding.
        InvalidInput: an action without what it needs (assignee, comment, resolution).
        Conflict: assigning or closing a case that is already closed.
    """
    if action is TriageAction.ASSIGN and not assignee:
        raise InvalidInput("assign needs an assignee", {"field": "assignee"})
    if action is TriageAction.COMMENT and not comment:
        raise InvalidInput("comment needs a comment", {"field": "comment"})
    if action is TriageAction.CLOSE and resolution is None:
        raise InvalidInput(
            "close needs a resolution: confirmed or false_alarm", {"field": "resolution"}
        )
    with db.unit() as conn:
        row = conn.execute(
            select(findings.c.case_id).where(findings.c.finding_id == finding_id)
        ).first()
        if row is None:
            raise NotFound(f"no finding {finding_id!r}", {"finding_id": finding_id})
        case_id = str(row.case_id)
        status = conn.execute(select(cases.c.status).where(cases.c.case_id == case_id)).scalar_one()
        closed = status in (Resolution.CONFIRMED, Resolution.FALSE_ALARM)
        if closed and action is not TriageAction.COMMENT:
            raise Conflict(f"case {case_id} is already closed as {status}", {"status": status})
        values: dict[str, object] = {"updated_at": now}
        if action is TriageAction.ASSIGN:
            values |= {"assignee": assignee, "status": "assigned"}
        elif action is TriageAction.CLOSE and resolution is not None:
            values |= {"status": resolution.value}
        conn.execute(update(cases).where(cases.c.case_id == case_id).values(**values))
        if comment:
            conn.execute(
                insert(case_comments).values(
                    case_id=case_id, author=author, body=comment, created_at=now
                )
            )
        return _state(conn, finding_id, case_id)


def get_triage(db: Database, finding_id: str) -> TriageState:
    """The triage state of the case of ``finding_id``.

    Raises:
        NotFound: no such finding.
    """
    with db.unit() as conn:
        row = conn.execute(
            select(findings.c.case_id).where(findings.c.finding_id == finding_id)
        ).first()
        if row is None:
            raise NotFound(f"no finding {finding_id!r}", {"finding_id": finding_id})
        return _state(conn, finding_id, str(row.case_id))


def _state(conn: Connection, finding_id: str, case_id: str) -> TriageState:
    case = conn.execute(select(cases).where(cases.c.case_id == case_id)).one()
    notes = conn.execute(
        select(case_comments)
        .where(case_comments.c.case_id == case_id)
        .order_by(case_comments.c.comment_id)
    ).all()
    return TriageState(
        finding_id=finding_id,
        case_id=case_id,
        status=case.status,
        assignee=case.assignee,
        comments=tuple(Comment(n.author, n.body, _utc(n.created_at)) for n in notes),
    )
