"""The ownership graph: ultimate parents, the 50% rule, control through directorships.

No I/O: callers pass ``Ownership`` and ``Directorship`` links; results are frozen values.

Definitions (docs/ownership.md):
- C *controls* X when C's stake in X is 50% or more, counting C's direct holding plus every holding
  in X by parties C controls (directly or indirectly). Unknown percentages count as 0.
- The *ultimate parents* of X are the controllers of X that nobody outside their own control cycle
  controls; a party without a controller is its own ultimate parent.
- A party is *restricted* when it is listed, or when restricted parties together own 50% or more of
  it (BIS affiliates rule, 15 CFR 744.11(a)(2)(ix); OFAC's 50% rule counts the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chiptrail.errors import InvalidInput
from chiptrail.parties.model import Directorship, Ownership, check_ownership_sums
from chiptrail.types import PartyId

CONTROL_SHARE = 50.0
"""Percentage at or above which a stake counts as control (and as restricted ownership)."""

_EMPTY: frozenset[PartyId] = frozenset()


@dataclass(frozen=True, slots=True)
class PathStep:
    """``owner_id`` holds ``percentage`` of ``asset_id``."""

    owner_id: PartyId
    asset_id: PartyId
    percentage: float | None


@dataclass(frozen=True, slots=True)
class UltimateParents:
    """The ultimate parents of a party and one ownership path from each (parent first)."""

    party_id: PartyId
    parents: tuple[PartyId, ...]
    paths: tuple[tuple[PathStep, ...], ...]
    in_cycle: bool


@dataclass(frozen=True, slots=True)
class Restriction:
    """Why a party is restricted.

    Attributes:
        party_id: the restricted party.
        listed_party_id: the listed party the restriction comes from.
        list_id: the list that party is on.
        path: ownership steps from the listed party down to ``party_id`` (empty when listed itself).
        restricted_share: percentage of ``party_id`` held by restricted owners (100 when listed).
        owners: the restricted owners whose holdings were added up, with their percentages.
    """

    party_id: PartyId
    listed_party_id: PartyId
    list_id: str
    path: tuple[PathStep, ...]
    restricted_share: float
    owners: tuple[tuple[PartyId, float], ...] = ()

    @property
    def explanation(self) -> str:
        """A sentence naming the path."""
        if not self.path:
            return f"{self.party_id} is listed on {self.list_id}"
        chain = " -> ".join(f"{s.owner_id} ({s.percentage or 0:g}%)" for s in self.path)
        held = ", ".join(f"{o} {p:g}%" for o, p in self.owners)
        return (
            f"{self.party_id} is {self.restricted_share:g}% owned by restricted parties "
            f"({held}); path {chain} -> {self.party_id}; "
            f"{self.listed_party_id} is listed on {self.list_id}"
        )


@dataclass(frozen=True, slots=True)
class ControlFlag:
    """A restricted party sits on the board of (or manages) ``party_id``: control, not ownership."""

    party_id: PartyId
    director_id: PartyId
    role: str | None
    list_id: str


class OwnershipGraph:
    """Ownership and directorship links indexed both ways; immutable after construction."""

    __slots__ = ("_assets", "_directors", "_owners", "warnings")

    def __init__(
        self, ownerships: Iterable[Ownership], directorships: Iterable[Directorship] = ()
    ) -> None:
        owners: dict[PartyId, dict[PartyId, float | None]] = {}
        assets: dict[PartyId, dict[PartyId, float | None]] = {}
        warnings: list[str] = []
        kept: list[Ownership] = []
        for o in ownerships:
            if o.percentage is not None and not 0.0 <= o.percentage <= 100.0:
                raise InvalidInput(f"ownership {o.link_id}: percentage {o.percentage} not 0..100")
            if o.owner_id == o.asset_id:
                warnings.append(f"ownership {o.link_id}: {o.owner_id} owns itself; ignored")
                continue
            kept.append(o)
            # Several links between the same pair add up (e.g. two share classes).
            prev = owners.setdefault(o.asset_id, {}).get(o.owner_id)
            pct = (
                None if prev is None and o.percentage is None else (prev or 0) + (o.percentage or 0)
            )
            owners[o.asset_id][o.owner_id] = pct
            assets.setdefault(o.owner_id, {})[o.asset_id] = pct
        warnings += check_ownership_sums(kept)
        directors: dict[PartyId, list[Directorship]] = {}
        for d in directorships:
            directors.setdefault(d.organization_id, []).append(d)
        self._owners = owners
        self._assets = assets
        self._directors = directors
        self.warnings: tuple[str, ...] = tuple(warnings)

    def owners_of(self, party: PartyId) -> dict[PartyId, float | None]:
        """Direct owners of ``party`` and their percentages."""
        return dict(self._owners.get(party, {}))

    def assets_of(self, party: PartyId) -> dict[PartyId, float | None]:
        """Parties ``party`` directly owns, and the percentages."""
        return dict(self._assets.get(party, {}))

    def directors_of(self, party: PartyId) -> tuple[Directorship, ...]:
        """Directorships on ``party``'s board."""
        return tuple(self._directors.get(party, ()))

    def nodes(self) -> list[PartyId]:
        """Every party named by an ownership link, sorted."""
        return sorted(set(self._owners) | set(self._assets))

    def upstream(self, party: PartyId) -> set[PartyId]:
        """``party`` and every direct or indirect owner of it."""
        seen = {party}
        stack = [party]
        while stack:
            for o in self._owners.get(stack.pop(), {}):
                if o not in seen:
                    seen.add(o)
                    stack.append(o)
        return seen


