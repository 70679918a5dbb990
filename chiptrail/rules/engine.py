"""Running the rules: findings deduplicated, grouped into cases per subject, and ranked.

No I/O: takes a ``WorldView``, returns values; the service layer stores them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Finding, SubjectKind, case_id_for
from chiptrail.rules.registry import RULES, Rule
from chiptrail.rules.view import WorldView
from chiptrail.types import Severity

_WEIGHT = {Severity.INFO: 0.1, Severity.LOW: 1, Severity.MEDIUM: 3, Severity.HIGH: 9}
_CRITICAL_WEIGHT = 27.0


@dataclass(frozen=True, slots=True)
class Case:
    """Every finding about one subject, with the case's rank score (higher is more urgent)."""

    case_id: str
    subject: str
    subject_kind: SubjectKind
    severity: Severity
    score: float
    findings: tuple[Finding, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        """The distinct rule ids in this case."""
        return tuple(sorted({f.rule for f in self.findings}))


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


def _score(findings: Sequence[Finding]) -> float:
    return sum(
        _CRITICAL_WEIGHT if f.severity is Severity.CRITICAL else _WEIGHT[f.severity]
        for f in findings
    )


def group_cases(findings: Iterable[Finding]) -> list[Case]:
    """One case per subject, ranked by worst severity, then score, then subject."""
    by_subject: dict[tuple[SubjectKind, str], list[Finding]] = defaultdict(list)
    for f in findings:
        by_subject[(f.subject_kind, f.subject)].append(f)
    cases = []
    for (kind, subject), items in by_subject.items():
        items.sort(key=lambda f: (-f.severity.rank, f.rule))
        cases.append(
            Case(
                case_id=case_id_for(kind, subject),
                subject=subject,
                subject_kind=kind,
                severity=items[0].severity,
                score=_score(items),
                findings=tuple(items),
            )
        )
    cases.sort(key=lambda c: (-c.severity.rank, -c.score, c.subject))
    return cases


def run_rules(view: WorldView, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Run ``rules`` over ``view``; findings deduplicated and sorted by severity, rule, subject."""
    ctx = RuleContext(view)
    found: list[Finding] = []
    for rule in rules:
        found.extend(rule.fn(ctx))
    out = dedupe_findings(found)
    out.sort(key=lambda f: (-f.severity.rank, f.rule, f.subject))
    return out
