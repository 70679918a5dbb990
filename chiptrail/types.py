"""Shared value types: identifiers, countries, verdicts and severities.

No behaviour beyond validation of the values themselves.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

ChipId = NewType("ChipId", str)
PartyId = NewType("PartyId", str)
LandmarkId = NewType("LandmarkId", str)
Country = NewType("Country", str)
"""Upper-case ISO 3166-1 alpha-2 code."""


class Verdict(StrEnum):
    """Location verdict of a chip against its declared site (DESIGN.md, location verification)."""

    VIOLATION = "VIOLATION"
    SUSPECT = "SUSPECT"
    VERIFIED = "VERIFIED"
    UNVERIFIED = "UNVERIFIED"


class Severity(StrEnum):
    """Severity of a finding, lowest first."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for INFO up to 4 for CRITICAL, for sorting."""
        return list(Severity).index(self)
