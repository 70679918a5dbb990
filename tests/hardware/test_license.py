"""Licence answers: every country group, listed and D:5-headquartered end users, rules as data."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from chiptrail.countries import parse_country
from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware import (
    EXAMPLE_RESTRICTED_PARTIES,
    LicenseDecision,
    check_license,
    classify_item,
    load_rule_table,
    parse_rule_table,
)

REQUIRED = LicenseDecision.LICENSE_REQUIRED
EXCEPTION = LicenseDecision.LICENSE_EXCEPTION
NLR = LicenseDecision.NO_LICENSE_REQUIRED


def _rules_doc() -> dict[str, object]:
    text = resources.files("chiptrail.hardware").joinpath("data/rules_2026-01-15.json").read_text()
    doc: dict[str, object] = json.loads(text)
    return doc


@pytest.mark.parametrize(
    ("item", "country", "decision", "rule"),
    [
        ("H100", "CN", REQUIRED, "china-macau-datacenter-case-by-case"),
        ("MI355X", "CN", REQUIRED, "d5-datacenter"),
        ("H100", "MO", REQUIRED, "china-macau-datacenter-case-by-case"),
        ("B200", "MO", REQUIRED, "d5-datacenter"),
        ("H100", "HK", REQUIRED, "china-macau-datacenter-case-by-case"),
        ("H100", "VE", REQUIRED, "d5-datacenter"),
        ("H100", "AF", REQUIRED, "d5-datacenter"),
        ("RTX 4090", "CN", EXCEPTION, "d5-nac"),
        ("RTX 4090", "AF", EXCEPTION, "d5-nac"),
        ("H100", "VN", REQUIRED, "d1-d4-datacenter"),
        ("H100", "KZ", REQUIRED, "d1-d4-datacenter"),
        ("H100", "AE", REQUIRED, "d1-d4-datacenter"),
        ("H100", "SA", REQUIRED, "d1-d4-datacenter"),
        ("RTX 4090", "AE", EXCEPTION, "d1-d4-aca"),
        ("RTX 5090", "VN", EXCEPTION, "d1-d4-aca"),
        ("H100", "IL", NLR, "other-destinations"),
        ("H100", "CY", NLR, "other-destinations"),
        ("H100", "DE", NLR, "other-destinations"),
        ("H100", "SG", NLR, "other-destinations"),
        ("H100", "MY", NLR, "other-destinations"),
        ("H100", "BR", NLR, "other-destinations"),
        ("H20", "CN", NLR, "not-3a090"),
        ("RTX 4090 D", "CN", NLR, "not-3a090"),
        ("H100", "IR", REQUIRED, "embargoed-destination"),
        ("H20", "KP", REQUIRED, "embargoed-destination"),
        ("L20", "CU", REQUIRED, "embargoed-destination"),
        ("H20", "RU", REQUIRED, "russia-belarus"),
        ("H100", "BY", REQUIRED, "russia-belarus"),
    ],
    ids=lambda v: str(v),
)
def test_country_groups(item: str, country: str, decision: LicenseDecision, rule: str) -> None:
    answer = check_license(item, 8, country)
    assert (answer.decision, answer.rule_id) == (decision, rule)
    assert answer.citations
    assert answer.rules_as_of == "2026-01-15"


def test_exception_names_nac_or_aca() -> None:
    assert check_license("RTX 4090", 1, "CN").license_exception == "NAC"
    assert check_license("RTX 4090", 1, "AE").license_exception == "ACA"
    assert check_license("H100", 1, "AE").license_exception is None


def test_groups_of_each_group() -> None:
    table = load_rule_table()
    assert table.groups_of("CN") == {"D:1", "D:4", "D:5"}
    assert table.groups_of("MO") == {"D:1", "D:4", "Macau"}
    assert table.groups_of("HK") == table.groups_of("CN")
    assert table.groups_of("IL") == {"D:4", "A:6"}
    assert table.groups_of("CY") == {"D:5", "A:6"}
    assert table.groups_of("DE") == {"A:5"}
    assert table.groups_of("IR") == {"D:1", "D:4", "D:5", "E:1"}
    assert table.groups_of("CU") == {"D:5", "E:2"}
    assert table.groups_of("BR") == frozenset()


def test_answer_reports_quantity_in_tpp_and_h100_equivalents() -> None:
    answer = check_license("H100", 2000, "SG")
    assert answer.total_tpp == 2000 * 15832
    assert answer.h100_equivalents == pytest.approx(2000)
    assert answer.system_eccn.value == "4A090.a"


def test_listed_end_user_needs_a_licence_anywhere() -> None:
    answer = check_license("H100", 1, "DE", end_user="HUAWEI TECHNOLOGIES CO LTD")
    assert (answer.decision, answer.rule_id) == (REQUIRED, "entity-list")
    assert answer.matched_party == "Huawei Technologies Co., Ltd."
    assert "Huawei Technologies Co., Ltd." in EXAMPLE_RESTRICTED_PARTIES


def test_restricted_parties_are_injectable() -> None:
    parties = {"Acme Compute Pte Ltd"}
    hit = check_license("H20", 1, "SG", end_user="ACME COMPUTE", restricted_parties=parties)
    assert hit.decision is REQUIRED
    miss = check_license("H20", 1, "SG", end_user="Huawei Technologies", restricted_parties=parties)
    assert miss.decision is NLR
    assert check_license("H20", 1, "SG", end_user_listed=True).rule_id == "entity-list"


def test_d5_headquartered_end_user_abroad() -> None:
    answer = check_license("H100", 8, "MY", end_user_headquarters="cn")
    assert (answer.decision, answer.rule_id) == (REQUIRED, "d5-headquartered-datacenter")
    assert check_license("RTX 4090", 8, "MY", end_user_headquarters="MO").rule_id == (
        "d5-headquartered-nac"
    )


def test_custom_classification_can_be_checked() -> None:
    b_item = classify_item(tpp=2400, die_area_mm2=1500)
    answer = check_license(b_item, 10, "CN")
    assert (answer.decision, answer.license_exception) == (EXCEPTION, "NAC")
    assert answer.model_id is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"destination": "XX"}, "destination"),
        ({"destination": "China"}, "destination"),
        ({"quantity": 0}, "quantity"),
        ({"end_user_headquarters": "ZZ"}, "end_user_headquarters"),
        ({"item": "Ascend 910C"}, "item"),
    ],
    ids=["unknown code", "a name, not a code", "zero quantity", "bad HQ", "reference-only item"],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"item": "H100", "quantity": 1, "destination": "SG", **kwargs}
    with pytest.raises(InvalidInput) as err:
        check_license(**args)  # type: ignore[arg-type]
    assert err.value.details["field"] == field


def test_unknown_model() -> None:
    with pytest.raises(NotFound):
        check_license("H1000", 1, "SG")


def test_changing_the_table_changes_the_answer() -> None:
    assert check_license("H100", 8, "MY").decision is NLR
    doc = _rules_doc()
    groups = doc["country_groups"]
    assert isinstance(groups, dict)
    groups["D:4"] = [*groups["D:4"], "MY"]
    doc["rules_as_of"] = "2030-01-01"
    changed = parse_rule_table(json.dumps(doc))
    answer = check_license("H100", 8, "MY", rules=changed)
    assert (answer.decision, answer.rule_id, answer.rules_as_of) == (
        REQUIRED,
        "d1-d4-datacenter",
        "2030-01-01",
    )


def test_a_quantity_rule_is_a_data_change() -> None:
    # An LPP-like allowance (Jan-2025 framework, rescinded): small orders to D:1/D:4 go under
    # an exception. Adding the row changes the answer for small orders only.
    doc = _rules_doc()
    rules = doc["rules"]
    assert isinstance(rules, list)
    lpp = {
        "id": "lpp-like",
        "when": {"eccn_in": ["3A090.a"], "destination_in_groups": ["D:4"], "total_tpp_below": 1e5},
        "then": {"decision": "license-exception", "license_exception": "LPP", "citations": ["x"]},
    }
    rules.insert(0, lpp)
    table = parse_rule_table(json.dumps(doc))
    assert check_license("H100", 6, "AE", rules=table).license_exception == "LPP"
    assert check_license("H100", 7, "AE", rules=table).rule_id == "d1-d4-datacenter"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["rules"].pop(),
        lambda d: d["rules"][0]["when"].update(no_such_condition=1),
        lambda d: d["rules"][0]["then"].update(decision="maybe"),
        lambda d: d.update(rules_as_of="yesterday"),
        lambda d: d.pop("classification"),
    ],
    ids=["no catch-all", "unknown condition", "unknown decision", "bad date", "no thresholds"],
)
def test_malformed_rule_tables_are_refused(mutate: object) -> None:
    doc = _rules_doc()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        parse_rule_table(json.dumps(doc))


def test_the_built_in_table_is_well_formed() -> None:
    table = load_rule_table()
    ids = [rule.rule_id for rule in table.rules]
    assert len(ids) == len(set(ids))
    for rule in table.rules:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.rule_id)
        assert rule.then.citations, rule.rule_id
        assert rule.then.explanation, rule.rule_id
        exception = rule.then.license_exception
        assert (exception is not None) == (rule.then.decision == "license-exception")
    for group, members in table.country_groups.items():
        for code in members:
            assert parse_country(code) == code, group
    assert set(table.country_groups) == {"A:5", "A:6", "D:1", "D:4", "D:5", "E:1", "E:2", "Macau"}
