"""Diversion rules: one module per smuggling channel, each returning findings with evidence.

Pure: rules read a ``WorldView`` and return ``Finding`` values; the service layer stores them.
"""

from __future__ import annotations

from chiptrail.rules.engine import Case, group_cases, run_rules
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.registry import CHANNELS, RULES, Rule, get_rule
from chiptrail.rules.view import RuleConfig, WorldView

__all__ = [
    "CHANNELS",
    "RULES",
    "Case",
    "Evidence",
    "EvidenceKind",
    "Finding",
    "Rule",
    "RuleConfig",
    "SubjectKind",
    "WorldView",
    "get_rule",
    "group_cases",
    "run_rules",
]
