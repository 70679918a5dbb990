"""Running all rules: deduplication, cases per subject, ranking, and the export formats."""

from __future__ import annotations

import csv
import io
import json

from chiptrail.rules import Evidence, EvidenceKind, Finding, SubjectKind, group_cases, run_rules
from chiptrail.rules.engine import dedupe_findings
from chiptrail.rules.export import to_csv, to_jsonl
from chiptrail.types import Severity, Verdict
from tests.rules._world import NOW, ago, ev, fix, view


def finding(rule: str, subject: str, sev: Severity, ref: str) -> Finding:
    return Finding(
        rule,
        "hand_carry",
        sev,
        subject,
        SubjectKind.CHIP,
        NOW,
        "why",
        (Evidence(EvidenceKind.LEDGER, ref, "detail"),),
    )


def test_dedupe_merges_evidence_and_keeps_worst_severity() -> None:
    a = finding("location-violation", "c1", Severity.HIGH, "leaf:1")
    b = finding("location-violation", "c1", Severity.CRITICAL, "leaf:2")
    [merged] = dedupe_findings([a, b])
    assert merged.severity is Severity.CRITICAL
    assert [e.ref for e in merged.evidence] == ["leaf:1", "leaf:2"]


def test_cases_group_per_subject_and_rank_critical_first() -> None:
    found = [
        finding("chip-gone-dark", "c2", Severity.HIGH, "leaf:3"),
        finding("chip-gone-dark", "c1", Severity.HIGH, "leaf:1"),
        finding("location-violation", "c1", Severity.CRITICAL, "leaf:2"),
    ]
    cases = group_cases(found)
    assert [c.subject for c in cases] == ["c1", "c2"]
    assert cases[0].rules == ("chip-gone-dark", "location-violation")
    assert cases[0].case_id != cases[1].case_id


def test_run_rules_on_a_clean_world_finds_nothing() -> None:
    events = (
        ev(1, "shipping", 60, ["c1"], "vendor", "US", destination_country="US"),
        ev(2, "receiving", 55, ["c1"], "op-us", "US", site_id="site-sj"),
        ev(3, "installing", 54, ["c1"], "op-us", "US", site_id="site-sj"),
    )
    fixes = (fix("c1", 5, Verdict.VERIFIED), fix("c1", 1, Verdict.VERIFIED))
    assert run_rules(view(events=events, fixes=fixes)) == []


def test_run_rules_finds_and_sorts() -> None:
    events = (ev(1, "shipping", 60, ["c1"], "vendor", "US", destination_country="US"),)
    fixes = (fix("c2", 1, Verdict.VIOLATION, 31.2, 121.5),)
    found = run_rules(view(events=events, fixes=fixes))
    assert [f.rule for f in found] == ["location-violation", "shipped-never-received"]
    assert found[0].detected_at == ago(1)


def test_exports_carry_rule_severity_subject_evidence() -> None:
    found = [finding("location-violation", "c1", Severity.CRITICAL, "leaf:7")]
    line = json.loads(to_jsonl(found))
    assert {"rule", "severity", "subject", "evidence"} <= set(line)
    assert line["evidence"][0]["ref"] == "leaf:7"
    rows = list(csv.DictReader(io.StringIO(to_csv(found))))
    assert rows[0]["rule"] == "location-violation"
    assert rows[0]["evidence"] == "leaf:7"
