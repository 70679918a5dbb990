"""Graded control evidence: concern-controlled rentals, listed stakes, links to listed parties.

No I/O: ownership, usage, screening hits and identifiers come in the ``RuleContext``; the control
arithmetic is ``chiptrail.parties.control``'s; ``rules/risk.py`` combines the signals.

- ``concern-rental`` (cloud_rental): chip-hours of tenants that are concern-controlled (country
  of concern aggregation: 34/33/33 China-based parents are one China-controlled tenant), summed
  per ultimate parent over the rental window; nats = ``NATS_AT_LIMIT`` x (usage / limit)^2 x
  min(1, concern share / 50%). 45% of the limit adds 1.8 nats; the limit itself alerts.
  Cheapest evasion: stay under about 87% of the rental limit per controlling group, or keep the
  concern-held share under 50% (and then the usage limit scales up by 50% / share).
- ``listed-stake`` (front_network): the looked-through share listed parties hold; nats =
  ``NATS_AT_LIMIT`` x share / 25% (capped at twice that). 25% is the beneficial-ownership line
  of FATF and EU AML rules; a 45% stake alerts alone. Cheapest evasion: a listed stake under
  about 19%, which gives the listed firm no control of the buyer.
- ``linked-to-listed`` (front_network): a shared director, address, phone, e-mail domain or bank
  account with a listed party, weighted by ``parties.control.LINK_WEIGHTS``; nats =
  ``NATS_AT_LIMIT`` x combined weight. A shared bank account or director alerts alone; a shared
  address (business centres) does not.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chiptrail.parties.control import (
    ConcernControl,
    Stake,
    concern_control,
    listed_exposure,
    propagate_link_risk,
    shared_identifier_links,
)
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, SubjectKind
from chiptrail.rules.risk import Signal
from chiptrail.rules.view import TenancyUsage
from chiptrail.types import PartyId

NATS_AT_LIMIT = 9.0
"""Weight of evidence exactly at a rule's limit (a likelihood ratio of about 8,000 : 1), above
the alert threshold so that reaching a limit alone still alerts."""
LISTED_STAKE_LINE = 0.25
"""Listed share that alone counts ``NATS_AT_LIMIT`` (the FATF/EU beneficial-ownership line)."""


def _stakes(ctx: RuleContext) -> list[Stake]:
    return [Stake(e.owner, e.owned, e.share) for e in ctx.view.ownership]


def _listed(ctx: RuleContext) -> dict[str, str]:
    return {h.party_id: f"{h.list_name}: {h.listed_name}" for h in ctx.view.screening_hits}


def holdings_signals(ctx: RuleContext) -> list[Signal]:
    """Every ``concern-rental``, ``listed-stake`` and ``linked-to-listed`` signal."""
    return concern_rental_signals(ctx) + listed_stake_signals(ctx) + linked_signals(ctx)


def concern_rental_signals(ctx: RuleContext) -> list[Signal]:
    """``concern-rental``: usage of concern-controlled tenants, per ultimate parent, graded."""
    cfg = ctx.config
    countries = {str(p): str(party.country) for p, party in ctx.view.parties.items()}
    control = concern_control(_stakes(ctx), countries, cfg.countries_of_concern)
    since = ctx.view.now - timedelta(days=cfg.rental_window_days)
    groups: dict[PartyId, list[TenancyUsage]] = defaultdict(list)
    for rec in ctx.view.usage:
        c = control.get(rec.tenant)
        if rec.end_at > since and c is not None and c.share > 0:
            for parent in ctx.ultimate_parents(rec.tenant):
                groups[parent].append(rec)
    out = []
    for parent, records in sorted(groups.items()):
        total = sum(r.chip_hours for r in records)
        share = max(control[r.tenant].share for r in records)
        ratio = total / cfg.rental_threshold_chip_hours
        llr = min(30.0, NATS_AT_LIMIT * ratio**2 * min(1.0, share / 0.5))
        if llr <= 0:
            continue
        tenants = sorted({r.tenant for r in records})
        holders = sorted({h for t in tenants for h in _concern_roots(control, t)})
        last = max(records, key=lambda r: r.end_at)
        for tenant in tenants:
            out.append(
                Signal(
                    signal="concern-rental",
                    channel="cloud_rental",
                    subject=tenant,
                    subject_kind=SubjectKind.PARTY,
                    llr=llr,
                    at=last.end_at,
                    explanation=(
                        f"{len(tenants)} tenant(s) under {ctx.party_label(parent)}, "
                        f"{share:.0%} held by owners headquartered in or controlled from "
                        f"countries of concern ({', '.join(holders)}), used {total:,.0f} "
                        f"chip-hours in {cfg.rental_window_days:g} days: {ratio:.0%} of the "
                        f"{cfg.rental_threshold_chip_hours:,.0f} limit"
                    ),
                    evidence=tuple(
                        Evidence(
                            EvidenceKind.USAGE,
                            f"usage:{r.record_id}",
                            f"{r.tenant} used {r.chip_hours:,.0f} chip-hours at {r.cloud}",
                        )
                        for r in records[:3]
                    )
                    + tuple(
                        Evidence(EvidenceKind.PARTY_EDGE, f"edge:{h}->{tenant}", f"{h} holds")
                        for h in holders[:3]
                    ),
                )
            )
    return out


def _concern_roots(control: dict[str, ConcernControl], party: str) -> set[str]:
    """The parties headquartered in a country of concern behind ``party``'s concern share."""
    out: set[str] = set()
    todo, seen = [party], set()
    while todo:
        p = todo.pop()
        if p in seen or p not in control:
            continue
        seen.add(p)
        c = control[p]
        if c.holders == (p,):
            out.add(p)
        todo += [h for h in c.holders if h != p]
    return out


