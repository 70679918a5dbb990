"""HTTP routes of the service capability: the caller (``/v1/me``), API keys, the refusal audit.

Role checks come from the policy table in ``api/auth.py`` (keys and audit: admin only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, BaseModel, Field

from chiptrail.api.auth import CallerDep
from chiptrail.api.deps import DatabaseDep
from chiptrail.api.pagination import Page, PageDep, decode_cursor, encode_cursor
from chiptrail.crypto import b64decode
from chiptrail.errors import InvalidInput
from chiptrail.service.alerts import findings as rules_service
from chiptrail.service.alerts.triage import (
    Resolution,
    TriageAction,
    TriageState,
    get_triage,
    triage_finding,
)
from chiptrail.service.auth import (
    ApiKey,
    Refusal,
    Role,
    create_api_key,
    list_api_keys,
    list_refusals,
    revoke_api_key,
)
from chiptrail.service.location.verdicts import (
    StoredVerdict,
    list_chip_verdicts,
    list_latest_verdicts,
    parse_verdict,
)

router = APIRouter(prefix="/v1", tags=["service"])


class CallerOut(BaseModel):
    """Who the server thinks you are."""

    key_id: str | None
    role: Role
    party_id: str | None


class KeyIn(BaseModel):
    """A key to create: a bearer token, or an Ed25519 signing key when ``public_key`` is given."""

    role: Role
    party_id: str | None = Field(default=None, max_length=200)
    label: str = Field(default="", max_length=200)
    public_key: str | None = Field(default=None, description="base64 raw Ed25519 public key")
    expires_at: AwareDatetime | None = Field(
        default=None, description="Refused from this time on (RFC 3339 with offset)."
    )


class KeyOut(BaseModel):
    """A stored key (never its secret)."""

    key_id: str
    kind: str
    role: Role
    party_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None
    public_key: str | None
    expires_at: datetime | None = None


class CreatedKeyOut(KeyOut):
    """A new key; ``token`` is shown only in this response."""

    token: str | None


class RefusalOut(BaseModel):
    """One refused request."""

    refusal_id: int
    refused_at: datetime
    key_id: str | None
    role: str | None
    party_id: str | None
    method: str
    path: str
    status: int
    code: str
    reason: str


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id,
        kind=key.kind,
        role=key.role,
        party_id=key.party_id,
        label=key.label,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        public_key=key.public_key_b64,
        expires_at=key.expires_at,
    )


@router.get("/me")
def get_me(caller: CallerDep) -> CallerOut:
    """The identity, role and party of the calling key."""
    return CallerOut(key_id=caller.key_id, role=caller.role, party_id=caller.party_id)


@router.post("/keys", status_code=201)
def post_key(body: KeyIn, db: DatabaseDep) -> CreatedKeyOut:
    """Create an API key (admin). The bearer token is returned once and never stored."""
    public = None if body.public_key is None else b64decode(body.public_key, "public_key")
    created = create_api_key(
        db,
        role=body.role,
        party_id=body.party_id,
        label=body.label,
        now=datetime.now(UTC),
        public_key=public,
        expires_at=body.expires_at,
    )
    return CreatedKeyOut(**_key_out(created.key).model_dump(), token=created.token)


@router.get("/keys")
def get_keys(db: DatabaseDep, page: PageDep) -> Page[KeyOut]:
    """API keys ordered by id (admin)."""
    after = decode_cursor(page.cursor)
    keys = list_api_keys(db, after=None if after is None else str(after), limit=page.limit)
    cursor = encode_cursor(keys[-1].key_id) if len(keys) == page.limit else None
    return Page[KeyOut](items=[_key_out(k) for k in keys], next_cursor=cursor)


@router.delete("/keys/{key_id}")
def delete_key(key_id: Annotated[str, Path(max_length=40)], db: DatabaseDep) -> KeyOut:
    """Revoke an API key (admin); later requests with it are refused with 401."""
    return _key_out(revoke_api_key(db, key_id, now=datetime.now(UTC)))


@router.get("/audit/refused")
def get_refused(
    db: DatabaseDep,
    page: PageDep,
    status: Annotated[int | None, Query(ge=100, le=599, description="Only this status.")] = None,
) -> Page[RefusalOut]:
    """Refused requests, newest first (admin): who, what, status and why."""
    before = decode_cursor(page.cursor)
    if before is not None and not isinstance(before, int):
        raise InvalidInput("cursor is not valid: pass back next_cursor unchanged")
    rows = list_refusals(db, before_id=before, limit=page.limit, status=status)
    cursor = encode_cursor(rows[-1].refusal_id) if len(rows) == page.limit else None
    return Page[RefusalOut](items=[_refusal_out(r) for r in rows], next_cursor=cursor)


def _refusal_out(r: Refusal) -> RefusalOut:
    return RefusalOut(
        refusal_id=r.refusal_id,
        refused_at=r.refused_at,
        key_id=r.key_id,
        role=r.role,
        party_id=r.party_id,
        method=r.method,
        path=r.path,
        status=r.status,
        code=r.code,
        reason=r.reason,
    )


class TriageIn(BaseModel):
    """One triage action on a finding (applies to the finding's case)."""

    action: TriageAction
    assignee: str | None = Field(default=None, max_length=300)
    comment: str | None = Field(default=None, max_length=10_000)
    resolution: Resolution | None = None


class CommentOut(BaseModel):
    """A comment on a case."""

    author: str
    body: str
    created_at: datetime


class TriageOut(BaseModel):
    """The triage state of a finding's case."""

    finding_id: str
    case_id: str
    status: str
    assignee: str | None
    comments: list[CommentOut]


def _triage_out(state: TriageState) -> TriageOut:
    return TriageOut(
        finding_id=state.finding_id,
        case_id=state.case_id,
        status=state.status,
        assignee=state.assignee,
        comments=[
            CommentOut(author=c.author, body=c.body, created_at=c.created_at)
            for c in state.comments
        ],
    )


@router.post("/findings/{finding_id}/triage")
def post_triage(
    finding_id: Annotated[str, Path(max_length=64)],
    body: TriageIn,
    db: DatabaseDep,
    caller: CallerDep,
) -> TriageOut:
    """Assign, comment on, or close (confirmed / false_alarm) a finding's case (analyst, admin)."""
    author = f"{caller.role.value}:{caller.key_id or 'local'}"
    state = triage_finding(
        db,
        finding_id,
        action=body.action,
        author=author,
        now=datetime.now(UTC),
        assignee=body.assignee,
        comment=body.comment,
        resolution=body.resolution,
    )
    return _triage_out(state)


@router.get("/findings/{finding_id}/triage")
def get_finding_triage(
    finding_id: Annotated[str, Path(max_length=64)], db: DatabaseDep, caller: CallerDep
) -> TriageOut:
    """The triage state (status, assignee, comments) of a finding's case."""
    return _triage_out(get_triage(db, finding_id, caller=caller))


@router.get(
    "/reports/findings",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The report file.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
def get_findings_report(
    db: DatabaseDep,
    format: Annotated[str, Query(pattern="^(csv|jsonl)$", description="csv or jsonl.")] = "csv",
) -> PlainTextResponse:
    """Every stored finding as a downloadable CSV or JSON-lines report (analyst, admin)."""
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return PlainTextResponse(
        rules_service.export_findings(db, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="chiptrail-findings.{format}"'},
    )


class VerdictOut(BaseModel):
    """A stored location verdict: point estimate (WGS84 degrees), countries, evidence."""

    verdict_id: int
    chip_id: str
    verdict: str
    computed_at: datetime
    lat: float | None
    lon: float | None
    declared_country: str | None
    n_landmarks: int
    proven_countries: list[str]
    likely_countries: list[str]
    evidence: dict[str, object] | None = None


def _verdict_out(v: StoredVerdict, *, with_evidence: bool) -> VerdictOut:
    return VerdictOut(
        verdict_id=v.verdict_id,
        chip_id=v.chip_id,
        verdict=v.verdict.value,
        computed_at=v.computed_at,
        lat=v.lat,
        lon=v.lon,
        declared_country=v.declared_country,
        n_landmarks=v.n_landmarks,
        proven_countries=list(v.proven_countries),
        likely_countries=list(v.likely_countries),
        evidence=v.evidence if with_evidence else None,
    )


@router.get("/verdicts")
def get_verdicts(
    db: DatabaseDep,
    page: PageDep,
    verdict: Annotated[
        str | None, Query(max_length=20, description="Only VIOLATION, SUSPECT, ...")
    ] = None,
) -> Page[VerdictOut]:
    """The latest stored location verdict of every chip, by chip id (the dashboard's map)."""
    after = decode_cursor(page.cursor)
    rows = list_latest_verdicts(
        db,
        after_chip=None if after is None else str(after),
        limit=page.limit,
        verdict=None if verdict is None else parse_verdict(verdict),
    )
    cursor = encode_cursor(rows[-1].chip_id) if len(rows) == page.limit else None
    return Page[VerdictOut](
        items=[_verdict_out(v, with_evidence=False) for v in rows], next_cursor=cursor
    )


@router.get("/chips/{chip_id}/verdicts")
def get_chip_verdicts(
    chip_id: Annotated[str, Path(max_length=200)],
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[VerdictOut]:
    """A chip's stored verdicts, newest first, with evidence (its regions over time)."""
    return [
        _verdict_out(v, with_evidence=True) for v in list_chip_verdicts(db, chip_id, limit=limit)
    ]
