"""HTTP routes of the hardware capability: catalogue, classification and licence checks.

Each route calls one function of ``chiptrail.service.hardware``; bodies are validated here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from chiptrail.errors import InvalidInput
from chiptrail.service import hardware as service

router = APIRouter(prefix="/v1", tags=["hardware"])


class ClassifyBody(BaseModel):
    """Custom figures to classify: a chip (``tpp`` [+ ``die_area_mm2``]) or an HBM stack."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tpp: float | None = Field(None, ge=0, description="Total processing performance.")
    die_area_mm2: float | None = Field(None, gt=0, description="Applicable die area, mm².")
    designed_for_datacenter: bool = True
    quantity: int = Field(1, ge=1, description="Accelerators in the system (4A090).")
    memory_bandwidth_density_gbps_per_mm2: float | None = Field(
        None, ge=0, description="Classify an HBM stack against 3A090.c instead."
    )


class LicenseCheckBody(BaseModel):
    """An order: catalogue model, quantity, destination and optionally the end user."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, description="Catalogue model, e.g. 'H100'.")
    quantity: int = Field(ge=1)
    destination: str = Field(description="ISO 3166-1 alpha-2 code.")
    end_user: str | None = None
    end_user_headquarters: str | None = Field(
        None, description="ISO2 country of the end user's ultimate parent headquarters."
    )
    end_user_listed: bool | None = Field(
        None, description="Your own screening verdict; true forces the Entity List rule."
    )
    restricted_parties: list[str] | None = Field(
        None, description="Restricted names to check end_user against (default: example set)."
    )


@router.get("/hardware", response_model=None)
def list_hardware() -> list[object]:
    """Every built-in accelerator with TPP, PD, ECCN and H100-equivalents."""
    rows = service.to_wire(service.list_hardware())
    assert isinstance(rows, list)  # noqa: S101 - to_wire keeps a list a list
    return rows


@router.get("/hardware/{model}", response_model=None)
def get_hardware(model: str, quantity: Annotated[int, Query(ge=1)] = 1) -> dict[str, object]:
    """One accelerator: sourced figures, 3A090 class and, for ``quantity``, the 4A090 class."""
    return service.describe_hardware(model, quantity)


@router.post("/hardware/classify", response_model=None)
def classify_hardware(body: ClassifyBody) -> dict[str, object]:
    """Classify custom figures (TPP, die area) or an HBM stack's bandwidth density."""
    density = body.memory_bandwidth_density_gbps_per_mm2
    if density is not None:
        if body.tpp is not None or body.die_area_mm2 is not None:
            raise InvalidInput(
                "memory_bandwidth_density_gbps_per_mm2: give it alone, without tpp/die_area_mm2",
                {"field": "memory_bandwidth_density_gbps_per_mm2"},
            )
        return service.classify_memory(density)
    return service.classify_figures(
        body.tpp,
        body.die_area_mm2,
        designed_for_datacenter=body.designed_for_datacenter,
        quantity=body.quantity,
    )


@router.post("/license-check", response_model=None)
def license_check(body: LicenseCheckBody) -> dict[str, object]:
    """Licence answer for an order, with the deciding rule, paragraphs and ``rules_as_of``."""
    answer = service.check_order(
        body.item,
        body.quantity,
        body.destination,
        end_user=body.end_user,
        end_user_headquarters=body.end_user_headquarters,
        end_user_listed=body.end_user_listed,
        restricted_parties=body.restricted_parties,
    )
    wire = service.to_wire(answer)
    assert isinstance(wire, dict)  # noqa: S101 - a dataclass becomes a dict
    return wire
