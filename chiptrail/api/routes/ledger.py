"""HTTP routes of the ledger capability."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["ledger"])
