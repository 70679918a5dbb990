"""HTTP routes of the records capability: ingest and list trade records.

Each route calls one function of ``chiptrail.service.records.ingest``. Party-bound keys (vendor,
operator) write and read only records that name their party; analysts and admins see all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from chiptrail.api.auth import CallerDep
from chiptrail.api.deps import DatabaseDep
from chiptrail.errors import PermissionDenied
from chiptrail.records import parse_kind
from chiptrail.records.formats import MAX_RECORDS
from chiptrail.service.auth import Caller
from chiptrail.service.records import ingest as service

router = APIRouter(prefix="/v1", tags=["records"])


class RecordsBody(BaseModel):
    """Records of one kind as JSON objects (fields: ``chiptrail records formats``)."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS)


def _scope(caller: Caller) -> str | None:
    if caller.sees_all_parties:
        return None
    if caller.party_id is None:
        raise PermissionDenied(
            "this key acts for no party; records need a party-bound key or an analyst key",
            {"role": caller.role.value},
        )
    return caller.party_id


@router.post("/records/{kind}")
def add_records(kind: str, body: RecordsBody, db: DatabaseDep, caller: CallerDep) -> dict[str, Any]:
    """Validate and store records of ``kind`` (order, licence, declaration, end-use-certificate,
    site, payment, address) in one transaction; a bad row stores nothing and is named with its
    field."""
    result = service.add_records(
        db, parse_kind(kind), body.records, now=datetime.now(UTC), party=_scope(caller)
    )
    return result.to_dict()


@router.get("/records")
def list_records(
    db: DatabaseDep,
    caller: CallerDep,
    kind: Annotated[str | None, Query(description="Only this record kind.")] = None,
    party_id: Annotated[str | None, Query(description="Only records naming this party.")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Records to skip.")] = 0,
) -> dict[str, Any]:
    """Stored records, oldest first; a party-bound key sees only records naming its party."""
    page = service.list_records(
        db,
        kind=parse_kind(kind) if kind else None,
        party=party_id,
        scope=_scope(caller),
        limit=limit,
        offset=offset,
    )
    return {"items": page.items, "total": page.total, "limit": limit, "offset": offset}
