"""The versioned export-control rule table: thresholds, country groups and licence rules as data.

A rule change is a data change: ``data/rules_<date>.json`` holds the 3A090 thresholds, the EAR
country groups and an ordered list of licence rules (first match wins). No I/O beyond reading
that immutable package file; ``parse_rule_table`` takes text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

from chiptrail.errors import InvalidInput
from chiptrail.types import Country

DEFAULT_RULES_RESOURCE = "data/rules_2026-01-15.json"

DECISIONS = ("license-required", "license-exception", "no-license-required")

#: Condition keys a rule's ``when`` may use; see ``Facts`` for what each is compared with.
CONDITION_KEYS = frozenset(
    {
        "eccn_in",
        "designed_for_datacenter",
        "destination_in",
        "destination_in_groups",
        "destination_not_in_groups",
        "end_user_listed",
        "headquarters_in_groups",
        "item_tpp_below",
        "total_tpp_below",
        "memory_bandwidth_gbps_below",
    }
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The numbers of ECCN 3A090 (15 CFR part 774, Supplement No. 1)."""

    citation: str
    a1_tpp_min: float
    a2_tpp_min: float
    a2_pd_min: float
    b1_tpp_min: float
    b1_tpp_below: float
    b1_pd_min: float
    b_pd_below: float
    b2_tpp_min: float
    b2_pd_min: float
    non_datacenter_tpp_below: float
    hbm_bandwidth_density_above_gbps_per_mm2: float
    hbm_exception_below_gbps_per_mm2: float
    reference_model: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule decides, with the paragraphs that decide it."""

    decision: str
    citations: tuple[str, ...]
    explanation: str
    review_policy: str = ""
    license_exception: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: conditions (all must hold) and the outcome."""

    rule_id: str
    when: Mapping[str, object]
    then: Outcome


@dataclass(frozen=True, slots=True)
class Facts:
    """What a licence question is judged on."""

    eccn: str
    designed_for_datacenter: bool
    destination: Country
    destination_groups: frozenset[str]
    end_user_listed: bool
    headquarters_groups: frozenset[str]
    item_tpp: float
    total_tpp: float
    memory_bandwidth_gbps: float | None


@dataclass(frozen=True, slots=True)
class RuleTable:
    """A whole rule table, as of ``rules_as_of``."""

    rules_as_of: date
    title: str
    sources: Mapping[str, str]
    thresholds: Thresholds
    country_groups: Mapping[str, frozenset[str]]
    treated_as: Mapping[str, str]
    rules: tuple[Rule, ...]

    def groups_of(self, country: str) -> frozenset[str]:
        """Country groups (``A:5 A:6 D:1 D:4 D:5 E:1 E:2 Macau``) that ``country`` belongs to.

        Hong Kong and other ``treated_as`` destinations take the groups of the country they are
        treated as.
        """
        code = self.treated_as.get(country, country)
        return frozenset(g for g, members in self.country_groups.items() if code in members)

    def first_match(self, facts: Facts) -> Rule:
        """The first rule whose conditions all hold (the table ends with a catch-all)."""
        for rule in self.rules:
            if matches(rule.when, facts):
                return rule
        raise InvalidInput(
            "rules: no rule matched; the table must end with a catch-all rule",
            {"field": "rules"},
        )


def _below(limit: object, value: float | None) -> bool:
    return value is not None and isinstance(limit, int | float) and value < limit


def matches(when: Mapping[str, object], facts: Facts) -> bool:
    """True when every condition of ``when`` holds for ``facts``."""
    checks = {
        "eccn_in": lambda v: isinstance(v, list) and facts.eccn in v,
        "designed_for_datacenter": lambda v: facts.designed_for_datacenter is v,
        "destination_in": lambda v: isinstance(v, list) and facts.destination in v,
        "destination_in_groups": lambda v: (
            isinstance(v, list) and bool(facts.destination_groups & set(v))
        ),
        "destination_not_in_groups": lambda v: (
            isinstance(v, list) and not facts.destination_groups & set(v)
        ),
        "end_user_listed": lambda v: facts.end_user_listed is v,
        "headquarters_in_groups": lambda v: (
            isinstance(v, list) and bool(facts.headquarters_groups & set(v))
        ),
        "item_tpp_below": lambda v: _below(v, facts.item_tpp),
        "total_tpp_below": lambda v: _below(v, facts.total_tpp),
        "memory_bandwidth_gbps_below": lambda v: _below(v, facts.memory_bandwidth_gbps),
    }
    return all(checks[key](value) for key, value in when.items())


def _rule(raw: Mapping[str, object]) -> Rule:
    rid = str(raw["id"])
    when = raw.get("when", {})
    then = raw["then"]
    if not isinstance(when, dict) or not isinstance(then, dict):
        raise InvalidInput(f"rules: {rid}: 'when' and 'then' must be objects", {"field": rid})
    unknown = set(when) - CONDITION_KEYS
    if unknown:
        raise InvalidInput(
            f"rules: {rid}: unknown condition(s) {sorted(unknown)}", {"field": f"{rid}.when"}
        )
    decision = str(then["decision"])
    if decision not in DECISIONS:
        raise InvalidInput(
            f"rules: {rid}: decision must be one of {DECISIONS}", {"field": f"{rid}.then"}
        )
    exception = then.get("license_exception")
    return Rule(
        rid,
        dict(when),
        Outcome(
            decision=decision,
            citations=tuple(str(c) for c in then.get("citations", [])),
            explanation=str(then.get("explanation", "")),
            review_policy=str(then.get("review_policy", "")),
            license_exception=None if exception is None else str(exception),
        ),
    )


def parse_rule_table(text: str) -> RuleTable:
    """Parse a rule table JSON document (the format of ``data/rules_2026-01-15.json``).

    Raises:
        InvalidInput: malformed JSON, a missing field, an unknown condition or decision.
    """
    try:
        doc = json.loads(text)
        cls = dict(doc["classification"])
        thresholds = Thresholds(
            citation=str(cls.pop("citation", "")),
            reference_model=str(cls.pop("reference_model")),
            **{k: float(v) for k, v in cls.items()},
        )
        table = RuleTable(
            rules_as_of=date.fromisoformat(str(doc["rules_as_of"])),
            title=str(doc.get("title", "")),
            sources={str(k): str(v) for k, v in doc.get("sources", {}).items()},
            thresholds=thresholds,
            country_groups={
                str(g): frozenset(str(c) for c in cs) for g, cs in doc["country_groups"].items()
            },
            treated_as={str(k): str(v) for k, v in doc.get("treated_as", {}).items()},
            rules=tuple(_rule(r) for r in doc["rules"]),
        )
    except InvalidInput:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"rules: malformed rule table ({exc})", {"field": "rules"}) from exc
    if not table.rules or table.rules[-1].when:
        raise InvalidInput(
            "rules: the last rule must be a catch-all (empty 'when')", {"field": "rules"}
        )
    return table


@lru_cache(maxsize=1)
def load_rule_table() -> RuleTable:
    """The built-in rule table shipped as package data (parsed once)."""
    text = resources.files("chiptrail.hardware").joinpath(DEFAULT_RULES_RESOURCE).read_text("utf-8")
    return parse_rule_table(text)
