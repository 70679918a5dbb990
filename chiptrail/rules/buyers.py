"""Volume per resolved buyer: licence-free orders of one real-world buyer over a year.

No I/O: orders, identifiers and the ownership graph come in the ``RuleContext``; buyers are
resolved by ``chiptrail.parties.resolve`` (shared identifiers, delivery sites, ultimate parents).
Payment accounts are not in the view yet (orders carry only the paying country), so they do not
resolve buyers here; ``parties.resolve`` takes them as ties once orders carry them.

``buyer-volume`` (split_orders): licence-free H100-equivalents of a resolved buyer summed over the
calendar year (the period the licence exception counts) and over rolling 365 days, whichever is
larger; nats = ``NATS_AT_LIMIT`` x (volume / limit)^2, so 45% of the limit adds 1.8 nats and the
limit alone alerts. Spacing orders 100 days apart or spreading them over shells that share an
officer, an address, a site or a parent does not reset it. Cheapest evasion: stay under about 87%
of the limit per resolved buyer per 365 days, or use shells with nothing in common.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chiptrail.parties.control import shared_identifier_links
from chiptrail.parties.resolve import RESOLVING_KINDS, Tie, resolve_buyers, site_ties
from chiptrail.rules.consignee import order_evidence
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import SubjectKind
from chiptrail.rules.holdings import NATS_AT_LIMIT
from chiptrail.rules.risk import Signal
from chiptrail.rules.view import Order

YEAR = timedelta(days=365)


def _size(order: Order) -> float:
    return order.h100_equivalents if order.h100_equivalents is not None else float(order.quantity)


def buyer_ties(ctx: RuleContext) -> list[Tie]:
    """Ties between buyers: shared identifiers of resolving kinds and shared delivery sites."""
    links = shared_identifier_links(
        (i.party_id, i.kind, i.value) for i in ctx.view.identifiers if i.kind in RESOLVING_KINDS
    )
    ties = [Tie(link.a, link.b, link.kind, link.value) for link in links]
    return ties + site_ties((o.buyer, o.site_id) for o in ctx.view.orders if o.site_id)


def buyer_volume_signals(ctx: RuleContext) -> list[Signal]:
    """``buyer-volume``: graded licence-free volume per resolved buyer (calendar year, 365 days)."""
    limit = float(ctx.config.order_threshold_chips)
    free = [o for o in ctx.view.orders if o.licence_id is None]
    buyers = sorted({o.buyer for o in free})
    parents: dict[str, tuple[str, ...]] = {b: ctx.ultimate_parents(b) for b in buyers}
    resolved = resolve_buyers(buyers, buyer_ties(ctx), parents)
    groups: dict[str, list[Order]] = defaultdict(list)
    for o in free:
        groups[resolved[o.buyer].buyer_id].append(o)
    out = []
    for key, orders in sorted(groups.items()):
        rb = resolved[orders[0].buyer]
        common = set.intersection(*(set(parents.get(m, (m,))) for m in rb.members if m in parents))
        subject = min(common) if common else key
        orders.sort(key=lambda o: (o.ordered_at, o.order_id))
        best = 0.0
        for i, order in enumerate(orders):
            rolling = [o for o in orders[: i + 1] if order.ordered_at - o.ordered_at < YEAR]
            year = [o for o in orders[: i + 1] if o.ordered_at.year == order.ordered_at.year]
            window, label = max(
                (rolling, "365 days"),
                (year, f"calendar {order.ordered_at.year}"),
                key=lambda w: sum(_size(o) for o in w[0]),
            )
            volume = sum(_size(o) for o in window)
            llr = min(30.0, NATS_AT_LIMIT * (volume / limit) ** 2)
            if llr <= best:
                continue
            best = llr
            names = sorted({o.buyer for o in window})
            out.append(
                Signal(
                    signal="buyer-volume",
                    channel="split_orders",
                    subject=subject,
                    subject_kind=SubjectKind.PARTY,
                    llr=llr,
                    at=order.ordered_at,
                    explanation=(
                        f"resolved buyer {subject} ({len(rb.members)} part(ies): "
                        f"{', '.join(names[:4])}) ordered {volume:g} licence-free chips "
                        f"(H100-equivalents) in {len(window)} order(s) over {label}: "
                        f"{volume / limit:.0%} of the {limit:g} limit"
                        + (
                            f"; joined by {', '.join(sorted({t.kind for t in rb.ties}))}"
                            if rb.ties
                            else ""
                        )
                    ),
                    evidence=tuple(order_evidence(o) for o in window[-3:]),
                )
            )
    return out
