"""Control beyond 50%: country-of-concern aggregation, listed exposure, shared identifiers."""

from __future__ import annotations

import pytest

from chiptrail.parties.control import (
    Stake,
    concern_control,
    listed_exposure,
    normalise_identifier,
    propagate_link_risk,
    shared_identifier_links,
)
from chiptrail.parties.resolve import Tie, resolve_buyers, site_ties

CONCERN = frozenset({"CN", "HK"})
COUNTRIES = {"cn1": "CN", "cn2": "CN", "hk3": "HK", "sg": "SG", "my": "MY", "us": "US"}


def test_three_china_parents_at_34_33_33_control_their_joint_tenant() -> None:
    stakes = [Stake("cn1", "sg", 0.34), Stake("cn2", "sg", 0.33), Stake("hk3", "sg", 0.33)]
    stakes.append(Stake("sg", "my", 1.0))
    out = concern_control(stakes, COUNTRIES, CONCERN)
    assert out["sg"].is_controlled
    assert out["sg"].share == pytest.approx(1.0)
    assert out["my"].is_controlled
    assert out["my"].holders == ("sg",)


def test_concern_minority_does_not_control_and_cycles_end() -> None:
    stakes = [Stake("cn1", "sg", 0.3), Stake("us", "sg", 0.7), Stake("sg", "us", 0.5)]
    out = concern_control(stakes, COUNTRIES, CONCERN)
    assert not out["sg"].is_controlled
    assert out["sg"].share == pytest.approx(0.3)


def test_listed_exposure_looks_through_chains() -> None:
    stakes = [
        Stake("listed", "hold", 0.5),
        Stake("hold", "buyer", 0.6),
        Stake("listed", "buyer", 0.1),
    ]
    out = listed_exposure(stakes, ["listed"])
    assert out["buyer"] == pytest.approx(0.4)
    assert out["hold"] == pytest.approx(0.5)
    assert "us" not in out


def test_identifiers_normalise_and_link() -> None:
    assert normalise_identifier("phone", "+65 6123-4567") == "6561234567"
    assert normalise_identifier("email_domain", "sales@Front.example") == "front.example"
    links = shared_identifier_links(
        [("a", "phone", "+65 6123 4567"), ("b", "phone", "+65-6123-4567"), ("c", "phone", "1")]
    )
    assert [(k.a, k.b, k.kind) for k in links] == [("a", "b", "phone")]


def test_ubiquitous_identifiers_link_nobody() -> None:
    rows = [(f"p{i}", "address", "1 Registered Agent Way") for i in range(30)]
    assert shared_identifier_links(rows) == []


def test_link_risk_combines_kinds_and_weights() -> None:
    links = shared_identifier_links(
        [
            ("listed", "address", "1 Main St"),
            ("x", "address", "1 main st."),
            ("listed", "bank_account", "DE89 3704"),
            ("y", "bank_account", "de893704"),
            ("listed", "director", "Li Wei"),
            ("y", "director", "LI  WEI"),
        ]
    )
    out = propagate_link_risk(links, {"listed": 1.0})
    assert out["x"][0] == pytest.approx(0.4)
    assert out["y"][0] == pytest.approx(1.0)  # a shared bank account carries everything


def test_buyers_resolved_by_ties_sites_and_parents() -> None:
    ties = [Tie("b1", "b2", "director", "li wei"), *site_ties([("b3", "S-1"), ("b4", "S-1")])]
    out = resolve_buyers(["b1", "b2", "b3", "b4", "b5", "b6"], ties, {"b5": ("p",), "b6": ("p",)})
    assert out["b1"].members == ("b1", "b2")
    assert out["b3"].members == ("b3", "b4")
    assert out["b3"].ties[0].kind == "site"
    assert out["b5"].buyer_id == "b5"
    assert out["b6"] is out["b5"]
    assert out["b1"] is not out["b3"]


def test_resolution_does_not_depend_on_order() -> None:
    ties = [Tie("b3", "b1", "phone", "1"), Tie("b2", "b3", "address", "x")]
    a = resolve_buyers(["b1", "b2", "b3"], ties)
    b = resolve_buyers(["b3", "b2", "b1"], list(reversed(ties)))
    assert a["b2"].members == b["b2"].members == ("b1", "b2", "b3")
    assert a["b2"].buyer_id == "b1"