def _first_activity(ctx: RuleContext) -> dict[str, object]:
    out: dict[str, object] = {}
    for o in sorted(ctx.view.orders, key=lambda o: o.ordered_at):
        out.setdefault(o.buyer, o.ordered_at)
    for u in ctx.view.usage:
        out.setdefault(u.tenant, u.end_at)
    return out


def listed_stake_signals(ctx: RuleContext) -> list[Signal]:
    """``listed-stake``: buyers and tenants partly held by listed parties (any share, graded)."""
    listed = _listed(ctx)
    exposure = listed_exposure(_stakes(ctx), listed)
    active = _first_activity(ctx)
    out = []
    for party, share in sorted(exposure.items()):
        if party in listed or party not in active:
            continue
        llr = min(2 * NATS_AT_LIMIT, NATS_AT_LIMIT * share / LISTED_STAKE_LINE)
        at = active[party]
        out.append(
            Signal(
                signal="listed-stake",
                channel="front_network",
                subject=party,
                subject_kind=SubjectKind.PARTY,
                llr=llr,
                at=at if isinstance(at, type(ctx.view.now)) else ctx.view.now,
                explanation=(
                    f"{ctx.party_label(PartyId(party))} is {share:.0%} held by listed parties "
                    f"(looked through every chain; {LISTED_STAKE_LINE:.0%} counts "
                    f"{NATS_AT_LIMIT:g} nats)"
                ),
                evidence=tuple(
                    Evidence(EvidenceKind.SCREENING, f"screening:{p}", f"{p} listed: {entry}")
                    for p, entry in sorted(listed.items())
                    if any(e.owner == p for e in ctx.view.ownership)
                )[:3],
            )
        )
    return out


def linked_signals(ctx: RuleContext) -> list[Signal]:
    """``linked-to-listed``: shared identifiers with a listed party, weighted by kind."""
    if not ctx.view.identifiers:
        return []
    listed = _listed(ctx)
    links = shared_identifier_links((i.party_id, i.kind, i.value) for i in ctx.view.identifiers)
    reached = propagate_link_risk(links, dict.fromkeys(listed, 1.0))
    active = _first_activity(ctx)
    out = []
    for party, (risk, via) in sorted(reached.items()):
        at = active.get(party, ctx.view.now)
        out.append(
            Signal(
                signal="linked-to-listed",
                channel="front_network",
                subject=party,
                subject_kind=SubjectKind.PARTY,
                llr=NATS_AT_LIMIT * risk,
                at=at if isinstance(at, type(ctx.view.now)) else ctx.view.now,
                explanation=(
                    f"{ctx.party_label(PartyId(party))} shares "
                    + ", ".join(
                        f"{link.kind} '{link.value}' (weight {link.weight:g})" for link in via
                    )
                    + " with a listed party"
                ),
                evidence=tuple(
                    Evidence(
                        EvidenceKind.PARTY_EDGE,
                        f"link:{link.a}~{link.b}:{link.kind}",
                        f"{link.a} and {link.b} share {link.kind} {link.value}",
                    )
                    for link in via[:3]
                ),
            )
        )
    return out
