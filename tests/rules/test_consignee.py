"""Consignee red flags and restricted parties on hand-built buyers and ownership chains."""

from __future__ import annotations

import pytest

from chiptrail.rules.finding import EvidenceKind
from chiptrail.rules.view import (
    AddressKind,
    Order,
    OwnershipEdge,
    Role,
    ScreeningHit,
    Site,
    WorldView,
)
from chiptrail.types import Country, PartyId, Severity
from tests.rules._world import PARTIES, SITES, ago, ev, party, run, view


def order(buyer: str, qty: int = 16, days: float = 30, **kw: object) -> Order:
    return Order(f"o-{buyer}-{days}", PartyId(buyer), PartyId("vendor"), qty, ago(days), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("age_days", "address", "expected"),
    [
        (90, AddressKind.OFFICE, Severity.MEDIUM),
        (90, AddressKind.VIRTUAL, Severity.HIGH),
        (3000, AddressKind.RESIDENTIAL, Severity.MEDIUM),
        (3000, AddressKind.OFFICE, None),
    ],
    ids=["new", "new shell", "old, residential address", "established office"],
)
def test_new_or_shell(age_days: float, address: AddressKind, expected: object) -> None:
    buyer = party("b1", "MY", incorporated_at=ago(30 + age_days), address_kind=address)
    found = run(
        "consignee-new-or-shell",
        view(parties={**PARTIES, buyer.party_id: buyer}, orders=(order("b1"),)),
    )
    assert (found[0].severity if found else None) == expected


@pytest.mark.parametrize(("capacity", "fires"), [(4, True), (64, False)])
def test_capacity(capacity: int, fires: bool) -> None:
    site = Site("s1", PartyId("b1"), Country("MY"), 3.1, 101.7, capacity)
    v = view(
        sites={**SITES, "s1": site},
        orders=(order("b1", 16, site_id="s1"),),
        parties={**PARTIES, PartyId("b1"): party("b1", "MY")},
    )
    assert bool(run("consignee-capacity", v)) is fires


def test_capacity_of_an_unregistered_site_is_zero() -> None:
    v = view(orders=(order("b1", 8, site_id="nowhere"),))
    [found] = run("consignee-capacity", v)
    assert "not registered" in found.explanation


@pytest.mark.parametrize(
    ("payment", "via", "fires"),
    [("HK", (), True), ("MY", ("AE",), True), ("MY", (), False), ("US", (), False)],
    ids=["paid from HK", "shipped via AE", "paid at home", "paid in seller's country"],
)
def test_third_country_routing(payment: str, via: tuple[str, ...], fires: bool) -> None:
    v = view(
        parties={**PARTIES, PartyId("b1"): party("b1", "MY")},
        orders=(order("b1", payment_country=payment, ship_via=via),),
    )
    assert bool(run("third-country-routing", v)) is fires


LISTED = party("listed", "CN")
HIT = ScreeningHit(PartyId("listed"), "Entity List", "Listed Co", 1.0, "exact")


@pytest.mark.parametrize(
    ("edges", "hits", "fires"),
    [
        ((), (ScreeningHit(PartyId("b1"), "Entity List", "B One", 0.93, "fuzzy"),), True),
        (
            (
                OwnershipEdge(PartyId("listed"), PartyId("hold"), 1.0),
                OwnershipEdge(PartyId("hold"), PartyId("b1"), 0.7),
            ),
            (HIT,),
            True,
        ),
        ((OwnershipEdge(PartyId("listed"), PartyId("b1"), 0.3),), (HIT,), False),
        ((), (HIT,), False),
    ],
    ids=["buyer matched", "owned 70% through a holding", "minority stake", "unrelated"],
)
def test_restricted_party(edges: tuple[object, ...], hits: tuple[object, ...], fires: bool) -> None:
    v = view(
        parties={**PARTIES, PartyId("b1"): party("b1", "AE"), PartyId("listed"): LISTED},
        ownership=edges,
        screening_hits=hits,
        orders=(order("b1"),),
    )
    found = run("restricted-party", v)
    assert bool(found) is fires
    if fires:
        assert found[0].severity is Severity.CRITICAL
        kinds = {e.kind for e in found[0].evidence}
        assert EvidenceKind.SCREENING in kinds
        if edges:
            assert EvidenceKind.PARTY_EDGE in kinds
            assert "hold" in found[0].evidence[-1].ref


def test_restricted_share_adds_up_across_listed_owners() -> None:
    other = party("listed2", "CN")
    edges = (
        OwnershipEdge(PartyId("listed"), PartyId("b1"), 0.3),
        OwnershipEdge(PartyId("listed2"), PartyId("b1"), 0.25),
    )
    hits = (HIT, ScreeningHit(PartyId("listed2"), "Entity List", "Other", 1.0, "exact"))
    v = view(
        parties={
            **PARTIES,
            PartyId("b1"): party("b1", "AE"),
            PartyId("listed"): LISTED,
            PartyId("listed2"): other,
        },
        ownership=edges,
        screening_hits=hits,
        orders=(order("b1"),),
    )
    [found] = run("restricted-party", v)
    assert "55% owned" in found.explanation


def _receiver_view(hits: tuple[ScreeningHit, ...], step: str) -> WorldView:
    # Only the shipping case names b1 as destination: the others must be caught by b1's own leaf.
    dest = PartyId("b1") if step == "shipping" else None
    events = (
        ev(1, "shipping", 30, ["c1"], "dist-sg", "SG", destination_party=dest),
        ev(2, step, 25, ["c1"], "b1", "AE"),
    )
    return view(
        parties={**PARTIES, PartyId("b1"): party("b1", "AE", Role.DISTRIBUTOR)},
        screening_hits=hits,
        events=events if step != "shipping" else events[:1],
    )


@pytest.mark.parametrize("step", ["receiving", "installing", "shipping"])
def test_restricted_party_receiving_chips_through_the_ledger(step: str) -> None:
    hit = ScreeningHit(PartyId("b1"), "Entity List", "B One", 0.95, "fuzzy")
    [found] = run("restricted-party", _receiver_view((hit,), step))
    assert found.subject == "b1"
    assert found.severity is Severity.CRITICAL
    leaves = [e.leaf_index for e in found.evidence if e.kind is EvidenceKind.LEDGER]
    first = 1 if step == "shipping" else 2
    assert leaves == [first]
    assert "consignee" in found.explanation
    assert found.detected_at == ago(30 if step == "shipping" else 25)


def test_clean_receiver_is_not_restricted() -> None:
    other = ScreeningHit(PartyId("listed"), "Entity List", "Listed Co", 1.0, "exact")
    assert run("restricted-party", _receiver_view((other,), "receiving")) == []
