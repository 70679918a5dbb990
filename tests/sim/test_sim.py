"""The simulator: seeded determinism, ground truth for every channel, honest latency, scale."""

from __future__ import annotations

import numpy as np
import pytest

from chiptrail.errors import InvalidInput
from chiptrail.rules.registry import CHANNELS
from chiptrail.sim.latency import C_KM_PER_MS, FIBRE_KM_PER_MS, simulate_rtt_ms
from chiptrail.sim.probing import judge_rounds_simple
from chiptrail.sim.scenarios import build_world
from chiptrail.types import Verdict


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return build_world(400, seed=11)


def test_same_seed_same_world_other_seed_other_world(world) -> None:  # type: ignore[no-untyped-def]
    again = build_world(400, seed=11)
    assert again.chip_ids == world.chip_ids
    assert again.events == world.events
    assert np.array_equal(again.rounds.rtt_ms, world.rounds.rtt_ms)
    other = build_world(400, seed=12)
    assert not np.array_equal(other.rounds.rtt_ms[:50], world.rounds.rtt_ms[:50])


def test_every_channel_is_injected_with_ground_truth(world) -> None:  # type: ignore[no-untyped-def]
    assert {i.channel for i in world.incidents} == set(CHANNELS)
    for inc in world.incidents:
        assert inc.subjects, inc.incident_id
        assert inc.started_at <= world.now
    legit = set(world.legit_chips())
    assert legit.isdisjoint(world.incident_chips())
    assert len(legit) + len(world.incident_chips()) == len(world.chip_ids)


def test_events_are_in_log_order(world) -> None:  # type: ignore[no-untyped-def]
    assert [e.leaf_index for e in world.events] == list(range(len(world.events)))
    assert all(a.at <= b.at for a, b in zip(world.events, world.events[1:], strict=False))
    assert all(e.at <= world.now for e in world.events)


def test_rtt_never_beats_fibre() -> None:
    rng = np.random.default_rng(1)
    d = rng.uniform(0, 15000, 10000)
    rtt = simulate_rtt_ms(d, rng)
    assert (rtt >= 2 * d / FIBRE_KM_PER_MS).all()
    assert (rtt * C_KM_PER_MS / 2 >= d).all()


def test_honest_chips_never_violate(world) -> None:  # type: ignore[no-untyped-def]
    fixes = judge_rounds_simple(world)
    legit = set(world.legit_chips())
    honest = [f for f in fixes if f.chip_id in legit]
    assert honest
    assert not [f for f in honest if f.verdict is Verdict.VIOLATION]
    verified = sum(f.verdict is Verdict.VERIFIED for f in honest)
    assert verified / len(honest) > 0.95


def test_hand_carried_chips_that_answer_violate(world) -> None:  # type: ignore[no-untyped-def]
    fixes = judge_rounds_simple(world)
    carried = next(i for i in world.incidents if i.incident_id == "hand_carry-1")
    after = [f for f in fixes if f.chip_id in carried.chips and f.at > carried.started_at]
    assert after
    assert all(f.verdict is Verdict.VIOLATION for f in after)


def test_size_is_validated() -> None:
    with pytest.raises(InvalidInput):
        build_world(10, seed=1)


def test_scales_past_the_demo_size() -> None:
    big = build_world(20_000, seed=3)
    assert len(big.chip_ids) == 20_000
    assert len(big.rounds) > 200_000
    assert sum(i.channel == "hand_carry" for i in big.incidents) == 20


def test_evasive_relay_is_unverified_not_violation() -> None:
    world = build_world(300, seed=4, adversary="evasive")
    fixes = judge_rounds_simple(world)
    relayed = next(i for i in world.incidents if i.incident_id == "hand_carry-evasive-1")
    after = [f for f in fixes if f.chip_id in relayed.chips and f.at > relayed.started_at]
    assert after
    assert {f.verdict for f in after} == {Verdict.UNVERIFIED}
    with pytest.raises(InvalidInput):
        build_world(300, seed=4, adversary="clever")


def test_legitimate_sites_declare_room_for_what_is_ordered_to_them_at_scale() -> None:
    # At 20,000 chips a lab orders 2 x 50 chips; its site once declared room for 64, so every
    # lab was a capacity finding (a third of the legitimate fleet flagged).
    world = build_world(20_000, 1)
    suspects = {p for i in world.incidents for p in i.parties}
    ordered: dict[str, int] = {}
    for order in world.orders:
        if order.site_id and order.buyer not in suspects:
            ordered[order.site_id] = ordered.get(order.site_id, 0) + order.quantity
    assert ordered
    over = {s: n for s, n in ordered.items() if n > world.sites[s].capacity_chips}
    assert over == {}
