"""HTTP routes of location verification from RTTs: locate targets and plan landmarks.

Each route calls one function of ``chiptrail.service.location.geoloc``; bodies are validated here.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chiptrail.api.deps import SettingsDep
from chiptrail.geoloc import LocateOptions, RttModel
from chiptrail.service.location import geoloc as service

router = APIRouter(prefix="/v1", tags=["geoloc"])


class LandmarkIn(BaseModel):
    """A landmark: id and WGS84 position (optional ISO2 country and position uncertainty)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    landmark_id: str = Field(min_length=1, max_length=200)
    lat: float
    lon: float
    country: str | None = None
    uncertainty_km: float | None = Field(None, ge=0)


class MeasurementIn(BaseModel):
    """One RTT from a landmark to a target (the rtt.csv row)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    target_id: str = Field(min_length=1, max_length=200)
    landmark_id: str = Field(min_length=1, max_length=200)
    rtt_ms: float


class LocateBody(BaseModel):
    """Landmarks, target measurements and optional landmark-to-landmark calibration RTTs."""

    model_config = ConfigDict(extra="forbid")

    landmarks: list[LandmarkIn] = Field(min_length=1, max_length=10_000)
    measurements: list[MeasurementIn] = Field(max_length=1_000_000)
    calibration: list[MeasurementIn] | None = Field(
        None,
        description="Landmark-to-landmark RTTs (target_id = a landmark id).",
        max_length=1_000_000,
    )
    max_liars: int = Field(0, ge=0, le=100, description="Tolerated lying landmarks per target.")
    strict: bool = Field(False, description="Reject the whole request on any bad row.")


class PlaceIn(BaseModel):
    """A named place."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=200)
    lat: float
    lon: float


class PairIn(BaseModel):
    """Declared place ``a`` and diversion place ``b`` to tell apart."""

    model_config = ConfigDict(extra="forbid")

    a: PlaceIn
    b: PlaceIn


class PlanBody(BaseModel):
    """Deployed landmarks, candidate sites and the place pairs to separate."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    deployed: list[LandmarkIn] = Field(max_length=10_000)
    candidates: list[LandmarkIn] = Field(max_length=10_000)
    pairs: list[PairIn] = Field(min_length=1, max_length=10_000)
    overhead_ms: float = Field(0.2, ge=0, le=1000, description="Best-case fixed RTT overhead.")


def _rows(items: list[LandmarkIn] | list[MeasurementIn]) -> list[dict[str, object]]:
    return [i.model_dump(exclude_none=True) for i in items]


@router.post("/geoloc/locate", response_model=None)
def locate(body: LocateBody, settings: SettingsDep) -> dict[str, object]:
    """Locate every target: point estimate, proven and likely countries, per-row errors."""
    return service.locate_rows(
        _rows(body.landmarks),
        _rows(body.measurements),
        None if body.calibration is None else _rows(body.calibration),
        settings=settings,
        options=LocateOptions(max_liars=body.max_liars),
        strict=body.strict,
    )


@router.post("/geoloc/plan", response_model=None)
def plan(body: PlanBody) -> dict[str, object]:
    """Which place pairs the landmarks separate, and the fewest candidates to add."""
    pairs: list[dict[str, object]] = [
        {
            "a_name": p.a.name,
            "a_lat": p.a.lat,
            "a_lon": p.a.lon,
            "b_name": p.b.name,
            "b_lat": p.b.lat,
            "b_lon": p.b.lon,
        }
        for p in body.pairs
    ]
    return service.plan_rows(
        _rows(body.deployed), _rows(body.candidates), pairs, RttModel(overhead_ms=body.overhead_ms)
    )
