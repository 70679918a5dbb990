"""HTTP routes of the hardware capability."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["hardware"])
