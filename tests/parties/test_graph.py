"""Ownership graph: ultimate parents, aggregate control, cycles, the 50% rule, directorships."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput
from chiptrail.parties.graph import (
    OwnershipGraph,
    PathStep,
    compute_ultimate_parents,
    find_restrictions,
    find_ultimate_parents,
    flag_control,
)
from chiptrail.parties.model import Directorship, Ownership
from chiptrail.types import PartyId


def own(owner: str, asset: str, pct: float | None) -> Ownership:
    return Ownership(f"{owner}>{asset}", PartyId(owner), PartyId(asset), pct)


def P(x: str) -> PartyId:
    return PartyId(x)


@pytest.mark.parametrize(
    ("edges", "party", "parents"),
    [
        ([own("A", "B", 60)], "B", ("A",)),
        ([own("A", "B", 60), own("B", "C", 80)], "C", ("A",)),
        ([own("A", "B", 40)], "B", ("B",)),
        ([own("A", "B", 50), own("Z", "B", 50)], "B", ("A", "Z")),
        ([own("A", "B", 100), own("B", "C", 30), own("A", "C", 30)], "C", ("A",)),
        ([own("A", "B", None)], "B", ("B",)),
        ([own("P", "Q", 60), own("Q", "P", 60), own("P", "R", 100)], "R", ("P", "Q")),
    ],
    ids=[
        "majority owner",
        "chain of majorities",
        "minority stake is not control",
        "50/50 joint venture has two parents",
        "30% direct plus 30% via a subsidiary is control",
        "unknown percentage is not control",
        "mutual ownership cycle: both members are parents",
    ],
)
def test_ultimate_parents(edges: list[Ownership], party: str, parents: tuple[str, ...]) -> None:
    graph = OwnershipGraph(edges)
    assert find_ultimate_parents(graph, P(party)).parents == parents
    assert compute_ultimate_parents(graph)[P(party)] == parents


def test_paths_explain_the_parent() -> None:
    graph = OwnershipGraph([own("A", "B", 60), own("B", "C", 80)])
    result = find_ultimate_parents(graph, P("C"))
    assert result.paths == ((PathStep(P("A"), P("B"), 60), PathStep(P("B"), P("C"), 80)),)
    assert not result.in_cycle


def test_cycles_terminate_and_are_reported() -> None:
    graph = OwnershipGraph([own("A", "B", 60), own("B", "C", 60), own("C", "A", 60)])
    result = find_ultimate_parents(graph, P("A"))
    assert result.in_cycle
    assert result.parents == ("A", "B", "C")


def test_self_ownership_is_dropped_with_warning() -> None:
    graph = OwnershipGraph([own("A", "A", 100), own("A", "B", 70), own("C", "B", 50)])
    assert graph.owners_of(P("A")) == {}
    assert any("owns itself" in w for w in graph.warnings)
    assert any("sums to 120%" in w for w in graph.warnings)


def test_percentage_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidInput):
        OwnershipGraph([own("A", "B", 150)])


edge_lists = st.lists(
    st.tuples(
        st.sampled_from("ABCDEFG"),
        st.sampled_from("ABCDEFG"),
        st.sampled_from([None, 10.0, 25.0, 50.0, 51.0, 100.0]),
    ),
    max_size=14,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(deadline=None, max_examples=150)
@given(edge_lists, st.randoms(use_true_random=False))
def test_ultimate_parent_is_independent_of_edge_order(
    raw: list[tuple[str, str, float | None]], rnd: object
) -> None:
    edges = [own(a, b, p) for a, b, p in raw]
    shuffled = list(edges)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = compute_ultimate_parents(OwnershipGraph(edges))
    second = compute_ultimate_parents(OwnershipGraph(shuffled))
    assert first == second
    listed = {P("A"): "el"}
    assert set(find_restrictions(OwnershipGraph(edges), listed)) == set(
        find_restrictions(OwnershipGraph(shuffled), listed)
    )
    for node in OwnershipGraph(edges).nodes():  # cycles terminate for every node
        assert find_ultimate_parents(OwnershipGraph(edges), node).parents


def test_fifty_percent_rule_aggregates_listed_owners_and_names_the_path() -> None:
    graph = OwnershipGraph(
        [
            own("L1", "X", 30),
            own("L2", "X", 20),  # 30 + 20 = 50: X is restricted
            own("X", "Y", 50),  # via X
            own("L1", "Z", 49),  # 49 is not enough
            own("Y", "W", 10),
        ]
    )
    result = find_restrictions(graph, {P("L1"): "el", P("L2"): "sdn"})
    assert set(result) == {"L1", "L2", "X", "Y"}
    x = result[P("X")]
    assert x.restricted_share == 50.0
    assert x.owners == (("L1", 30.0), ("L2", 20.0))
    y = result[P("Y")]
    assert y.listed_party_id == "L1"
    assert y.list_id == "el"
    assert y.path == (PathStep(P("L1"), P("X"), 30.0), PathStep(P("X"), P("Y"), 50.0))
    assert "L1 (30%) -> X (50%) -> Y" in y.explanation


def test_restriction_through_a_cycle_terminates() -> None:
    graph = OwnershipGraph([own("L", "A", 60), own("A", "B", 60), own("B", "A", 40)])
    assert set(find_restrictions(graph, {P("L"): "el"})) == {"L", "A", "B"}


def test_directorship_control_is_flagged() -> None:
    graph = OwnershipGraph([], [Directorship("d1", P("L"), P("F"), "Chairman")])
    restricted = find_restrictions(graph, {P("L"): "el"})
    [flag] = flag_control(graph, restricted, [P("F"), P("G")])
    assert (flag.party_id, flag.director_id, flag.role, flag.list_id) == (
        "F",
        "L",
        "Chairman",
        "el",
    )