def _strongly_connected(
    nodes: Sequence[PartyId], succ: Mapping[PartyId, Mapping[PartyId, float | None]]
) -> list[list[PartyId]]:
    """Tarjan's SCCs, iteratively; emitted so that every SCC comes after all SCCs it points to."""
    index: dict[PartyId, int] = {}
    low: dict[PartyId, int] = {}
    on_stack: set[PartyId] = set()
    stack: list[PartyId] = []
    out: list[list[PartyId]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, {})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, {}))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def _owners_first(
    universe: Sequence[PartyId],
    owners: Mapping[PartyId, Mapping[PartyId, float | None]],
    assets: Mapping[PartyId, Mapping[PartyId, float | None]],
) -> list[list[PartyId]]:
    """Groups of parties in an order where owners come before what they own.

    Kahn's topological sort handles the acyclic bulk (one party per group); what is left lies in or
    below an ownership cycle and goes through Tarjan's SCCs (one group per component).
    """
    missing = {x: len(owners.get(x, {})) for x in universe}
    ready = [x for x in universe if missing[x] == 0]
    out: list[list[PartyId]] = []
    while ready:
        x = ready.pop()
        out.append([x])
        for a in assets.get(x, {}):
            if a in missing:
                missing[a] -= 1
                if missing[a] == 0:
                    ready.append(a)
    rest = [x for x in universe if missing[x] > 0]
    if rest:
        inside = set(rest)
        sub = {x: {o: p for o, p in owners.get(x, {}).items() if o in inside} for x in rest}
        out += _strongly_connected(rest, sub)
    return out


def _controllers_of(
    x: PartyId, owners: Mapping[PartyId, float | None], ctrl: Mapping[PartyId, frozenset[PartyId]]
) -> frozenset[PartyId]:
    stakes: dict[PartyId, float] = {}
    for o, pct in owners.items():
        share = pct or 0.0
        if share <= 0.0:
            continue
        stakes[o] = stakes.get(o, 0.0) + share
        for c in ctrl.get(o, _EMPTY):
            stakes[c] = stakes.get(c, 0.0) + share
    found = frozenset(c for c, s in stakes.items() if s >= CONTROL_SHARE and c != x)
    return found or _EMPTY


def compute_controllers(
    graph: OwnershipGraph, nodes: Iterable[PartyId] | None = None
) -> dict[PartyId, frozenset[PartyId]]:
    """Every direct or indirect controller of each party (see the module docstring).

    Args:
        graph: the ownership graph.
        nodes: restrict to these parties and their owners (default: the whole graph).

    Returns:
        party id -> its controllers (empty for parties nobody controls). Cycles are iterated to a
        fixpoint (sets only grow and are bounded, so this terminates).
    """
    if nodes is None:
        universe = graph.nodes()
    else:
        up: set[PartyId] = set()
        for n in nodes:
            up |= graph.upstream(n)
        universe = sorted(up)
    owners = graph._owners
    comps = _owners_first(universe, owners, graph._assets)
    ctrl: dict[PartyId, frozenset[PartyId]] = {}
    for comp in comps:
        if len(comp) == 1 and comp[0] not in owners.get(comp[0], {}):
            x = comp[0]
            found = _controllers_of(x, owners.get(x, {}), ctrl)
            if found:
                ctrl[x] = found
            continue
        changed = True
        while changed:
            changed = False
            for x in sorted(comp):
                found = _controllers_of(x, owners.get(x, {}), ctrl)
                if found != ctrl.get(x, _EMPTY):
                    ctrl[x] = found
                    changed = True
    return ctrl


