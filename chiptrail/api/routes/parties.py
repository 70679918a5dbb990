"""HTTP routes of the parties capability: screening, parties and the ownership graph, tenancy.

Each route calls one service function (``chiptrail.service.parties.lists`` / ``parties_graph``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chiptrail.api.deps import DatabaseDep
from chiptrail.countries import parse_country
from chiptrail.errors import InvalidInput
from chiptrail.parties.aggregate import TenancyRecord
from chiptrail.parties.screening import DEFAULT_THRESHOLD, ScreeningIndex
from chiptrail.parties.screening import Query as ScreenQuery
from chiptrail.service.ledger.custody_records import custody_source
from chiptrail.service.parties import graph as graph_service
from chiptrail.service.parties import lists as service
from chiptrail.store.database import Database
from chiptrail.types import PartyId

router = APIRouter(prefix="/v1", tags=["parties"])

MAX_BATCH = 10_000


class QueryBody(BaseModel):
    """One name to screen, with optional supporting evidence."""

    model_config = ConfigDict(extra="forbid")

    query_id: str | None = Field(None, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    country: str | None = Field(None, description="ISO 3166-1 alpha-2.")
    address: str | None = Field(None, max_length=1000)
    identifiers: list[str] = Field(default_factory=list, max_length=20)
    schema_: Literal["Person", "Company", "Organization", "LegalEntity"] | None = Field(
        None, alias="schema", description="FtM schema of the party; Person drops titles."
    )


class ScreenBody(BaseModel):
    """A single name (``name``) or a batch (``queries``), screened against the stored lists."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(None, min_length=1, max_length=500)
    country: str | None = None
    address: str | None = Field(None, max_length=1000)
    identifiers: list[str] = Field(
        default_factory=list, max_length=20, description="Registration numbers, LEI, USCC ..."
    )
    schema_: Literal["Person", "Company", "Organization", "LegalEntity"] | None = Field(
        None, alias="schema", description="FtM schema of the party; Person drops titles."
    )
    queries: list[QueryBody] | None = Field(None, max_length=MAX_BATCH)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    limit: int = Field(10, ge=1, le=100)


class PartiesBody(BaseModel):
    """FollowTheMoney entities: parties, ``Ownership`` and ``Directorship``."""

    model_config = ConfigDict(extra="forbid")

    entities: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class TenancyBody(BaseModel):
    """One operator report: a tenant's chip-hours of one chip model over a period."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    operator_id: str = Field(min_length=1, max_length=300)
    tenant_id: str = Field(min_length=1, max_length=300)
    chip_model: str = Field(min_length=1, max_length=100)
    chip_hours: float = Field(ge=0)
    period_start_at: AwareDatetime
    period_end_at: AwareDatetime


class TenancyBatch(BaseModel):
    """Tenancy reports."""

    model_config = ConfigDict(extra="forbid")

    reports: list[TenancyBody] = Field(min_length=1, max_length=MAX_BATCH)


def _country(code: str | None) -> str | None:
    return parse_country(code) if code else None


def _stored_index(request: Request, db: Database) -> ScreeningIndex:
    """The stored lists' index, rebuilt only when a list load changed them."""
    key = tuple((i.list_id, i.sha256, i.loaded_at.isoformat()) for i in service.list_lists(db))
    cached = getattr(request.app.state, "parties_index", None)
    if cached is not None and cached[0] == key:
        index: ScreeningIndex = cached[1]
        return index
    index = service.build_stored_index(db)
    request.app.state.parties_index = (key, index)
    return index


@router.post("/screen", response_model=None)
def screen(body: ScreenBody, request: Request, db: DatabaseDep) -> dict[str, object]:
    """Screen one name or a batch against the stored lists; each match is explained."""
    if (body.name is None) == (body.queries is None):
        raise InvalidInput("give either name or queries", {"field": "name"})
    if body.queries is not None:
        queries = [
            ScreenQuery(
                q.query_id or str(i),
                q.name,
                _country(q.country),
                q.address,
                tuple(q.identifiers),
                q.schema_,
            )
            for i, q in enumerate(body.queries, start=1)
        ]
    else:
        queries = [
            ScreenQuery(
                "1",
                body.name or "",
                _country(body.country),
                body.address,
                tuple(body.identifiers),
                body.schema_,
            )
        ]
    results = service.screen_names(
        _stored_index(request, db), queries, threshold=body.threshold, limit=body.limit
    )
    return {"threshold": body.threshold, "results": service.to_wire(results)}


@router.post("/parties", response_model=None, status_code=201)
def add_parties(body: PartiesBody, db: DatabaseDep) -> object:
    """Add FtM entities (Company, Person, Organization, Ownership, Directorship ...)."""
    return service.to_wire(graph_service.add_parties(db, body.entities))


@router.get("/parties", response_model=None)
def list_parties(
    db: DatabaseDep,
    q: Annotated[str | None, Query(max_length=200, description="Words of a name or id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> object:
    """Stored parties by name with their status: restricted by listing or by ownership, and why."""
    return graph_service.list_parties(db, q=q, limit=limit, offset=offset)


@router.get("/parties/{party_id}", response_model=None)
def get_party(party_id: str, db: DatabaseDep) -> object:
    """A party with owners, subsidiaries, ultimate parents, restrictions and their paths."""
    return service.to_wire(graph_service.get_party(db, party_id))


@router.get("/parties/{party_id}/aggregate", response_model=None)
def aggregate_party(
    party_id: str,
    db: DatabaseDep,
    window_days: Annotated[float, Query(gt=0, le=3660)] = 30.0,
    lookback_days: Annotated[float, Query(gt=0, le=36600)] = 365.0,
    threshold_chips: Annotated[int, Query(ge=1)] = 2000,
) -> object:
    """Chips and cloud usage per ultimate parent and rolling window; split-order findings."""
    view = graph_service.aggregate_party(
        db,
        party_id,
        now=datetime.now(UTC),
        window=timedelta(days=window_days),
        lookback=timedelta(days=lookback_days),
        threshold_chips=threshold_chips,
        custody=custody_source(db),
    )
    return service.to_wire(view)


@router.post("/tenancy", response_model=None, status_code=201)
def report_tenancy(body: TenancyBatch, db: DatabaseDep) -> dict[str, int]:
    """Store cloud operators' tenancy reports (tenant, chip model, chip-hours, period)."""
    records = [
        TenancyRecord(
            r.operator_id,
            PartyId(r.tenant_id),
            r.chip_model,
            r.chip_hours,
            r.period_start_at,
            r.period_end_at,
        )
        for r in body.reports
    ]
    return {"stored": graph_service.report_tenancy(db, records, now=datetime.now(UTC))}


@router.get("/lists", response_model=None)
def list_lists(db: DatabaseDep) -> object:
    """The stored restricted-party lists."""
    return service.to_wire(service.list_lists(db))
