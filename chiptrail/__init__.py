"""chiptrail: traceability for export-controlled AI accelerators.

The public Python API. Names load lazily (``import chiptrail`` stays fast and pulls in no database,
HTTP or Spark code until a name is used); ``__all__`` is checked by a test.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from chiptrail.errors import (
    ChiptrailError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
    VerificationError,
)
from chiptrail.types import ChipId, Country, LandmarkId, PartyId, Severity, Verdict

if TYPE_CHECKING:
    from chiptrail.api.app import create_app
    from chiptrail.api.auth import AuthConfig
    from chiptrail.geoloc.borders import country_at
    from chiptrail.geoloc.bounds import proven_radius_km
    from chiptrail.geoloc.landmarks import Landmark, LandmarkSet
    from chiptrail.geoloc.region import LocateResult, locate_targets
    from chiptrail.geoloc.sphere import great_circle_km
    from chiptrail.geoloc.verdict import DeclaredSite, LocationVerdict, judge_location
    from chiptrail.hardware.catalogue import Accelerator, get_model, list_models
    from chiptrail.hardware.classify import (
        Classification,
        Eccn,
        classify_item,
        classify_system,
        h100_equivalents,
    )
    from chiptrail.hardware.license import LicenseAnswer, LicenseDecision, check_license
    from chiptrail.hardware.tpp import compute_tpp
    from chiptrail.ledger.audit import AuditReport, verify_export
    from chiptrail.ledger.checkpoint import Checkpoint, make_verifier_key, verify_checkpoint
    from chiptrail.ledger.custody import AssetState, CustodyAnomaly
    from chiptrail.ledger.epcis import parse_epcis
    from chiptrail.ledger.event_hash import event_hash
    from chiptrail.ledger.proof import verify_consistency, verify_inclusion
    from chiptrail.ledger.submission import Envelope, sign_events, sign_submission, verify_envelope
    from chiptrail.parties.aggregate import aggregate_volumes, find_structuring
    from chiptrail.parties.graph import OwnershipGraph, find_restrictions, find_ultimate_parents
    from chiptrail.parties.model import Party
    from chiptrail.parties.normalise import normalise_name
    from chiptrail.parties.screening import build_index, screen_queries, screen_query
    from chiptrail.probe.attestation import DeviceKey
    from chiptrail.probe.messages import MeasurementRecord, verify_measurement
    from chiptrail.rules.engine import group_cases, run_rules
    from chiptrail.rules.finding import Finding
    from chiptrail.rules.registry import RULES
    from chiptrail.rules.view import RuleConfig, WorldView
    from chiptrail.sim.scenarios import build_world

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "create_app": "chiptrail.api.app",
    "AuthConfig": "chiptrail.api.auth",
    "Accelerator": "chiptrail.hardware.catalogue",
    "get_model": "chiptrail.hardware.catalogue",
    "list_models": "chiptrail.hardware.catalogue",
    "Classification": "chiptrail.hardware.classify",
    "Eccn": "chiptrail.hardware.classify",
    "classify_item": "chiptrail.hardware.classify",
    "classify_system": "chiptrail.hardware.classify",
    "h100_equivalents": "chiptrail.hardware.classify",
    "LicenseAnswer": "chiptrail.hardware.license",
    "LicenseDecision": "chiptrail.hardware.license",
    "check_license": "chiptrail.hardware.license",
    "compute_tpp": "chiptrail.hardware.tpp",
    "AuditReport": "chiptrail.ledger.audit",
    "verify_export": "chiptrail.ledger.audit",
    "Checkpoint": "chiptrail.ledger.checkpoint",
    "make_verifier_key": "chiptrail.ledger.checkpoint",
    "verify_checkpoint": "chiptrail.ledger.checkpoint",
    "AssetState": "chiptrail.ledger.custody",
    "CustodyAnomaly": "chiptrail.ledger.custody",
    "parse_epcis": "chiptrail.ledger.epcis",
    "event_hash": "chiptrail.ledger.event_hash",
    "verify_consistency": "chiptrail.ledger.proof",
    "verify_inclusion": "chiptrail.ledger.proof",
    "Envelope": "chiptrail.ledger.submission",
    "sign_events": "chiptrail.ledger.submission",
    "sign_submission": "chiptrail.ledger.submission",
    "verify_envelope": "chiptrail.ledger.submission",
    "country_at": "chiptrail.geoloc.borders",
    "proven_radius_km": "chiptrail.geoloc.bounds",
    "Landmark": "chiptrail.geoloc.landmarks",
    "LandmarkSet": "chiptrail.geoloc.landmarks",
    "LocateResult": "chiptrail.geoloc.region",
    "locate_targets": "chiptrail.geoloc.region",
    "great_circle_km": "chiptrail.geoloc.sphere",
    "DeclaredSite": "chiptrail.geoloc.verdict",
    "LocationVerdict": "chiptrail.geoloc.verdict",
    "judge_location": "chiptrail.geoloc.verdict",
    "OwnershipGraph": "chiptrail.parties.graph",
    "find_restrictions": "chiptrail.parties.graph",
    "find_ultimate_parents": "chiptrail.parties.graph",
    "aggregate_volumes": "chiptrail.parties.aggregate",
    "find_structuring": "chiptrail.parties.aggregate",
    "Party": "chiptrail.parties.model",
    "normalise_name": "chiptrail.parties.normalise",
    "build_index": "chiptrail.parties.screening",
    "screen_queries": "chiptrail.parties.screening",
    "screen_query": "chiptrail.parties.screening",
    "DeviceKey": "chiptrail.probe.attestation",
    "MeasurementRecord": "chiptrail.probe.messages",
    "verify_measurement": "chiptrail.probe.messages",
    "group_cases": "chiptrail.rules.engine",
    "run_rules": "chiptrail.rules.engine",
    "Finding": "chiptrail.rules.finding",
    "RULES": "chiptrail.rules.registry",
    "RuleConfig": "chiptrail.rules.view",
    "WorldView": "chiptrail.rules.view",
    "build_world": "chiptrail.sim.scenarios",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chiptrail' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RULES",
    "Accelerator",
    "AssetState",
    "AuditReport",
    "AuthConfig",
    "Checkpoint",
    "ChipId",
    "ChiptrailError",
    "Classification",
    "Conflict",
    "Country",
    "CustodyAnomaly",
    "DeclaredSite",
    "DeviceKey",
    "Eccn",
    "Envelope",
    "Finding",
    "InvalidInput",
    "Landmark",
    "LandmarkId",
    "LandmarkSet",
    "LicenseAnswer",
    "LicenseDecision",
    "LocateResult",
    "LocationVerdict",
    "MeasurementRecord",
    "NotFound",
    "OwnershipGraph",
    "Party",
    "PartyId",
    "PermissionDenied",
    "RuleConfig",
    "Severity",
    "Unavailable",
    "Verdict",
    "VerificationError",
    "WorldView",
    "__version__",
    "aggregate_volumes",
    "build_index",
    "build_world",
    "check_license",
    "classify_item",
    "classify_system",
    "compute_tpp",
    "country_at",
    "create_app",
    "event_hash",
    "find_restrictions",
    "find_structuring",
    "find_ultimate_parents",
    "get_model",
    "great_circle_km",
    "group_cases",
    "h100_equivalents",
    "judge_location",
    "list_models",
    "locate_targets",
    "make_verifier_key",
    "normalise_name",
    "parse_epcis",
    "proven_radius_km",
    "run_rules",
    "screen_queries",
    "screen_query",
    "sign_events",
    "sign_submission",
    "verify_checkpoint",
    "verify_consistency",
    "verify_envelope",
    "verify_export",
    "verify_inclusion",
    "verify_measurement",
]
