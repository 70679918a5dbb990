"""Split orders (channel ``split_orders``): licence-free orders summed over affiliated buyers.

No I/O: orders and the ownership graph come in the view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chiptrail.rules.consignee import order_evidence
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Evidence, EvidenceKind, Finding, SubjectKind
from chiptrail.rules.view import Order
from chiptrail.types import PartyId, Severity


def _size(order: Order) -> float:
    return order.h100_equivalents if order.h100_equivalents is not None else float(order.quantity)


def find_split_orders(ctx: RuleContext) -> list[Finding]:
    """Licence-free orders, each under the threshold, add up over it for one ultimate parent.

    Orders without a licence are grouped by the buyer's ultimate parents (50%-or-more control) and
    summed over a sliding window of ``structuring_window_days``; two or more orders that together
    reach ``order_threshold_chips`` (H100-equivalents when known) are structuring.
    """
    threshold = ctx.config.order_threshold_chips
    window = timedelta(days=ctx.config.structuring_window_days)
    groups: dict[PartyId, list[Order]] = defaultdict(list)
    for order in ctx.view.orders:
        if order.licence_id is None and _size(order) < threshold:
            for parent in ctx.ultimate_parents(order.buyer):
                groups[parent].append(order)
    out = []
    for parent, orders in sorted(groups.items()):
        orders.sort(key=lambda o: (o.ordered_at, o.order_id))
        start, total, hit = 0, 0.0, None
        for end, order in enumerate(orders):
            total += _size(order)
            while order.ordered_at - orders[start].ordered_at > window:
                total -= _size(orders[start])
                start += 1
            if total >= threshold and end > start:
                hit = orders[start : end + 1]
                break
        if hit is None:
            continue
        buyers = sorted({o.buyer for o in hit})
        evidence = [order_evidence(o) for o in hit[:6]] + [
            Evidence(EvidenceKind.PARTY_EDGE, p.ref, p.describe())
            for b in buyers
            for p in ctx.control_paths(b)
            if p.parent == parent
        ]
        out.append(
            Finding(
                rule="split-orders",
                channel="split_orders",
                severity=Severity.HIGH,
                subject=parent,
                subject_kind=SubjectKind.PARTY,
                detected_at=hit[-1].ordered_at,
                explanation=(
                    f"{len(hit)} licence-free orders by {len(buyers)} buyer(s) under "
                    f"{ctx.party_label(parent)} total {sum(_size(o) for o in hit):g} within "
                    f"{ctx.config.structuring_window_days:g} days, reaching the {threshold} "
                    f"threshold that each order stays under."
                ),
                evidence=tuple(evidence),
            )
        )
    return out
