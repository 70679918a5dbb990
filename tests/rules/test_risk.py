"""Graded evidence: combining signals per subject, the alert threshold from a false-alarm budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput
from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.risk import (
    THRESHOLD_FLOOR_NATS,
    Signal,
    combine_signals,
    combined_risk,
    risk_findings,
    threshold_for_budget,
)
from tests.rules._world import NOW

SIGNAL_IDS = ("rtt-jump", "missed-rounds", "listed-stake")


def _signal(sid: str, llr: float, day: float = 0.0, subject: str = "chip-1") -> Signal:
    return Signal(
        sid, "hand_carry", subject, SubjectKind.CHIP, llr, NOW + timedelta(days=day), "why"
    )


signals = st.lists(
    st.builds(
        _signal,
        st.sampled_from(SIGNAL_IDS),
        st.floats(0, 30, allow_nan=False),
        st.floats(0, 30, allow_nan=False),
    ),
    max_size=8,
)


@given(signals, signals)
def test_adding_evidence_never_lowers_risk(base: list[Signal], extra: list[Signal]) -> None:
    assert combined_risk(base + extra) >= combined_risk(base) - 1e-9


@given(signals, signals, st.floats(0.5, 40))
def test_adding_evidence_never_delays_the_alert(
    base: list[Signal], extra: list[Signal], threshold: float
) -> None:
    before = combine_signals(base)
    after = combine_signals(base + extra)
    if before and before[0].crossed_at(threshold) is not None:
        crossed = after[0].crossed_at(threshold)
        assert crossed is not None
        assert crossed <= before[0].crossed_at(threshold)  # type: ignore[operator]


def test_same_kind_counts_once_different_kinds_add() -> None:
    risk = combined_risk(
        [_signal("rtt-jump", 3), _signal("rtt-jump", 5), _signal("missed-rounds", 2)]
    )
    assert risk == pytest.approx(7.0)


def test_crossing_time_replays_signals_in_time_order() -> None:
    (r,) = combine_signals([_signal("rtt-jump", 4, day=1), _signal("missed-rounds", 4, day=3)])
    assert r.crossed_at(7.0) == NOW + timedelta(days=3)
    assert r.crossed_at(3.0) == NOW + timedelta(days=1)
    assert r.crossed_at(9.0) is None


@pytest.mark.parametrize("llr", [-0.1, float("nan"), float("inf")], ids=["negative", "nan", "inf"])
def test_signal_refuses_bad_weights(llr: float) -> None:
    with pytest.raises(InvalidInput):
        _signal("rtt-jump", llr)


def test_threshold_from_budget_flags_at_most_the_budget() -> None:
    legit = [0.0] * 990 + [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
    t = threshold_for_budget(legit, budget=0.005)  # 5 of 1,000 may alert
    assert sum(r >= t for r in legit) <= 5
    assert sum(r >= t for r in legit) == 5
    assert threshold_for_budget([0.0] * 100, budget=0.01) == THRESHOLD_FLOOR_NATS


@pytest.mark.parametrize("budget", [0.0, 1.0, -0.5])
def test_threshold_refuses_bad_budget(budget: float) -> None:
    with pytest.raises(InvalidInput):
        threshold_for_budget([1.0], budget)


def test_findings_list_each_signal_with_its_weight() -> None:
    from chiptrail.rules.finding import Evidence, EvidenceKind

    ev = (Evidence(EvidenceKind.MEASUREMENT, "fix:F-1", "relayed round"),)
    s = Signal("rtt-jump", "hand_carry", "chip-1", SubjectKind.CHIP, 12.0, NOW, "rose", ev)
    (f,) = risk_findings(combine_signals([s]), "location-risk", "hand_carry", 6.9)
    assert f.evidence[0].ref == "fix:F-1"
    assert "[rtt-jump 12.0 nats]" in f.evidence[0].detail
    assert risk_findings(combine_signals([s]), "control-risk", "front_network", 6.9) == []
    assert risk_findings(combine_signals([s]), "location-risk", "hand_carry", 13.0) == []
