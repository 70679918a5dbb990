"""Findings: what a rule reports (rule id, severity, subject, evidence, explanation).

No I/O; rendering to JSON lines/CSV lives in ``rules/export.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chiptrail.crypto import sha256
from chiptrail.types import Severity


class SubjectKind(StrEnum):
    """What a finding is about."""

    CHIP = "chip"
    PARTY = "party"
    COUNTRY = "country"
    SITE = "site"


class EvidenceKind(StrEnum):
    """Where a piece of evidence comes from."""

    LEDGER = "ledger"
    MEASUREMENT = "measurement"
    PARTY_EDGE = "party_edge"
    SCREENING = "screening"
    ORDER = "order"
    USAGE = "usage"
    AGGREGATE = "aggregate"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One supporting fact. ``ref`` names its source (``leaf:42``, ``fix:...``, ``edge:a->b``)."""

    kind: EvidenceKind
    ref: str
    detail: str
    leaf_index: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict."""
        return {
            "kind": self.kind.value,
            "ref": self.ref,
            "detail": self.detail,
            "leaf_index": self.leaf_index,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's conclusion about one subject, with the evidence that supports it.

    ``detected_at`` is when the evidence became conclusive (for time-to-detection).
    """

    rule: str
    channel: str
    severity: Severity
    subject: str
    subject_kind: SubjectKind
    detected_at: datetime
    explanation: str
    evidence: tuple[Evidence, ...]

    @property
    def finding_id(self) -> str:
        """Stable id: the same rule about the same subject is the same finding."""
        return finding_id_for(self.rule, self.subject_kind, self.subject)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict (the interchange form of an alert)."""
        return {
            "id": self.finding_id,
            "rule": self.rule,
            "channel": self.channel,
            "severity": self.severity.value,
            "subject": self.subject,
            "subject_kind": self.subject_kind.value,
            "detected_at": self.detected_at.isoformat(),
            "explanation": self.explanation,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def finding_id_for(rule: str, kind: SubjectKind, subject: str) -> str:
    """The stable id of the finding of ``rule`` about ``subject`` (24 hex digits)."""
    return sha256(f"{rule}\x00{kind.value}\x00{subject}".encode()).hex()[:24]


def case_id_for(kind: SubjectKind, subject: str) -> str:
    """The stable id of the case that groups every finding about ``subject``."""
    return sha256(f"case\x00{kind.value}\x00{subject}".encode()).hex()[:24]
