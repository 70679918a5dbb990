"""Running the rules: findings deduplicated and sorted; ``rules.cases`` groups them into cases.

No I/O: takes a ``WorldView``, returns values; the service layer stores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from chiptrail.rules.cases import Case, group_cases
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Finding
from chiptrail.rules.registry import RULES, Rule
from chiptrail.rules.view import WorldView

__all__ = ["Case", "dedupe_findings", "group_cases", "run_rules"]


def dedupe_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings with the same id: highest severity, earliest detection, evidence united."""
    merged: dict[str, Finding] = {}
    for f in findings:
        old = merged.get(f.finding_id)
        if old is None:
            merged[f.finding_id] = f
            continue
        evidence = old.evidence + tuple(e for e in f.evidence if e not in old.evidence)
        worst = f if f.severity.rank > old.severity.rank else old
        merged[f.finding_id] = replace(
            worst, evidence=evidence, detected_at=min(old.detected_at, f.detected_at)
        )
    return list(merged.values())


def run_rules(view: WorldView, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Run ``rules`` over ``view``; findings deduplicated and sorted by severity, rule, subject."""
    ctx = RuleContext(view)
    found: list[Finding] = []
    for rule in rules:
        found.extend(rule.fn(ctx))
    out = dedupe_findings(found)
    out.sort(key=lambda f: (-f.severity.rank, f.rule, f.subject))
    return out
