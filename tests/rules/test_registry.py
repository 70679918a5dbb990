"""The rule catalogue: stable kebab-case ids, a channel each, a user-facing docstring each."""

from __future__ import annotations

import re

import pytest

from chiptrail.errors import NotFound
from chiptrail.rules import CHANNELS, RULES, get_rule


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule_id)
def test_every_rule_has_a_description(rule: object) -> None:
    assert rule.description, f"{rule.rule_id} has no docstring"  # type: ignore[attr-defined]
    assert len(rule.title) > 20  # type: ignore[attr-defined]


def test_ids_are_unique_kebab_case_and_channels_known() -> None:
    ids = [r.rule_id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", i) for i in ids)
    assert {r.channel for r in RULES} == set(CHANNELS)


def test_get_rule_unknown_names_the_known_ones() -> None:
    assert get_rule("split-orders").channel == "split_orders"
    with pytest.raises(NotFound, match="location-violation"):
        get_rule("no-such-rule")
