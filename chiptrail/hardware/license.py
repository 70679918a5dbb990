"""Licence answers for (item, quantity, destination, end user) from the versioned rule table.

The decision is the first matching row of the rule table (data, not code branches). Restricted
parties are checked by exact normalised name against a set the caller injects; fuzzy screening
belongs to ``chiptrail.parties``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from chiptrail.countries import country_name, parse_country
from chiptrail.errors import InvalidInput
from chiptrail.hardware.catalogue import Accelerator, get_model
from chiptrail.hardware.classify import (
    Classification,
    Eccn,
    check_quantity,
    classify_item,
    classify_system,
)
from chiptrail.hardware.ruletable import Facts, RuleTable, load_rule_table
from chiptrail.types import Country

#: EXAMPLE ONLY, NOT THE ENTITY LIST: a few well-known listed names plus one fictitious name,
#: so the CLI and demos can show a listed end user. Callers pass the real restricted-party set.
EXAMPLE_RESTRICTED_PARTIES: frozenset[str] = frozenset(
    {
        "Huawei Technologies Co., Ltd.",
        "Semiconductor Manufacturing International Corporation",
        "Sophgo Technologies Ltd.",
        "Example Diversion Trading Ltd (fictitious)",
    }
)

_LEGAL_FORMS = frozenset(
    {
        "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc",
        "plc", "gmbh", "ag", "sa", "pte", "sdn", "bhd", "fictitious",
    }
)  # fmt: skip


class LicenseDecision(StrEnum):
    """The three answers (wire strings used by CLI, HTTP and the rule table)."""

    LICENSE_REQUIRED = "license-required"
    LICENSE_EXCEPTION = "license-exception"
    NO_LICENSE_REQUIRED = "no-license-required"


@dataclass(frozen=True, slots=True)
class LicenseAnswer:
    """The answer, the rule row that gave it and the paragraphs that decide it."""

    decision: LicenseDecision
    license_exception: str | None
    rule_id: str
    citations: tuple[str, ...]
    explanation: str
    review_policy: str
    rules_as_of: str
    model_id: str | None
    item_name: str | None
    eccn: Eccn
    system_eccn: Eccn
    paragraph: str
    quantity: int
    item_tpp: float
    total_tpp: float
    h100_equivalents: float
    destination: str
    destination_name: str
    destination_groups: tuple[str, ...]
    end_user: str | None
    end_user_listed: bool
    matched_party: str | None
    end_user_headquarters: str | None


def normalise_party(name: str) -> str:
    """Case-folded words without punctuation or legal-form words (Ltd, Co., Corp ...)."""
    words = re.sub(r"[^\w]+", " ", name.casefold()).split()
    return " ".join(w for w in words if w not in _LEGAL_FORMS)


def screen_end_user(end_user: str, restricted_parties: Collection[str]) -> str | None:
    """The restricted name that ``end_user`` matches exactly after normalisation, or None."""
    key = normalise_party(end_user)
    if not key:
        return None
    for party in sorted(restricted_parties):
        if normalise_party(party) == key:
            return party
    return None


def _item(item: Accelerator | str | Classification, table: RuleTable) -> Classification:
    if isinstance(item, Classification):
        return item
    model = get_model(item) if isinstance(item, str) else item
    if model.reference_only:
        raise InvalidInput(
            f"item: {model.name} is listed for reference only (not a US-origin item; whether the "
            "EAR apply depends on foreign direct product rules this engine does not decide)",
            {"field": "item", "value": model.model_id},
        )
    return classify_item(model, rules=table)


def check_license(
    item: Accelerator | str | Classification,
    quantity: int,
    destination: str,
    *,
    end_user: str | None = None,
    restricted_parties: Collection[str] | None = None,
    end_user_listed: bool | None = None,
    end_user_headquarters: str | None = None,
    rules: RuleTable | None = None,
) -> LicenseAnswer:
    """Answer "may these accelerators go there?" from the rule table.

    Args:
        item: a catalogue model (name or ``Accelerator``) or a ``Classification`` of custom figures.
        quantity: number of accelerators (whole, >= 1); reported as total TPP and H100-equivalents.
        destination: ISO 3166-1 alpha-2 code of the destination country.
        end_user: the end user's name, checked against ``restricted_parties``.
        restricted_parties: names of listed parties (default: ``EXAMPLE_RESTRICTED_PARTIES``).
        end_user_listed: the caller's own verdict (e.g. from fuzzy screening); True wins.
        end_user_headquarters: ISO2 country of the end user's (ultimate parent's) headquarters.
        rules: a rule table (default: the built-in one).

    Raises:
        NotFound: unknown model. InvalidInput: bad quantity, country code or reference-only item.
    """
    table = rules or load_rule_table()
    check_quantity(quantity)
    dest = parse_country(destination, "destination")
    hq = None
    if end_user_headquarters:
        hq = parse_country(end_user_headquarters, "end_user_headquarters")
    cls = _item(item, table)
    system = classify_system(cls, quantity, rules=table)
    parties = EXAMPLE_RESTRICTED_PARTIES if restricted_parties is None else restricted_parties
    matched = screen_end_user(end_user, parties) if end_user else None
    listed = bool(end_user_listed) or matched is not None
    groups = table.groups_of(dest)
    facts = Facts(
        eccn=cls.eccn.value,
        designed_for_datacenter=cls.designed_for_datacenter,
        destination=Country(table.treated_as.get(dest, dest)),
        destination_groups=groups,
        end_user_listed=listed,
        headquarters_groups=table.groups_of(hq) if hq else frozenset(),
        item_tpp=cls.tpp,
        total_tpp=system.total_tpp,
        memory_bandwidth_gbps=cls.memory_bandwidth_gbps,
    )
    rule = table.first_match(facts)
    return LicenseAnswer(
        decision=LicenseDecision(rule.then.decision),
        license_exception=rule.then.license_exception,
        rule_id=rule.rule_id,
        citations=rule.then.citations,
        explanation=rule.then.explanation,
        review_policy=rule.then.review_policy,
        rules_as_of=table.rules_as_of.isoformat(),
        model_id=cls.model_id,
        item_name=cls.name,
        eccn=cls.eccn,
        system_eccn=system.eccn,
        paragraph=cls.paragraph,
        quantity=quantity,
        item_tpp=cls.tpp,
        total_tpp=system.total_tpp,
        h100_equivalents=system.h100_equivalents,
        destination=dest,
        destination_name=country_name(dest),
        destination_groups=tuple(sorted(groups)),
        end_user=end_user,
        end_user_listed=listed,
        matched_party=matched,
        end_user_headquarters=hq,
    )
