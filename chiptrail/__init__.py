"""chiptrail: traceability for export-controlled AI accelerators.

The public Python API is re-exported here; ``__all__`` is checked by a test.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "ChipId",
    "ChiptrailError",
    "Conflict",
    "Country",
    "InvalidInput",
    "LandmarkId",
    "NotFound",
    "PartyId",
    "PermissionDenied",
    "Severity",
    "Unavailable",
    "Verdict",
    "VerificationError",
    "__version__",
]
