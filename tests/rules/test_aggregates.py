"""Aggregating rules on hand-built data: split orders, cloud rental, volume gap."""

from __future__ import annotations

import pytest

from chiptrail.rules.view import Order, OwnershipEdge, RuleConfig, TenancyUsage
from chiptrail.types import PartyId, Verdict
from tests.rules._world import PARTIES, ago, ev, fix, party, run, view

AFFILIATES = {PartyId(p): party(p, "AE") for p in ("parent", "a1", "a2", "a3", "solo")}
OWNERSHIP = tuple(
    OwnershipEdge(PartyId("parent"), PartyId(a), s)
    for a, s in (("a1", 1.0), ("a2", 0.8), ("a3", 0.6))
)


def order(buyer: str, qty: int, days: float, licence: str | None = None) -> Order:
    return Order(f"o-{buyer}-{days}", PartyId(buyer), PartyId("vendor"), qty, ago(days), licence)


@pytest.mark.parametrize(
    ("orders", "fires"),
    [
        ([order("a1", 900, 60), order("a2", 900, 40), order("a3", 900, 20)], True),
        (
            [order("a1", 900, 60, "L1"), order("a2", 900, 40, "L2"), order("a3", 900, 20, "L3")],
            False,
        ),
        ([order("a1", 900, 400), order("a2", 900, 200), order("a3", 900, 10)], False),
        ([order("a1", 1900, 20)], False),
        ([order("a1", 900, 60), order("solo", 900, 40), order("a3", 150, 20)], False),
    ],
    ids=[
        "3 affiliates x 900 in 40 days",
        "each licensed",
        "spread over 390 days",
        "one order under threshold",
        "unaffiliated buyer not summed",
    ],
)
def test_split_orders(orders: list[Order], fires: bool) -> None:
    v = view(parties={**PARTIES, **AFFILIATES}, ownership=OWNERSHIP, orders=tuple(orders))
    found = run("split-orders", v)
    assert bool(found) is fires
    if fires:
        assert found[0].subject == "parent"
        assert any(e.ref.startswith("path:a2>parent") for e in found[0].evidence)


def usage(tenant: str, hours: float, days_ago_end: float = 0) -> TenancyUsage:
    return TenancyUsage(
        f"u-{tenant}",
        PartyId("cloud"),
        PartyId(tenant),
        hours,
        ago(days_ago_end + 30),
        ago(days_ago_end),
    )


@pytest.mark.parametrize(
    ("parent_country", "records", "fires"),
    [
        ("CN", [usage("t1", 150_000), usage("t2", 150_000)], True),
        ("US", [usage("t1", 150_000), usage("t2", 150_000)], False),
        ("CN", [usage("t1", 100_000)], False),
        ("CN", [usage("t1", 150_000, 90), usage("t2", 150_000, 60)], False),
    ],
    ids=[
        "two tenants of a CN parent together over",
        "US parent",
        "under threshold",
        "outside the 30-day window",
    ],
)
def test_cloud_rental(parent_country: str, records: list[TenancyUsage], fires: bool) -> None:
    parties = {
        **PARTIES,
        PartyId("cnp"): party("cnp", parent_country),
        PartyId("t1"): party("t1", "MY"),
        PartyId("t2"): party("t2", "SG"),
    }
    edges = (
        OwnershipEdge(PartyId("cnp"), PartyId("t1"), 1.0),
        OwnershipEdge(PartyId("cnp"), PartyId("t2"), 0.6),
    )
    found = run(
        "cloud-rental-concern", view(parties=parties, ownership=edges, usage=tuple(records))
    )
    assert bool(found) is fires
    if fires:
        assert found[0].subject == "cnp"
        assert "300,000 chip-hours" in found[0].explanation


def _fleet(n: int, installed_days_ago: float) -> list[object]:
    chips = [f"c{i}" for i in range(n)]
    return [
        ev(1, "shipping", installed_days_ago + 10, chips, "vendor", "US", destination_country="US"),
        ev(2, "receiving", installed_days_ago + 2, chips, "op-us", "US", site_id="site-sj"),
        ev(3, "installing", installed_days_ago, chips, "op-us", "US", site_id="site-sj"),
    ]


@pytest.mark.parametrize(
    ("attesting", "installed_days_ago", "fires"),
    [(5, 40, True), (20, 40, False), (0, 5, False), (18, 40, False)],
    ids=["15 of 20 missing", "all attest", "installed 5 days ago", "2 missing, under minimum"],
)
def test_volume_gap(attesting: int, installed_days_ago: float, fires: bool) -> None:
    fixes = tuple(fix(f"c{i}", 2, Verdict.VERIFIED) for i in range(attesting))
    v = view(
        events=tuple(_fleet(20, installed_days_ago)),
        fixes=fixes,
        config=RuleConfig(volume_gap_min_chips=10),
    )
    found = run("volume-gap", v)
    assert bool(found) is fires
    if fires:
        assert found[0].subject == "US"
        assert "15 missing" in found[0].evidence[0].detail


def test_cloud_rental_counts_each_parent_of_a_50_50_joint_venture() -> None:
    parties = {
        **PARTIES,
        PartyId("cn1"): party("cn1", "CN"),
        PartyId("us1"): party("us1", "US"),
        PartyId("jv"): party("jv", "SG"),
        PartyId("t1"): party("t1", "MY"),
    }
    edges = (
        OwnershipEdge(PartyId("cn1"), PartyId("jv"), 0.5),
        OwnershipEdge(PartyId("us1"), PartyId("jv"), 0.5),
        OwnershipEdge(PartyId("jv"), PartyId("t1"), 1.0),
    )
    found = run(
        "cloud-rental-concern",
        view(parties=parties, ownership=edges, usage=(usage("t1", 300_000),)),
    )
    assert [f.subject for f in found] == ["cn1"]
    assert any(e.ref == "path:t1>jv>cn1" for e in found[0].evidence)
