"""volume-gap per buyer, site and ultimate parent: chips declared delivered that never attest."""

from __future__ import annotations

from dataclasses import replace

from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.view import Chip, CustodyEvent, Order, OwnershipEdge, RuleConfig, Site
from chiptrail.types import ChipId, Country, PartyId, Verdict
from tests.rules._world import PARTIES, SITES, ago, ev, fix, party, run, view

CFG = RuleConfig(volume_gap_min_chips=5)
GROUP = PartyId("group-us")
PARTIES_G = {
    **PARTIES,
    GROUP: party("group-us", "US"),
    PartyId("op-b"): party("op-b", "US"),
}
SITES_G = {**SITES, "site-b": Site("site-b", PartyId("op-b"), Country("US"), 40.7, -74.0, 100)}


def _lot(leaf: int, tag: str, n: int, by: str, site: str) -> tuple[list[str], list[CustodyEvent]]:
    chips = [f"{tag}{i}" for i in range(n)]
    return chips, [
        ev(leaf, "shipping", 70, chips, "vendor", "US", destination_country=Country("US")),
        ev(leaf + 1, "receiving", 62, chips, by, "US", site_id=site),
        ev(leaf + 2, "installing", 60, chips, by, "US", site_id=site),
    ]


def _fleet(silent: int) -> tuple[list[CustodyEvent], tuple]:  # type: ignore[type-arg]
    # op-us: 100 chips at site-sj that all attest; op-b: 20 chips at site-b, ``silent`` never answer
    a, ev_a = _lot(1, "a", 100, "op-us", "site-sj")
    b, ev_b = _lot(4, "b", 20, "op-b", "site-b")
    fixes = tuple(fix(c, 2, Verdict.VERIFIED) for c in a)
    fixes += tuple(fix(c, 2, Verdict.VERIFIED, 40.7, -74.0, site="site-b") for c in b[silent:])
    return ev_a + ev_b, fixes


def test_a_buyers_silent_chips_are_a_gap_though_its_country_looks_fine() -> None:
    events, fixes = _fleet(silent=6)
    v = view(parties=PARTIES_G, sites=SITES_G, events=tuple(events), fixes=fixes, config=CFG)
    found = run("volume-gap", v)
    # US: 6 of 120 missing (5%) is under the fraction; op-b: 6 of 20 (30%) is not
    assert [(f.subject, f.subject_kind) for f in found] == [("op-b", SubjectKind.PARTY)]
    refs = {e.ref for e in found[0].evidence}
    assert {"volume:buyer:op-b", "volume:site:site-b"} <= refs
    assert run("volume-gap", replace(v, fixes=_fleet(silent=4)[1])) == []  # 4 < 5 chips


def test_the_gap_is_added_up_under_the_ultimate_parent() -> None:
    # Two subsidiaries, 4 silent chips each: under the minimum alone, 8 under their parent.
    a, ev_a = _lot(1, "a", 10, "op-us", "site-sj")
    b, ev_b = _lot(4, "b", 10, "op-b", "site-b")
    fixes = tuple(fix(c, 2, Verdict.VERIFIED) for c in a[4:])
    fixes += tuple(fix(c, 2, Verdict.VERIFIED, 40.7, -74.0, site="site-b") for c in b[4:])
    owned = (
        OwnershipEdge(GROUP, PartyId("op-us"), 1.0),
        OwnershipEdge(GROUP, PartyId("op-b"), 0.8),
    )
    v = view(
        parties=PARTIES_G,
        sites=SITES_G,
        events=tuple(ev_a + ev_b),
        fixes=fixes,
        ownership=owned,
        config=replace(CFG, volume_gap_min_chips=6),
    )
    found = run("volume-gap", v)
    assert {f.subject for f in found} == {"US", "group-us"}
    [group] = [f for f in found if f.subject == "group-us"]
    assert "8 of 20" in group.explanation


def test_the_buyer_is_the_orders_buyer_not_the_installer() -> None:
    chips, events = _lot(1, "c", 10, "op-us", "site-sj")
    order = Order("PO-7", PartyId("dist-sg"), PartyId("vendor"), 10, ago(80))
    v = view(
        events=tuple(events),
        orders=(order,),
        chips={ChipId(c): Chip(ChipId(c), "h100-sxm", "PO-7") for c in chips},
        config=CFG,
    )
    subjects = {f.subject for f in run("volume-gap", v)}
    assert subjects == {"US", "dist-sg", "op-us"}  # op-us through its site


def test_chips_that_verified_there_once_are_the_chip_rules_not_a_party_gap() -> None:
    # Lots that attested and then went quiet (stolen, carried off) are each chip-gone-dark; the
    # buyer whose chips once answered is not blamed for a gap (the country still is).
    events, fixes = _fleet(silent=0)
    old = tuple(f for f in fixes if not f.chip_id.startswith("b"))
    once = tuple(fix(f"b{i}", 30, Verdict.VERIFIED, 40.7, -74.0, site="site-b") for i in range(20))
    v = view(
        parties=PARTIES_G,
        sites=SITES_G,
        events=tuple(events),
        fixes=old + once,
        config=replace(CFG, volume_gap_fraction=0.1),
    )
    found = run("volume-gap", v)
    assert [f.subject for f in found] == ["US"]
    assert {f.subject for f in run("chip-gone-dark", v)} == {f"b{i}" for i in range(20)}
