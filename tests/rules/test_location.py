"""Location rules on hand-built fixes: violation, suspect streaks, gone dark, impossible travel."""

from __future__ import annotations

import pytest

from chiptrail.rules.finding import EvidenceKind, SubjectKind
from chiptrail.types import Severity, Verdict
from tests.rules._world import ev, fix, run, view

INSTALLED = [
    ev(1, "shipping", 60, ["c1"], "vendor", "US", destination_country="US"),
    ev(2, "receiving", 55, ["c1"], "op-us", "US", site_id="site-sj"),
    ev(3, "installing", 54, ["c1"], "op-us", "US", site_id="site-sj"),
]


def test_violation_fires_with_measurement_evidence() -> None:
    fixes = (fix("c1", 9, Verdict.VERIFIED), fix("c1", 3, Verdict.VIOLATION, 31.2, 121.5))
    [found] = run("location-violation", view(fixes=fixes))
    assert found.subject == "c1"
    assert found.subject_kind is SubjectKind.CHIP
    assert found.severity is Severity.CRITICAL
    assert found.evidence[0].kind is EvidenceKind.MEASUREMENT
    assert found.evidence[0].ref == "fix:c1-3"
    assert found.detected_at == fixes[1].at


@pytest.mark.parametrize("verdict", [Verdict.VERIFIED, Verdict.SUSPECT, Verdict.UNVERIFIED])
def test_violation_does_not_fire_without_a_violation(verdict: Verdict) -> None:
    assert run("location-violation", view(fixes=(fix("c1", 3, verdict),))) == []


def test_suspect_streak_fires_only_when_unbroken() -> None:
    streak = tuple(fix("c1", d, Verdict.SUSPECT) for d in (6, 4, 2))
    assert [f.subject for f in run("location-suspect", view(fixes=streak))] == ["c1"]
    broken = (*streak[:2], fix("c1", 1, Verdict.VERIFIED))
    assert run("location-suspect", view(fixes=broken)) == []


@pytest.mark.parametrize(
    ("events", "fixes", "fires"),
    [
        (INSTALLED, [fix("c1", 20, Verdict.VERIFIED)], True),
        (INSTALLED, [fix("c1", 20, Verdict.VERIFIED), fix("c1", 2, Verdict.UNVERIFIED)], True),
        (INSTALLED, [], True),
        (INSTALLED, [fix("c1", 3, Verdict.VERIFIED)], False),
        (
            [*INSTALLED[:2], ev(3, "installing", 5, ["c1"], "op-us", "US", site_id="site-sj")],
            [],
            False,
        ),
        (INSTALLED[:1], [], False),
    ],
    ids=[
        "verified 20 days ago, deadline 14",
        "only unverified fixes since",
        "installed 54 days ago, never verified",
        "verified 3 days ago",
        "installed 5 days ago",
        "still in transit: not expected to attest",
    ],
)
def test_gone_dark(events: list[object], fixes: list[object], fires: bool) -> None:
    found = run("chip-gone-dark", view(events=tuple(events), fixes=tuple(fixes)))
    assert bool(found) is fires
    if fires:
        assert found[0].evidence[0].leaf_index == events[-1].leaf_index  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("hours", "fires"), [(2.0, True), (20.0, False)], ids=["SJ to Shanghai in 2 h", "in 20 h"]
)
def test_impossible_travel(hours: float, fires: bool) -> None:
    a = fix("c1", 5, Verdict.VERIFIED, radius_km=100)
    b = fix("c1", 5 - hours / 24, Verdict.VIOLATION, 31.23, 121.47, radius_km=300)
    found = run("impossible-travel", view(fixes=(a, b)))
    assert bool(found) is fires
    if fires:
        assert "km/h" in found[0].explanation
        assert len(found[0].evidence) == 2


def test_impossible_travel_ignores_unverified_fixes() -> None:
    a = fix("c1", 5, Verdict.VERIFIED, radius_km=100)
    b = fix("c1", 4.99, Verdict.UNVERIFIED, 31.23, 121.47, radius_km=300)
    assert run("impossible-travel", view(fixes=(a, b))) == []
