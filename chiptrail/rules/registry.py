"""The catalogue of rules: stable id, channel and the pure function behind each.

No I/O. A rule's docstring is its user-facing description (``chiptrail rules list``,
``GET /v1/rules``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from chiptrail.errors import NotFound
from chiptrail.rules import (
    capacity,
    cloud,
    consignee,
    custody,
    enduse,
    graded,
    informed,
    location,
    payments,
    repair,
    structuring,
    unverifiable,
    volume,
)
from chiptrail.rules.context import RuleContext
from chiptrail.rules.finding import Finding

CHANNELS = (
    "hand_carry",
    "transshipment",
    "cloud_rental",
    "split_orders",
    "front_network",
    "volume_gap",
    "repair",
)
"""The smuggling channels of DESIGN.md, in its table's order."""

RuleFn = Callable[[RuleContext], list[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule."""

    rule_id: str
    channel: str
    fn: RuleFn

    @property
    def title(self) -> str:
        """The first line of the docstring."""
        return self.description.split("\n", 1)[0]

    @property
    def description(self) -> str:
        """The rule function's docstring, dedented (empty when missing)."""
        return inspect.cleandoc(self.fn.__doc__ or "")

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-ready dict."""
        return {
            "rule": self.rule_id,
            "channel": self.channel,
            "title": self.title,
            "description": self.description,
        }


RULES: tuple[Rule, ...] = (
    Rule("location-violation", "hand_carry", location.find_location_violations),
    Rule("location-suspect", "hand_carry", location.find_suspect_streaks),
    Rule("chip-gone-dark", "hand_carry", location.find_chips_gone_dark),
    Rule("landmark-needed", "hand_carry", unverifiable.find_landmark_needed),
    Rule("impossible-travel", "hand_carry", location.find_impossible_travel),
    Rule("shipped-never-received", "transshipment", custody.find_shipped_never_received),
    Rule("received-never-installed", "transshipment", custody.find_received_never_installed),
    Rule("install-off-licence", "transshipment", custody.find_install_off_licence),
    Rule("hub-reexport", "transshipment", custody.find_hub_reexport),
    Rule("custody-contradiction", "transshipment", custody.find_custody_contradictions),
    Rule("consignee-new-or-shell", "transshipment", consignee.find_new_or_shell_buyers),
    Rule("consignee-capacity", "transshipment", consignee.find_capacity_mismatch),
    Rule("capacity-imports", "transshipment", capacity.find_capacity_imports),
    Rule("third-country-routing", "transshipment", consignee.find_third_country_routing),
    Rule("end-use-contradiction", "transshipment", enduse.find_end_use_contradictions),
    Rule("payment-from-concern", "transshipment", payments.find_concern_payments),
    Rule("restricted-party", "front_network", consignee.find_restricted_parties),
    Rule("is-informed-export", "front_network", informed.find_is_informed_exports),
    Rule("split-orders", "split_orders", structuring.find_split_orders),
    Rule("cloud-rental-concern", "cloud_rental", cloud.find_cloud_rental_concern),
    Rule("end-use-rental", "cloud_rental", enduse.find_end_use_rentals),
    Rule("volume-gap", "volume_gap", volume.find_volume_gaps),
    Rule("repair-restricted-region", "repair", repair.find_restricted_repairs),
    Rule("repair-custody-mismatch", "repair", repair.find_repair_custody_mismatch),
    Rule("location-risk", "hand_carry", graded.find_location_risk),
    Rule("control-risk", "front_network", graded.find_control_risk),
    Rule("concern-rental-risk", "cloud_rental", graded.find_concern_rental_risk),
    Rule("buyer-volume-risk", "split_orders", graded.find_buyer_volume_risk),
)


GRADED_RULE_IDS = frozenset(
    {"location-risk", "control-risk", "concern-rental-risk", "buyer-volume-risk"}
)
"""The graded rules (``rules/graded.py``); ``evaluate`` also scores the rules without them."""


def get_rule(rule_id: str) -> Rule:
    """The rule with id ``rule_id``.

    Raises:
        NotFound: no such rule; the message lists the known ids.
    """
    for rule in RULES:
        if rule.rule_id == rule_id:
            return rule
    known = ", ".join(r.rule_id for r in RULES)
    raise NotFound(f"no rule {rule_id!r}; known rules: {known}", {"rule": rule_id})
