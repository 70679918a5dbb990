"""Consignee red flags from BIS guidance (channels ``transshipment`` and ``front_network``).

No I/O: parties, orders, sites and screening hits come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.location import ledger_evidence
from chiptrail.rules.view import AddressKind, CustodyEvent, Order, Role, ScreeningHit
from chiptrail.types import PartyId, Severity


def order_evidence(order: Order) -> Evidence:
    """The evidence record of one order."""
    via = f", via {'/'.join(order.ship_via)}" if order.ship_via else ""
    pay = f", paid from {order.payment_country}" if order.payment_country else ""
    lic = order.licence_id or "no licence"
    return Evidence(
        EvidenceKind.ORDER,
        f"order:{order.order_id}",
        f"{order.ordered_at:%Y-%m-%d} {order.quantity} chips to {order.buyer} "
        f"({lic}; site {order.site_id or '-'}{pay}{via})",
    )


def _orders_by_buyer(orders: tuple[Order, ...]) -> dict[PartyId, list[Order]]:
    out: dict[PartyId, list[Order]] = defaultdict(list)
    for order in sorted(orders, key=lambda o: (o.ordered_at, o.order_id)):
        out[order.buyer].append(order)
    return dict(out)


def find_new_or_shell_buyers(ctx: RuleContext) -> list[Finding]:
    """A buyer of accelerators was incorporated only shortly before ordering, or is a shell.

    BIS red flags: a customer with little or no business history (incorporated within
    ``new_buyer_days`` of its first order) or registered at a virtual or residential address.
    Both together raise the severity.
    """
    recent = timedelta(days=ctx.config.new_buyer_days)
    out = []
    for buyer, orders in _orders_by_buyer(ctx.view.orders).items():
        party = ctx.view.parties.get(buyer)
        if party is None:
            continue
        first = orders[0]
        reasons = []
        if party.incorporated_at is not None and first.ordered_at - party.incorporated_at < recent:
            age = (first.ordered_at - party.incorporated_at).days
            reasons.append(f"incorporated {age} days before its first order")
        if party.address_kind is not AddressKind.OFFICE:
            reasons.append(f"registered at a {party.address_kind.value} address")
        if not reasons:
            continue
        out.append(
            Finding(
                rule="consignee-new-or-shell",
                channel="transshipment",
                severity=Severity.HIGH if len(reasons) > 1 else Severity.MEDIUM,
                subject=buyer,
                subject_kind=SubjectKind.PARTY,
                detected_at=first.ordered_at,
                explanation=f"buyer {ctx.party_label(buyer)} is {' and '.join(reasons)}.",
                evidence=tuple(order_evidence(o) for o in orders[:3]),
            )
        )
    return out


def find_capacity_mismatch(ctx: RuleContext) -> list[Finding]:
    """The data center declared for an order cannot host the chips ordered for it.

    BIS red flag: the declared end-use site lacks the power and space for the order. Chips ordered
    to a site (all orders together) must not exceed its declared capacity.
    """
    by_site: dict[str, list[Order]] = defaultdict(list)
    for order in ctx.view.orders:
        if order.site_id:
            by_site[order.site_id].append(order)
    out = []
    for site_id, orders in sorted(by_site.items()):
        site = ctx.view.sites.get(site_id)
        total = sum(o.quantity for o in orders)
        if site is not None and total <= site.capacity_chips:
            continue
        capacity = site.capacity_chips if site else 0
        orders.sort(key=lambda o: o.ordered_at)
        for buyer in sorted({o.buyer for o in orders}):
            out.append(
                Finding(
                    rule="consignee-capacity",
                    channel="transshipment",
                    severity=Severity.MEDIUM,
                    subject=buyer,
                    subject_kind=SubjectKind.PARTY,
                    detected_at=orders[-1].ordered_at,
                    explanation=(
                        f"{total} chips were ordered to site {site_id}, which declares capacity "
                        f"for {capacity}{'' if site else ' (site not registered)'}."
                    ),
                    evidence=tuple(order_evidence(o) for o in orders[:3]),
                )
            )
    return out


def find_third_country_routing(ctx: RuleContext) -> list[Finding]:
    """An order is paid from, or shipped through, a country that is neither buyer's nor seller's.

    BIS red flag: payment or shipping routed through third countries with no business reason.
    """
    out = []
    for buyer, orders in _orders_by_buyer(ctx.view.orders).items():
        party = ctx.view.parties.get(buyer)
        if party is None:
            continue
        flagged = []
        for order in orders:
            seller = ctx.view.parties.get(order.seller)
            home = {party.country, seller.country if seller else party.country}
            odd = {c for c in (order.payment_country, *order.ship_via) if c} - home
            if odd:
                flagged.append((order, odd))
        if not flagged:
            continue
        countries = sorted(set().union(*(c for _, c in flagged)))
        out.append(
            Finding(
                rule="third-country-routing",
                channel="transshipment",
                severity=Severity.MEDIUM,
                subject=buyer,
                subject_kind=SubjectKind.PARTY,
                detected_at=flagged[0][0].ordered_at,
                explanation=(
                    f"{len(flagged)} order(s) of {ctx.party_label(buyer)} were paid or shipped "
                    f"through {', '.join(countries)}."
                ),
                evidence=tuple(order_evidence(o) for o, _ in flagged[:3]),
            )
        )
    return out


def _hit_evidence(hit: ScreeningHit) -> Evidence:
    return Evidence(
        EvidenceKind.SCREENING,
        f"screening:{hit.list_name}:{hit.listed_name}",
        f"{hit.party_id} matched '{hit.listed_name}' on {hit.list_name} "
        f"(score {hit.score:.2f}): {hit.explanation}",
    )


_RECEIVING_STEPS = frozenset({"receiving", "installing"})


def _custody_receipts(events: tuple[CustodyEvent, ...]) -> dict[PartyId, CustodyEvent]:
    """The first custody event (by time, then leaf) through which each party gets chips.

    A party gets chips when it records receiving or installing them, or when it is the
    destination of a shipment.
    """
    out: dict[PartyId, CustodyEvent] = {}
    for ev in sorted(events, key=lambda e: (e.at, e.leaf_index)):
        if ev.biz_step in _RECEIVING_STEPS:
            out.setdefault(ev.party_id, ev)
        if ev.biz_step == "shipping" and ev.destination_party is not None:
            out.setdefault(ev.destination_party, ev)
    return out


def _active_label(role: Role | None, ordered: bool, received: bool) -> str:
    if role is Role.TENANT or not (ordered or received):
        return "tenant"
    return "buyer" if ordered else "consignee"


def find_restricted_parties(ctx: RuleContext) -> list[Finding]:
    """A buyer, consignee or tenant is on a restricted list, or is controlled by a listed party.

    Buyers come from orders, tenants from cloud usage reports and consignees from the custody
    ledger (a party that records receiving or installing chips, or is a shipment's destination;
    the first such leaf is evidence). Screening matches (transliterated, fuzzy) come with their
    explanation; ownership follows the 50% rule of ``chiptrail.parties.graph`` (restricted
    owners' stakes added up, through any chain), so fronts owned by a listed firm are caught.
    """
    hits: dict[PartyId, list[ScreeningHit]] = defaultdict(list)
    for hit in ctx.view.screening_hits:
        hits[hit.party_id].append(hit)
    restricted = ctx.restrictions({p: h[0].list_name for p, h in hits.items()})
    receipts = _custody_receipts(ctx.view.events)
    buyers = {o.buyer for o in ctx.view.orders}
    active = buyers | {u.tenant for u in ctx.view.usage} | set(receipts)
    first_at = {o.buyer: o.ordered_at for o in sorted(ctx.view.orders, key=lambda o: o.ordered_at)}
    out = []
    for party in sorted(active):
        why = restricted.get(party)
        if why is None:
            continue
        party_hits = hits[why.listed_party_id]
        evidence = [_hit_evidence(h) for h in party_hits[:2]]
        how = "is matched on a restricted list"
        if why.listed_party_id != party:
            how = (
                f"is {why.restricted_share:g}% owned by restricted parties, through listed "
                f"party {ctx.party_label(why.listed_party_id)}"
            )
            chain = [party, *(s.owner_id for s in reversed(why.path))]
            evidence.append(
                Evidence(EvidenceKind.PARTY_EDGE, "path:" + ">".join(chain), why.explanation)
            )
        receipt = receipts.get(party)
        times = [t for t in (first_at.get(party), receipt.at if receipt else None) if t]
        got = ""
        if receipt is not None:
            evidence.append(ledger_evidence(receipt))
            got = f"; it got chips through ledger leaf {receipt.leaf_index}"
        role = ctx.view.parties.get(party)
        label = _active_label(role.role if role else None, party in buyers, receipt is not None)
        out.append(
            Finding(
                rule="restricted-party",
                channel="front_network",
                severity=Severity.CRITICAL,
                subject=party,
                subject_kind=SubjectKind.PARTY,
                detected_at=min(times) if times else ctx.view.now,
                explanation=(
                    f"{label} {ctx.party_label(party)} {how} ({party_hits[0].list_name}){got}."
                ),
                evidence=tuple(evidence),
            )
        )
    return out