def _ultimate(
    x: PartyId, ctrl: Mapping[PartyId, frozenset[PartyId]]
) -> tuple[tuple[PartyId, ...], bool]:
    mine = ctrl.get(x, _EMPTY)
    if not mine:
        return (x,), False
    # A controller is at the top when nobody controls it, or only its own control cycle does.
    tops = {c for c in mine if not ctrl.get(c) or ctrl[c] <= _mutual(c, ctrl)}
    in_cycle = any(x in ctrl.get(c, _EMPTY) for c in mine)
    if in_cycle and mine <= _mutual(x, ctrl):
        tops.add(x)  # x is itself at the top of its control cycle
    return tuple(sorted(tops or mine | {x})), in_cycle


def _mutual(c: PartyId, ctrl: Mapping[PartyId, frozenset[PartyId]]) -> frozenset[PartyId]:
    """Controllers of ``c`` that ``c`` controls back (its control cycle)."""
    return frozenset(d for d in ctrl.get(c, _EMPTY) if c in ctrl.get(d, _EMPTY))


def find_ultimate_parents(graph: OwnershipGraph, party: PartyId) -> UltimateParents:
    """The ultimate parents of one party, with one explaining path from each."""
    ctrl = compute_controllers(graph, [party])
    parents, in_cycle = _ultimate(party, ctrl)
    paths = tuple(_control_path(graph, ctrl, p, party) for p in parents if p != party)
    return UltimateParents(party, parents, paths, in_cycle)


def compute_ultimate_parents(graph: OwnershipGraph) -> dict[PartyId, tuple[PartyId, ...]]:
    """Ultimate parents of every party in the graph (bulk form of ``find_ultimate_parents``)."""
    ctrl = compute_controllers(graph)
    return {x: _ultimate(x, ctrl)[0] for x in graph.nodes()}


def _control_path(
    graph: OwnershipGraph,
    ctrl: Mapping[PartyId, frozenset[PartyId]],
    parent: PartyId,
    party: PartyId,
) -> tuple[PathStep, ...]:
    """Steps from ``parent`` down to ``party`` through parties ``parent`` controls (BFS upward)."""
    prev: dict[PartyId, PathStep] = {}
    frontier = [party]
    seen = {party}
    while frontier:
        nxt = []
        for x in frontier:
            for o, pct in sorted(graph._owners.get(x, {}).items()):
                if o in seen or not (o == parent or parent in ctrl.get(o, _EMPTY)):
                    continue
                seen.add(o)
                prev[o] = PathStep(o, x, pct)
                if o == parent:
                    steps = []
                    cur = o
                    while cur != party:
                        steps.append(prev[cur])
                        cur = prev[cur].asset_id
                    return tuple(steps)
                nxt.append(o)
        frontier = nxt
    return ()


def find_restrictions(
    graph: OwnershipGraph, listed: Mapping[PartyId, str]
) -> dict[PartyId, Restriction]:
    """Every party restricted by listing, or by 50%-or-more aggregate ownership by restricted ones.

    Args:
        graph: the ownership graph.
        listed: listed party id -> the list it is on.

    Returns:
        party id -> the restriction and its path. A worklist fixpoint: a party's restricted share
        only grows, so cycles terminate.
    """
    out: dict[PartyId, Restriction] = {
        p: Restriction(p, p, lid, (), 100.0) for p, lid in sorted(listed.items())
    }
    work = sorted(listed)
    while work:
        owner = work.pop(0)
        for asset in sorted(graph._assets.get(owner, {})):
            if asset in out:
                continue
            held = sorted(
                ((o, pct or 0.0) for o, pct in graph._owners.get(asset, {}).items() if o in out),
                key=lambda t: (-t[1], t[0]),
            )
            share = sum(p for _, p in held)
            if share < CONTROL_SHARE:
                continue
            top, top_pct = held[0]
            via = out[top]
            out[asset] = Restriction(
                party_id=asset,
                listed_party_id=via.listed_party_id,
                list_id=via.list_id,
                path=(*via.path, PathStep(top, asset, top_pct)),
                restricted_share=round(min(share, 100.0), 6),
                owners=tuple(held),
            )
            work.append(asset)
    return out


def flag_control(
    graph: OwnershipGraph, restricted: Mapping[PartyId, Restriction], parties: Iterable[PartyId]
) -> list[ControlFlag]:
    """Control through directorships: a restricted director on the board of one of ``parties``."""
    flags = []
    for p in sorted(set(parties)):
        for d in graph.directors_of(p):
            r = restricted.get(d.director_id)
            if r is not None:
                flags.append(ControlFlag(p, d.director_id, d.role, r.list_id))
    return flags
