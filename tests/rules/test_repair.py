"""Repair rules: servicing in a country of concern, parts swapped away from recorded custody."""

from __future__ import annotations

from chiptrail.types import Country, Verdict
from tests.rules._world import ev, fix, run, view

INSTALLED = ev(1, "installing", 60, ["c1"], "op-us", "US", site_id="site-sj")
PARTS = ("HBM3 stack",)


def test_repair_in_china_fires_both_rules() -> None:
    events = (INSTALLED, ev(2, "repairing", 10, ["c1"], "shop-cn", "CN", parts_replaced=PARTS))
    [restricted] = run("repair-restricted-region", view(events=events))
    assert restricted.evidence[0].leaf_index == 2
    [mismatch] = run("repair-custody-mismatch", view(events=events))
    assert "op-us in US" in mismatch.explanation


def test_attestation_wholly_in_countries_of_concern_fires() -> None:
    f = fix("c1", 3, Verdict.VIOLATION, 22.5, 114.1, proven_countries=(Country("CN"),))
    assert run("repair-restricted-region", view(events=(INSTALLED,), fixes=(f,)))
    mixed = fix(
        "c1", 3, Verdict.VIOLATION, 22.5, 114.1, proven_countries=(Country("CN"), Country("TW"))
    )
    assert run("repair-restricted-region", view(events=(INSTALLED,), fixes=(mixed,))) == []


def test_recorded_rma_repair_fires_nothing() -> None:
    events = (
        INSTALLED,
        ev(
            2,
            "shipping",
            40,
            ["c1"],
            "op-us",
            "US",
            destination_party="rma-tw",
            destination_country="TW",
        ),
        ev(3, "receiving", 35, ["c1"], "rma-tw", "TW"),
        ev(4, "repairing", 30, ["c1"], "rma-tw", "TW", parts_replaced=PARTS),
    )
    assert run("repair-restricted-region", view(events=events)) == []
    assert run("repair-custody-mismatch", view(events=events)) == []


def test_foreign_shop_without_shipment_is_a_mismatch() -> None:
    events = (INSTALLED, ev(2, "repairing", 10, ["c1"], "shop-my", "MY", parts_replaced=PARTS))
    assert run("repair-restricted-region", view(events=events)) == []
    assert run("repair-custody-mismatch", view(events=events))


def test_repair_without_replaced_parts_is_not_a_mismatch() -> None:
    events = (INSTALLED, ev(2, "repairing", 10, ["c1"], "shop-my", "MY"))
    assert run("repair-custody-mismatch", view(events=events)) == []
