"""Payments from a country of concern (channel ``transshipment``): evidence on the buyer.

No I/O: orders carry the payment country that the stored payments give them.
"""

from __future__ import annotations

from collections import defaultdict

from chiptrail.rules.consignee import order_evidence
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Finding, SubjectKind
from chiptrail.rules.view import Order
from chiptrail.types import PartyId, Severity


def find_concern_payments(ctx: RuleContext) -> list[Finding]:
    """A buyer's orders were paid from a country of concern.

    The payment country of an order comes from its stored payments (the payer's country, else the
    payer's registered country). Money from a country of concern behind an order delivered
    elsewhere is the BIS red flag of a front buying for a restricted end user. The cheapest
    evasion is to move the money into the buyer's own country first, which leaves a trail in the
    banks' records that a payment record from them shows again.
    """
    concern = ctx.config.countries_of_concern
    by_buyer: dict[PartyId, list[Order]] = defaultdict(list)
    for order in sorted(ctx.view.orders, key=lambda o: (o.ordered_at, o.order_id)):
        if order.payment_country in concern:
            by_buyer[order.buyer].append(order)
    out = []
    for buyer, orders in sorted(by_buyer.items()):
        countries = sorted({o.payment_country or "" for o in orders})
        out.append(
            Finding(
                rule="payment-from-concern",
                channel="transshipment",
                severity=Severity.HIGH,
                subject=buyer,
                subject_kind=SubjectKind.PARTY,
                detected_at=orders[0].ordered_at,
                explanation=(
                    f"{len(orders)} order(s) of {ctx.party_label(buyer)} "
                    f"({sum(o.quantity for o in orders)} chips) were paid from "
                    f"{', '.join(countries)}, a country of concern."
                ),
                evidence=tuple(order_evidence(o) for o in orders[:5]),
            )
        )
    return out
