"""HTTP routes of the rules capability: the rule catalogue, findings, cases, triage, case files.

Each route calls one function of ``chiptrail.service.alerts.findings``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from chiptrail.api.auth import CallerDep
from chiptrail.api.deps import DatabaseDep, SettingsDep
from chiptrail.service.alerts import casefile
from chiptrail.service.alerts import findings as service
from chiptrail.service.alerts import view as rules_view
from chiptrail.service.alerts.cases import CaseFilter
from chiptrail.service.alerts.triage import Resolution, TriageAction, triage_case

router = APIRouter(prefix="/v1", tags=["rules"])

Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=service.MAX_OFFSET, description="Items to skip.")]


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
    caller: CallerDep,
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
        viewer=caller,
    )
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}


@router.get("/findings/{finding_id}")
def get_finding(
    db: DatabaseDep, caller: CallerDep, finding_id: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    """One finding with its evidence (ledger leaves, measurements, ownership paths)."""
    return service.get_finding(db, finding_id, viewer=caller)


@router.get("/cases")
def list_cases(
    db: DatabaseDep,
    status: Annotated[
        str | None, Query(description="open, assigned, confirmed or false_alarm.")
    ] = None,
    channel: Annotated[str | None, Query(description="Only cases with this channel.")] = None,
    rule: Annotated[str | None, Query(description="Only cases with this rule id.")] = None,
    severity: Annotated[str | None, Query(description="At least this severity.")] = None,
    country: Annotated[str | None, Query(max_length=2, description="Country subject.")] = None,
    owner: Annotated[str | None, Query(max_length=300, description="Assignee.")] = None,
    since: Annotated[datetime | None, Query(description="Last detection at or after.")] = None,
    until: Annotated[datetime | None, Query(description="First detection at or before.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in names, ids, chips, rules.")
    ] = None,
    sort: Annotated[
        str, Query(description="rank, score, updated, detected, findings or priority.")
    ] = "rank",
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Incident cases (findings about one lot, order, buyer or ownership group) with their chips,
    most urgent first, filtered and searched (analyst, admin)."""
    flt = CaseFilter(status, channel, rule, severity, country, owner, since, until, q)
    page = service.list_cases(db, flt=flt, sort=sort, limit=limit, offset=offset)
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}


@router.get("/cases/{case_id}")
def get_case(db: DatabaseDep, case_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """One case: chips, parties by name, findings, evidence in time order, comments, history."""
    return service.get_case(db, case_id)


@router.get("/cases/{case_id}/proofs")
def get_case_proofs(
    db: DatabaseDep,
    case_id: Annotated[str, Path(max_length=64)],
    size: Annotated[int | None, Query(ge=0, description="Tree size (default: latest signed).")] = (
        None
    ),
) -> dict[str, Any]:
    """Each ledger entry the case cites, with its RFC 9162 inclusion proof at ``size``."""
    return casefile.case_proofs(db, case_id, size)


@router.get(
    "/cases/{case_id}/file",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def get_case_file(
    db: DatabaseDep, settings: SettingsDep, case_id: Annotated[str, Path(max_length=64)]
) -> HTMLResponse:
    """The case file: one self-contained HTML page with timeline, evidence, list provenance and
    Merkle proofs that a reader verifies offline."""
    page = casefile.build_case_file(db, settings, case_id, now=datetime.now(UTC))
    return HTMLResponse(
        page,
        headers={"Content-Disposition": f'attachment; filename="chiptrail-case-{case_id}.html"'},
    )


@router.get(
    "/cases/{case_id}/file.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
def get_case_file_pdf(
    db: DatabaseDep, settings: SettingsDep, case_id: Annotated[str, Path(max_length=64)]
) -> Response:
    """The case file as a PDF: the same sections, each inclusion proof checked when it is made and
    printed with the ``chiptrail audit inclusion`` command that re-checks it offline."""
    from chiptrail.service.alerts import casepdf  # fpdf2 takes about 1 s to import: on first use

    pdf = casepdf.build_case_pdf(db, settings, case_id, now=datetime.now(UTC))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="chiptrail-case-{case_id}.pdf"'},
    )


class CaseTriageIn(BaseModel):
    """One triage action on a case."""

    action: TriageAction
    assignee: str | None = Field(default=None, max_length=300)
    comment: str | None = Field(default=None, max_length=10_000)
    resolution: Resolution | None = None
    priority: str | None = Field(default=None, max_length=2, description="P1..P4")


@router.post("/cases/{case_id}/triage")
def post_case_triage(
    db: DatabaseDep,
    caller: CallerDep,
    case_id: Annotated[str, Path(max_length=64)],
    body: CaseTriageIn,
) -> dict[str, Any]:
    """Assign, comment, prioritise, close (confirmed / false_alarm) or reopen a case; returns the
    case with its history (analyst, admin)."""
    triage_case(
        db,
        case_id,
        action=body.action,
        author=f"{caller.role.value}:{caller.key_id or 'local'}",
        now=datetime.now(UTC),
        assignee=body.assignee,
        comment=body.comment,
        resolution=body.resolution,
        priority=body.priority,
    )
    return service.get_case(db, case_id)
