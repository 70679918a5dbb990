"""The graded rules: every detector's signals combined per subject, alerted over the threshold.

No I/O. Detectors: ``rules/baseline.py`` (each chip's location behaviour), ``rules/holdings.py``
(control beyond 50%), ``rules/buyers.py`` (volume per resolved buyer). Combination and the
threshold: ``rules/risk.py``. One rule per channel emits the subjects whose strongest signal is
that channel's, so every alert appears once.
"""

from __future__ import annotations

from chiptrail.rules.baseline import location_signals
from chiptrail.rules.buyers import buyer_volume_signals
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Finding
from chiptrail.rules.holdings import holdings_signals
from chiptrail.rules.risk import (
    ALERT_THRESHOLD_NATS,
    Signal,
    SubjectRisk,
    combine_signals,
    risk_findings,
)


def all_signals(ctx: RuleContext) -> list[Signal]:
    """Every graded signal of the view."""
    return location_signals(ctx) + holdings_signals(ctx) + buyer_volume_signals(ctx)


def assess_risks(ctx: RuleContext) -> list[SubjectRisk]:
    """Every subject's combined risk, highest first."""
    return combine_signals(all_signals(ctx))


def find_location_risk(ctx: RuleContext) -> list[Finding]:
    """A chip's own location behaviour adds up to the alert threshold.

    Graded evidence from ``rules/baseline.py``: its round-trip times rose above its own minimum at
    its site more than its site's other chips did (a relay adds its distance at the first round),
    and rounds it missed or failed to verify inside a sliding 10-day window, more so when chips of
    the same site missed the same rounds (a server carried away). Each piece's weight (nats) and
    the fix or ledger leaf behind it are listed; the threshold comes from a false-alarm budget.
    """
    return risk_findings(ctx.risks, "location-risk", "hand_carry", ALERT_THRESHOLD_NATS)


def find_control_risk(ctx: RuleContext) -> list[Finding]:
    """A buyer or tenant is partly held by, or shares identifiers with, listed parties.

    Graded evidence from ``rules/holdings.py``: the share listed parties hold through every chain
    (a 45% stake counts; 25% alone reaches the alert threshold), and a shared director, address,
    phone, e-mail domain or bank account with a listed party, weighted by kind.
    """
    return risk_findings(ctx.risks, "control-risk", "front_network", ALERT_THRESHOLD_NATS)


def find_concern_rental_risk(ctx: RuleContext) -> list[Finding]:
    """Tenants controlled from countries of concern, counted together, rent near the limit.

    Owners headquartered in (or controlled from) a country of concern are added up, so three
    China-based parents at 34/33/33% control their joint tenant; the group's chip-hours over the
    rental window count as (usage / limit)^2 of the weight at the limit.
    """
    return risk_findings(ctx.risks, "concern-rental-risk", "cloud_rental", ALERT_THRESHOLD_NATS)


def find_buyer_volume_risk(ctx: RuleContext) -> list[Finding]:
    """A resolved buyer's licence-free orders approach the limit over a year.

    Buyers sharing identifiers, delivery sites or an ultimate parent are one buyer; volume counts
    over the calendar year and over rolling 365 days, so spacing or splitting orders does not
    reset it; (volume / limit)^2 of the weight at the limit.
    """
    return risk_findings(ctx.risks, "buyer-volume-risk", "split_orders", ALERT_THRESHOLD_NATS)
