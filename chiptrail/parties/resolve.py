"""Buyers resolved into real-world buyers: differently named parties that are one purchaser.

No I/O: callers pass the parties' shared identifiers (``parties.control.shared_identifier_links``),
delivery sites and payment accounts as plain values. Two buyers are one resolved buyer when they
share an identifier of a kind in ``RESOLVING_KINDS``, a delivery site, a payment account, or an
ultimate parent; resolution is transitive (union-find), and each resolved buyer is named by its
smallest member id so the result does not depend on input order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

RESOLVING_KINDS = frozenset({"bank_account", "director", "phone", "email_domain", "address"})
"""Identifier kinds that make two buyers one. Cheapest evasion: shells with nothing in common
(own officers, addresses, phones, banks, delivery sites and parents); each costs a real company."""


@dataclass(frozen=True, slots=True)
class Tie:
    """Why two buyers were merged: ``kind`` (an identifier kind, ``site``, ``payment_account`` or
    ``parent``) and the shared ``value``."""

    a: str
    b: str
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class ResolvedBuyer:
    """A real-world buyer: its member parties and the ties that joined them."""

    buyer_id: str
    members: tuple[str, ...]
    ties: tuple[Tie, ...]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def resolve_buyers(
    buyers: Iterable[str],
    ties: Iterable[Tie],
    parents: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, ResolvedBuyer]:
    """Group ``buyers`` into resolved buyers.

    Args:
        buyers: every buyer party id.
        ties: pairwise ties (shared identifiers, sites, payment accounts); ties naming a party
            that is not a buyer still join buyers through it (a shared director's other firm).
        parents: each buyer's ultimate parents; buyers with a common ultimate parent are one.

    Returns:
        Each buyer's resolved buyer (the same object for every member).
    """
    uf = _UnionFind()
    all_ties = list(ties)
    by_parent: dict[str, list[str]] = defaultdict(list)
    for b in buyers:
        uf.find(b)
        for p in (parents or {}).get(b, ()):
            if p != b:
                by_parent[p].append(b)
    for p, members in by_parent.items():
        all_ties += [Tie(members[0], m, "parent", p) for m in members[1:]]
    for t in all_ties:
        uf.union(t.a, t.b)
    groups: dict[str, list[str]] = defaultdict(list)
    for b in {*uf.parent}:
        groups[uf.find(b)].append(b)
    out: dict[str, ResolvedBuyer] = {}
    for root, members in groups.items():
        member_set = set(members)
        rb = ResolvedBuyer(
            root,
            tuple(sorted(members)),
            tuple(t for t in all_ties if t.a in member_set),
        )
        for m in members:
            out[m] = rb
    return out


def site_ties(deliveries: Iterable[tuple[str, str]]) -> list[Tie]:
    """Ties between buyers whose orders go to the same delivery site, from (buyer, site) pairs."""
    by_site: dict[str, set[str]] = defaultdict(set)
    for buyer, site in deliveries:
        by_site[site].add(buyer)
    out = []
    for site, members in sorted(by_site.items()):
        ordered = sorted(members)
        out += [Tie(ordered[0], m, "site", site) for m in ordered[1:]]
    return out
