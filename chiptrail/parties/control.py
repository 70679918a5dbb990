"""Control beyond the 50% rule: country-of-concern aggregation, listed stakes, shared identifiers.

No I/O: ownership edges, party countries and identifiers come in as plain values; the rules
(``rules/holdings.py``) turn the results into graded evidence. The 50%-or-more rule itself stays in
``parties/graph.py``.

- **Country of concern.** A party counts as concern-controlled when it is headquartered in a country
  of concern, or when owners that count as concern-controlled hold 50% or more of it together
  (three China-based parents at 34/33/33% make one China-controlled holding).
- **Listed exposure.** The share of a party that listed parties hold, looked through every chain
  (a 45% stake of a listed firm is 0.45; 60% of a holding that is 50% listed adds 0.30).
- **Shared identifiers.** Parties that share a director (FtM ``Directorship``), a registered address
  (FtM ``Address``), a phone number, an e-mail domain or a bank account are linked, each kind with a
  documented weight (``LINK_WEIGHTS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LINK_WEIGHTS: Mapping[str, float] = {
    "bank_account": 1.0,
    "director": 0.8,
    "phone": 0.6,
    "email_domain": 0.5,
    "address": 0.4,
}
"""Share of a linked party's risk that one shared identifier carries over, by kind.

A bank account is operated by one real-world payer (1.0). A director (FtM ``Directorship``) is one
person steering both firms, though nominee directors sit on many boards (0.8). A phone number or an
e-mail domain is rarely shared by unrelated firms, but service offices share switchboards (0.6,
0.5). A registered address (FtM ``Address``) is shared by every tenant of a business centre
(0.4)."""


@dataclass(frozen=True, slots=True)
class Stake:
    """``owner`` holds ``share`` (0..1) of ``owned``."""

    owner: str
    owned: str
    share: float


@dataclass(frozen=True, slots=True)
class ConcernControl:
    """How much of ``party`` owners that count as concern-controlled hold, and who they are."""

    party: str
    share: float
    holders: tuple[str, ...]

    @property
    def is_controlled(self) -> bool:
        """50% or more held by concern-controlled owners."""
        return self.share >= 0.5 - 1e-9


def _owners(stakes: Iterable[Stake]) -> dict[str, list[Stake]]:
    out: dict[str, list[Stake]] = defaultdict(list)
    for s in stakes:
        out[s.owned].append(s)
    return out


def concern_control(
    stakes: Iterable[Stake], countries: Mapping[str, str], concern: frozenset[str]
) -> dict[str, ConcernControl]:
    """Each owned party's aggregated share held by concern-controlled owners.

    Args:
        stakes: ownership edges (shares 0..1).
        countries: each party's headquarters country (ISO2).
        concern: the countries of concern.

    Returns:
        One entry per party that has owners or is headquartered in a country of concern; a party
        headquartered in a country of concern has share 1.0. Cycles terminate (a party on the
        current path counts as not concern-controlled).
    """
    owners = _owners(stakes)
    memo: dict[str, ConcernControl] = {}

    def visit(party: str, path: frozenset[str]) -> ConcernControl:
        if party in memo:
            return memo[party]
        if countries.get(party, "") in concern:
            result = ConcernControl(party, 1.0, (party,))
        else:
            share, holders = 0.0, []
            for s in owners.get(party, []):
                if s.owner in path:
                    continue
                if visit(s.owner, path | {party}).is_controlled:
                    share += s.share
                    holders.append(s.owner)
            result = ConcernControl(party, min(1.0, share), tuple(sorted(holders)))
        if not path:
            memo[party] = result
        return result

    parties = set(owners) | {p for p, c in countries.items() if c in concern}
    return {p: visit(p, frozenset()) for p in sorted(parties)}


def listed_exposure(stakes: Iterable[Stake], listed: Iterable[str]) -> dict[str, float]:
    """Share (0..1) of each party that listed parties hold, looked through every chain.

    A listed party is 1.0 of itself. Shares multiply along a chain and add over owners; cycles
    terminate (an owner on the current path adds nothing).
    """
    owners = _owners(stakes)
    listed_set = set(listed)
    memo: dict[str, float] = {}

    def visit(party: str, path: frozenset[str]) -> float:
        if party in listed_set:
            return 1.0
        if party in memo:
            return memo[party]
        total = 0.0
        for s in owners.get(party, []):
            if s.owner not in path:
                total += s.share * visit(s.owner, path | {party})
        total = min(1.0, total)
        if not path:
            memo[party] = total
        return total

    return {p: v for p in sorted(set(owners) | listed_set) if (v := visit(p, frozenset())) > 0}


@dataclass(frozen=True, slots=True)
class Link:
    """``a`` and ``b`` share the identifier ``value`` of ``kind``."""

    a: str
    b: str
    kind: str
    value: str

    @property
    def weight(self) -> float:
        """``LINK_WEIGHTS`` of the kind (0 for unknown kinds)."""
        return LINK_WEIGHTS.get(self.kind, 0.0)


def normalise_identifier(kind: str, value: str) -> str:
    """Case, spaces and punctuation folded so that writings of one identifier compare equal."""
    v = value.strip().lower()
    if kind in {"phone", "bank_account"}:
        return "".join(ch for ch in v if ch.isalnum())
    if kind == "email_domain":
        return v.rsplit("@", 1)[-1]
    return " ".join("".join(ch if ch.isalnum() else " " for ch in v).split())


def shared_identifier_links(identifiers: Iterable[tuple[str, str, str]]) -> list[Link]:
    """Every pair of parties sharing an identifier, from ``(party, kind, value)`` triples.

    An identifier shared by more than 25 parties (a registered-agent address, a big bank's SWIFT
    code) links nobody: it says nothing about control.
    """
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for party, kind, value in identifiers:
        norm = normalise_identifier(kind, value)
        if norm:
            holders[(kind, norm)].add(party)
    out = []
    for (kind, value), parties in sorted(holders.items()):
        if len(parties) > 25:
            continue
        ordered = sorted(parties)
        out += [Link(a, b, kind, value) for i, a in enumerate(ordered) for b in ordered[i + 1 :]]
    return out


def propagate_link_risk(
    links: Iterable[Link], seeds: Mapping[str, float]
) -> dict[str, tuple[float, tuple[Link, ...]]]:
    """Risk (0..1) reaching each party from ``seeds`` over one shared-identifier hop.

    Several identifiers shared with the same risky party combine as independent evidence:
    1 - prod(1 - weight). Returns, per party that received risk, the risk and the links behind it.
    """
    by_pair: dict[tuple[str, str], list[Link]] = defaultdict(list)
    for link in links:
        for x, y in ((link.a, link.b), (link.b, link.a)):
            if y in seeds and x not in seeds:
                by_pair[(x, y)].append(link)
    out: dict[str, tuple[float, tuple[Link, ...]]] = {}
    for (party, seed), items in sorted(by_pair.items()):
        keep = 1.0
        for link in items:
            keep *= 1.0 - link.weight
        risk = seeds[seed] * (1.0 - keep)
        old = out.get(party)
        if old is None or risk > old[0]:
            out[party] = (risk, tuple(items))
    return out
