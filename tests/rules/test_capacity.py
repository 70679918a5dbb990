"""capacity-imports: chips the ledger delivered to a site, and to every site of one ultimate
parent, against the capacity the sites declare."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.view import CustodyEvent, OwnershipEdge, Site
from chiptrail.types import Country, PartyId
from tests.rules._world import PARTIES, ago, ev, party, run, view

PARENT = PartyId("parent-ae")
SUB_A, SUB_B = PartyId("sub-a"), PartyId("sub-b")
SITES = {
    s.site_id: s
    for s in (
        Site("site-a", SUB_A, Country("AE"), 25.2, 55.3, 10),
        Site("site-b", SUB_B, Country("AE"), 24.5, 54.4, 10),
        Site("site-x", PartyId("op-us"), Country("US"), 37.3, -121.9, 0),
    )
}
PARTIES_AE = {
    **PARTIES,
    PARENT: party("parent-ae", "AE"),
    SUB_A: party("sub-a", "AE"),
    SUB_B: party("sub-b", "AE"),
}
OWNED = (OwnershipEdge(PARENT, SUB_A, 1.0), OwnershipEdge(PARENT, SUB_B, 0.6))


def _deliver(leaf: int, site: str, by: str, n: int, days: float, tag: str) -> list[CustodyEvent]:
    chips = [f"{tag}-{i}" for i in range(n)]
    return [
        ev(leaf, "receiving", days, chips, by, "AE", site_id=site),
        ev(leaf + 1, "installing", days - 1, chips, by, "AE", site_id=site),
    ]


@pytest.mark.parametrize(
    ("n_a", "n_b", "subjects"),
    [
        (10, 10, set()),
        (12, 4, {"sub-a"}),
        (9, 9, set()),
        (11, 11, {"sub-a", "sub-b", "parent-ae"}),
    ],
    ids=["both sites full", "one site over", "room left", "the group over"],
)
def test_chips_present_against_declared_capacity(n_a: int, n_b: int, subjects: set[str]) -> None:
    events = _deliver(1, "site-a", "sub-a", n_a, 60, "a") + _deliver(
        3, "site-b", "sub-b", n_b, 50, "b"
    )
    v = view(parties=PARTIES_AE, sites=SITES, ownership=OWNED, events=tuple(events))
    found = run("capacity-imports", v)
    assert {f.subject for f in found} == subjects
    assert all(f.subject_kind is SubjectKind.PARTY for f in found)


def test_the_group_is_summed_over_affiliates_with_room_at_neither_alone() -> None:
    # 8 + 8 fit 10 + 10, but a third affiliate's site of capacity 2 holds 6: the group holds
    # 22 chips for 22 places -> no group finding; with 7 it is 23 > 22.
    site_c = Site("site-c", PartyId("sub-c"), Country("AE"), 24.4, 54.6, 2)
    sites = {**SITES, "site-c": site_c}
    owned = (*OWNED, OwnershipEdge(PARENT, PartyId("sub-c"), 0.51))
    parties = {**PARTIES_AE, PartyId("sub-c"): party("sub-c", "AE")}
    base = _deliver(1, "site-a", "sub-a", 10, 60, "a") + _deliver(3, "site-b", "sub-b", 10, 50, "b")
    fits = view(
        parties=parties,
        sites=sites,
        ownership=owned,
        events=tuple(base + _deliver(5, "site-c", "sub-c", 2, 40, "c")),
    )
    assert run("capacity-imports", fits) == []
    over = replace(fits, events=tuple(base + _deliver(5, "site-c", "sub-c", 3, 40, "c")))
    found = {f.subject: f for f in run("capacity-imports", over)}
    assert set(found) == {"sub-c", "parent-ae"}
    group = found["parent-ae"]
    assert "23 chips" in group.explanation
    assert "capacity for 22" in group.explanation
    assert {e.ref for e in group.evidence} >= {"site:site-a", "site:site-b", "site:site-c"}
    # detected when the 23rd chip arrived (site-c's receipt, 40 days ago)
    assert group.detected_at == ago(40)


def test_chips_that_left_do_not_count_and_undeclared_capacity_is_not_judged() -> None:
    events = _deliver(1, "site-a", "sub-a", 14, 60, "a")
    gone = [f"a-{i}" for i in range(6)]
    events.append(
        ev(
            9,
            "shipping",
            30,
            gone,
            "sub-a",
            "AE",
            site_id="site-a",
            destination_party=PartyId("rma-tw"),
            destination_country=Country("TW"),
        )
    )
    v = view(parties=PARTIES_AE, sites=SITES, ownership=OWNED, events=tuple(events))
    assert run("capacity-imports", v) == []  # 8 left at site-a
    undeclared = _deliver(1, "site-x", "op-us", 500, 60, "x")
    assert run("capacity-imports", view(sites=SITES, events=tuple(undeclared))) == []
