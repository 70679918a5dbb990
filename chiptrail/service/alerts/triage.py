"""Triage of cases: assign, comment, prioritise, close as confirmed or false alarm, reopen.

A finding's triage acts on its case. Every action is written to the case's history.

Writes the triage columns and comments of the rules capability's tables; the findings themselves
are the rules engine's and are never changed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from chiptrail.errors import Conflict, InvalidInput, NotFound
from chiptrail.service.access import scope
from chiptrail.service.alerts.cases import check_priority
from chiptrail.service.auth import Caller
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import case_comments, case_events, cases, findings


class TriageAction(StrEnum):
    """What an analyst does to a finding."""

    ASSIGN = "assign"
    COMMENT = "comment"
    CLOSE = "close"
    PRIORITISE = "prioritise"
    REOPEN = "reopen"


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
    priority: str | None = None,
) -> TriageState:
    """Apply one triage action to the case of ``finding_id`` (see ``triage_case``).

    Raises:
        NotFound: no such finding. Otherwise as ``triage_case``.
    """
    with db.unit() as conn:
        row = conn.execute(
            select(findings.c.case_id).where(findings.c.finding_id == finding_id)
        ).first()
    if row is None:
        raise NotFound(f"no finding {finding_id!r}", {"finding_id": finding_id})
    state = triage_case(
        db,
        str(row.case_id),
        action=action,
        author=author,
        now=now,
        assignee=assignee,
        comment=comment,
        resolution=resolution,
        priority=priority,
    )
    return TriageState(finding_id, state.case_id, state.status, state.assignee, state.comments)


def _check_action(
    action: TriageAction,
    assignee: str | None,
    comment: str | None,
    resolution: Resolution | None,
    priority: str | None,
) -> None:
    if action is TriageAction.ASSIGN and not assignee:
        raise InvalidInput("assign needs an assignee", {"field": "assignee"})
    if action is TriageAction.COMMENT and not comment:
        raise InvalidInput("comment needs a comment", {"field": "comment"})
    if action is TriageAction.CLOSE and resolution is None:
        raise InvalidInput(
            "close needs a resolution: confirmed or false_alarm", {"field": "resolution"}
        )
    if action is TriageAction.PRIORITISE:
        if not priority:
            raise InvalidInput("prioritise needs a priority: P1..P4", {"field": "priority"})
        check_priority(priority)


def _change(
    action: TriageAction,
    assignee: str | None,
    resolution: Resolution | None,
    priority: str | None,
) -> tuple[dict[str, object], str]:
    """The columns an action sets and its line in the history."""
    if action is TriageAction.ASSIGN:
        return {"assignee": assignee, "status": "assigned"}, f"assigned to {assignee}"
    if action is TriageAction.CLOSE and resolution is not None:
        return {"status": resolution.value}, f"closed as {resolution.value}"
    if action is TriageAction.PRIORITISE:
        return {"priority": priority}, f"priority set to {priority}"
    if action is TriageAction.REOPEN:
        return {"status": "open"}, "reopened"
    return {}, "commented"


def triage_case(
    db: Database,
    case_id: str,
    *,
    action: TriageAction,
    author: str,
    now: datetime,
    assignee: str | None = None,
    comment: str | None = None,
    resolution: Resolution | None = None,
    priority: str | None = None,
) -> TriageState:
    """Apply one triage action to a case and record it in the case's history; one transaction.

    Raises:
        NotFound: no such case.
        InvalidInput: an action without what it needs (assignee, comment, resolution, priority).
        Conflict: assigning, prioritising or closing a closed case; reopening an open one.
    """
    _check_action(action, assignee, comment, resolution, priority)
    with db.unit() as conn:
        status = conn.execute(select(cases.c.status).where(cases.c.case_id == case_id)).scalar()
        if status is None:
            raise NotFound(f"no case {case_id!r}", {"case_id": case_id})
        closed = status in (Resolution.CONFIRMED, Resolution.FALSE_ALARM)
        if closed and action not in (TriageAction.COMMENT, TriageAction.REOPEN):
            raise Conflict(
                f"case {case_id} is already closed as {status}; reopen it first",
                {"status": status},
            )
        if action is TriageAction.REOPEN and not closed:
            raise Conflict(f"case {case_id} is not closed ({status})", {"status": status})
        values, line = _change(action, assignee, resolution, priority)
        conn.execute(
            update(cases).where(cases.c.case_id == case_id).values(updated_at=now, **values)
        )
        if comment:
            conn.execute(
                insert(case_comments).values(
                    case_id=case_id, author=author, body=comment, created_at=now
                )
            )
        detail = f"{line}: {comment}" if comment else line
        conn.execute(
            insert(case_events).values(
                case_id=case_id, at=now, actor=author, action=action.value, detail=detail[:2000]
            )
        )
        return _state(conn, "", case_id)


def get_triage(db: Database, finding_id: str, *, caller: Caller | None = None) -> TriageState:
    """The triage state of the case of ``finding_id``.

    ``caller`` (None: trusted local use) must reach the finding (``service.access.scope``).

    Raises:
        NotFound: no such finding.
        PermissionDenied: the finding is not about ``caller``'s party or an asset it reaches.
    """
    if caller is not None:
        scope.require_finding(db, caller, finding_id)
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
