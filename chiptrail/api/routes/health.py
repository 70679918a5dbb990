"""``GET /healthz``: liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from chiptrail import __version__
from chiptrail.api.deps import DatabaseDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(db: DatabaseDep) -> dict[str, str]:
    """Liveness: answers ok when the database answers."""
    with db.unit() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}
