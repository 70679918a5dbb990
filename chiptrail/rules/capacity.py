"""Capacity vs imports (channel ``transshipment``): chips the ledger places at a declared site,
and at every site of one ultimate parent, against the capacity the sites declare.

No I/O: custody events, declared sites and ownership edges come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.view import CustodyEvent, Site
from chiptrail.types import ChipId, PartyId, Severity

_AT_SITE = frozenset({"receiving", "installing"})


@dataclass(frozen=True, slots=True)
class SiteLoad:
    """The chips the ledger places at one declared site now, each with the event that put it
    there (the first receipt or install of its current stay)."""

    site: Site
    arrivals: tuple[tuple[ChipId, CustodyEvent], ...]

    @property
    def chips(self) -> int:
        """How many chips are at the site."""
        return len(self.arrivals)


def _arrival(events: list[CustodyEvent]) -> CustodyEvent | None:
    """The event that put the chip where its custody now ends, when that is a site."""
    last = events[-1]
    if last.biz_step not in _AT_SITE or not last.site_id:
        return None
    first = last
    for ev in reversed(events):
        if ev.biz_step in _AT_SITE and ev.site_id == last.site_id:
            first = ev
            continue
        break
    return first


def site_loads(ctx: RuleContext) -> dict[str, SiteLoad]:
    """Chips present at each declared site with a declared capacity (``capacity_chips > 0``).

    A chip is present where its last custody event received or installed it; a chip shipped on,
    out for repair or decommissioned is not. Sites that declare no capacity are left out.
    """
    found: dict[str, list[tuple[ChipId, CustodyEvent]]] = defaultdict(list)
    for chip, events in ctx.events_by_chip.items():
        ev = _arrival(events)
        if ev is not None and ev.site_id is not None:
            found[ev.site_id].append((chip, ev))
    out = {}
    for site_id, arrivals in found.items():
        site = ctx.view.sites.get(site_id)
        if site is not None and site.capacity_chips > 0:
            arrivals.sort(key=lambda a: (a[1].at, a[1].leaf_index, a[0]))
            out[site_id] = SiteLoad(site, tuple(arrivals))
    return out


def _overflow_at(loads: list[SiteLoad], capacity: int) -> datetime:
    """When the chips present (by arrival) first exceeded ``capacity``."""
    times = sorted(ev.at for load in loads for _, ev in load.arrivals)
    return times[min(capacity, len(times) - 1)]


def _evidence(loads: list[SiteLoad]) -> tuple[Evidence, ...]:
    summary = tuple(
        Evidence(
            EvidenceKind.AGGREGATE,
            f"site:{load.site.site_id}",
            f"{load.chips} chips at site {load.site.site_id} ({load.site.country}, operator "
            f"{load.site.operator}) declaring capacity for {load.site.capacity_chips}",
        )
        for load in loads
    )
    leaves: dict[int, CustodyEvent] = {}
    for load in loads:
        for _, ev in load.arrivals:
            leaves.setdefault(ev.leaf_index, ev)
    latest = sorted(leaves.values(), key=lambda e: (e.at, e.leaf_index))[-3:]
    return (*summary, *(ledger_evidence(e) for e in latest))


def _finding(subject: PartyId, loads: list[SiteLoad], explanation: str) -> Finding:
    capacity = sum(load.site.capacity_chips for load in loads)
    return Finding(
        rule="capacity-imports",
        channel="transshipment",
        severity=Severity.HIGH,
        subject=subject,
        subject_kind=SubjectKind.PARTY,
        detected_at=_overflow_at(loads, capacity),
        explanation=explanation,
        evidence=_evidence(loads),
    )


def find_capacity_imports(ctx: RuleContext) -> list[Finding]:
    """More chips arrived at a site, or at all sites of one ultimate parent, than they can host.

    Unlike ``consignee-capacity`` (what was *ordered* to a site), this counts what the custody
    ledger *delivered*: chips whose last custody event received or installed them at a declared
    site (shipped on, out for repair or decommissioned: no longer there). A site holding more
    chips than its declared ``capacity_chips`` is a finding on its operator; the chips at every
    site whose operator has the same ultimate parent (50%-or-more ownership, through any chain)
    are added up against the sites' summed capacity, a finding on the parent. Sites that declare
    no capacity are left out of both sums.
    """
    loads = site_loads(ctx)
    out = []
    for site_id, load in sorted(loads.items()):
        if load.chips > load.site.capacity_chips:
            out.append(
                _finding(
                    load.site.operator,
                    [load],
                    f"{load.chips} chips were delivered to site {site_id} of "
                    f"{ctx.party_label(load.site.operator)}, which declares capacity for "
                    f"{load.site.capacity_chips}.",
                )
            )
    groups: dict[PartyId, list[SiteLoad]] = defaultdict(list)
    for load in loads.values():
        for parent in ctx.ultimate_parents(load.site.operator):
            groups[parent].append(load)
    for parent, members in sorted(groups.items()):
        operators = {m.site.operator for m in members}
        if len(members) < 2 and operators == {parent}:
            continue  # one site of the parent itself: the site check above said it
        members.sort(key=lambda m: m.site.site_id)
        chips = sum(m.chips for m in members)
        capacity = sum(m.site.capacity_chips for m in members)
        if chips <= capacity:
            continue
        out.append(
            _finding(
                parent,
                members,
                f"{chips} chips were delivered to the {len(members)} site(s) of "
                f"{len(operators)} affiliate(s) controlled by {ctx.party_label(parent)}, which "
                f"together declare capacity for {capacity}.",
            )
        )
    return out
