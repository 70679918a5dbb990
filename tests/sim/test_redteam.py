"""The red team's search space: knob levels, evasions built from them, escaping values."""

from __future__ import annotations

from chiptrail.sim.evasive import Evasion
from chiptrail.sim.redteam import LEVELS, SEARCH, KnobResult, evasion_at


def test_every_knob_has_one_value_per_level_least_aggressive_first() -> None:
    for knob in SEARCH:
        assert len(knob.values) == LEVELS
        assert list(knob.values) == sorted(knob.values)
        assert hasattr(Evasion(), knob.field)


def test_evasion_at_sets_every_knob_and_goes_dark_instead_of_relaying() -> None:
    ev = evasion_at(0)
    assert ev.hand_carry_relay is False
    assert all(getattr(ev, k.field) == k.values[0] for k in SEARCH)
    assert evasion_at(LEVELS - 1).listed_stake == SEARCH[-1].values[-1] == 0.3


def test_cheapest_escape_is_the_most_aggressive_value_that_escapes() -> None:
    knob = next(k for k in SEARCH if k.channel == "front_network")
    result = KnobResult(knob, (0.0, 0.0, 0.4, 1.0, 1.0, 1.0))  # 5, 10, 15, 18, 20, 30 %
    assert result.escaping == 0.15
    assert result.caught_from == 0.18
    doc = result.to_dict()
    assert "15%" in str(doc["escape_cost"])
    assert KnobResult(knob, (1.0,) * LEVELS).to_dict()["cheapest_escape"] is None
