"""HTTP routes of the parties capability."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["parties"])
