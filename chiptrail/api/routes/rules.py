"""HTTP routes of the rules capability: the rule catalogue, findings and cases.

Each route calls one function of ``chiptrail.service.alerts.findings``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from chiptrail.api.deps import DatabaseDep
from chiptrail.service.alerts import findings as service
from chiptrail.service.alerts import view as rules_view

router = APIRouter(prefix="/v1", tags=["rules"])

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Page size.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]


@router.get("/rules")
def list_rules() -> list[dict[str, str]]:
    """Every diversion rule: id, channel, title and description (the rule's docstring)."""
    return service.list_rules()


@router.post("/rules/run")
def run_rules(
    db: DatabaseDep,
    now: Annotated[
        datetime | None, Query(description="ISO 8601 time the rules judge at (default: now).")
    ] = None,
    store: Annotated[bool, Query(description="Replace the stored findings with these.")] = False,
) -> dict[str, Any]:
    """Run every rule over the stored ledger, verdicts, parties and tenancy; return the findings.

    Analysts and admins only. With ``store=true`` the stored findings and cases are replaced
    (cases keep their triage state).
    """
    at = now or datetime.now(UTC)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return rules_view.store_run_to_json(rules_view.run_rules_on_store(db, now=at, store=store))


@router.get("/findings")
def list_findings(
    db: DatabaseDep,
    rule: Annotated[str | None, Query(description="Only this rule id.")] = None,
    channel: Annotated[str | None, Query(description="Only this channel id.")] = None,
    severity: Annotated[str | None, Query(description="At least this severity.")] = None,
    subject: Annotated[str | None, Query(description="Only this chip, party or country.")] = None,
    case_id: Annotated[str | None, Query(description="Only findings of this case.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stored findings, most severe first, with rule, severity, subject and evidence."""
    page = service.list_findings(
        db,
        rule=rule,
        channel=channel,
        severity=severity,
        subject=subject,
        case_id=case_id,
        limit=limit,
        offset=offset,
    )
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}


@router.get("/findings/{finding_id}")
def get_finding(db: DatabaseDep, finding_id: str) -> dict[str, Any]:
    """One finding with its evidence (ledger leaves, measurements, ownership paths)."""
    return service.get_finding(db, finding_id)


@router.get("/cases")
def list_cases(
    db: DatabaseDep,
    status: Annotated[
        str | None, Query(description="open, assigned, confirmed or false_alarm.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Cases (every finding about one subject), most urgent first, with triage state."""
    page = service.list_cases(db, status=status, limit=limit, offset=offset)
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}
