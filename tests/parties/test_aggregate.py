"""Volumes per ultimate parent and window; structuring across affiliated buyers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chiptrail.errors import InvalidInput
from chiptrail.parties.aggregate import (
    H100_TPP,
    CustodyRecord,
    TenancyRecord,
    aggregate_volumes,
    find_structuring,
)
from chiptrail.types import PartyId

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TPP = {"H100": H100_TPP, "H20": 2_368.0}
PARENTS = {PartyId("buyer-a"): (PartyId("parent"),), PartyId("buyer-b"): (PartyId("parent"),)}


def rec(buyer: str, qty: int, day: int, model: str = "H100") -> CustodyRecord:
    return CustodyRecord(PartyId(buyer), model, qty, T0 + timedelta(days=day))


def test_volumes_roll_up_to_the_parent_in_the_busiest_window() -> None:
    records = [rec("buyer-a", 1000, 0), rec("buyer-b", 1500, 10), rec("buyer-a", 900, 100)]
    tenancy = [
        TenancyRecord("cloud-1", PartyId("buyer-b"), "H20", 720.0, T0, T0 + timedelta(days=5))
    ]
    [vol] = aggregate_volumes(records, tenancy, PARENTS, TPP.__getitem__, timedelta(days=30))
    assert vol.parent_id == "parent"
    assert vol.chips == 2500
    assert vol.h100_equivalents == pytest.approx(2500.0)
    assert vol.chip_hours == 720.0
    assert vol.h100_equivalent_hours == pytest.approx(720.0 * 2368 / H100_TPP)
    assert [b.party_id for b in vol.buyers] == ["buyer-b", "buyer-a"]
    assert vol.window_end_at == T0 + timedelta(days=10)


def test_unaffiliated_buyer_is_its_own_parent() -> None:
    [vol] = aggregate_volumes([rec("solo", 5, 0, "H20")], [], {}, TPP.__getitem__, timedelta(1))
    assert vol.parent_id == "solo"
    assert vol.tpp_total == 5 * 2368.0


def test_split_orders_under_threshold_are_found() -> None:
    records = [rec("buyer-a", 1200, 0), rec("buyer-b", 1100, 20), rec("other", 1900, 1)]
    [finding] = find_structuring(records, PARENTS, timedelta(days=30), threshold_chips=2000)
    assert finding.rule == "split-orders"
    assert finding.parent_id == "parent"
    assert finding.total_chips == 2300
    assert {b.party_id for b in finding.buyers} == {"buyer-a", "buyer-b"}
    assert "each stayed under 2000" in finding.explanation


@pytest.mark.parametrize(
    "records",
    [
        [rec("buyer-a", 1200, 0), rec("buyer-b", 1100, 40)],
        [rec("buyer-a", 2100, 0), rec("buyer-b", 100, 1)],
        [rec("buyer-a", 1200, 0), rec("buyer-a", 1100, 1)],
    ],
    ids=["orders too far apart", "one buyer over the threshold itself", "one buyer only"],
)
def test_no_structuring(records: list[CustodyRecord]) -> None:
    assert find_structuring(records, PARENTS, timedelta(days=30), threshold_chips=2000) == []


def test_bad_records_are_refused() -> None:
    naive = CustodyRecord(PartyId("a"), "H100", 1, datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="time zone"):
        aggregate_volumes([naive], [], {}, TPP.__getitem__, timedelta(days=1))
    with pytest.raises(InvalidInput, match="negative"):
        find_structuring([rec("a", -1, 0)], {}, timedelta(days=1))
    with pytest.raises(InvalidInput, match="positive"):
        aggregate_volumes([], [], {}, TPP.__getitem__, timedelta(0))


def test_joint_venture_buyer_counts_for_both_parents() -> None:
    parents = {PartyId("jv"): (PartyId("p1"), PartyId("p2"))}
    vols = aggregate_volumes([rec("jv", 10, 0)], [], parents, TPP.__getitem__, timedelta(days=1))
    assert sorted(v.parent_id for v in vols) == ["p1", "p2"]
    assert all(v.chips == 10 for v in vols)
