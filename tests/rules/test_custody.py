"""Custody-gap rules on hand-built ledgers, including lots that must not be flagged."""

from __future__ import annotations

import json

import pytest

from chiptrail.rules.view import (
    Chip,
    CustodyContradiction,
    Licence,
    view_from_json,
    view_to_json,
)
from chiptrail.types import ChipId, Country, PartyId, Severity
from tests.rules._world import ev, run, view

SHIP_US = ev(
    1, "shipping", 30, ["c1"], "vendor", "US", destination_party="op-us", destination_country="US"
)


@pytest.mark.parametrize(
    ("events", "fires"),
    [
        ([SHIP_US], True),
        ([ev(1, "shipping", 5, ["c1"], "vendor", "US", destination_country="US")], False),
        ([SHIP_US, ev(2, "receiving", 25, ["c1"], "op-us", "US")], False),
    ],
    ids=["shipped 30 days ago, no receipt", "shipped 5 days ago", "received"],
)
def test_shipped_never_received(events: list[object], fires: bool) -> None:
    found = run("shipped-never-received", view(events=tuple(events)))
    assert bool(found) is fires
    if fires:
        assert found[0].evidence[0].leaf_index == 1


@pytest.mark.parametrize(
    ("events", "fires"),
    [
        ([ev(1, "receiving", 60, ["c1"], "dist-sg", "SG")], True),
        ([ev(1, "receiving", 60, ["c1"], "op-us", "US")], False),
        ([ev(1, "receiving", 10, ["c1"], "dist-sg", "SG")], False),
        (
            [
                ev(1, "receiving", 60, ["c1"], "dist-sg", "SG"),
                ev(2, "shipping", 50, ["c1"], "dist-sg", "SG", destination_country="MY"),
            ],
            False,
        ),
    ],
    ids=["distributor held 60 days", "operator (not a distributor)", "held 10 days", "shipped on"],
)
def test_received_never_installed(events: list[object], fires: bool) -> None:
    assert bool(run("received-never-installed", view(events=tuple(events)))) is fires


LICENCE = Licence("lic1", PartyId("op-us"), Country("US"), ("site-sj",), 8)
CHIPS = {ChipId("c1"): Chip(ChipId("c1"), "h100-sxm", "o1", "lic1")}


@pytest.mark.parametrize(
    ("site", "country", "fires"),
    [("site-sj", "US", False), ("site-dallas", "US", True), ("site-sg", "SG", True)],
    ids=["licensed site", "other site, same country", "other country"],
)
def test_install_off_licence(site: str, country: str, fires: bool) -> None:
    events = (ev(1, "installing", 10, ["c1"], "op-us", country, site_id=site),)
    v = view(events=events, chips=CHIPS, licences={"lic1": LICENCE})
    assert bool(run("install-off-licence", v)) is fires


def test_install_without_licence_is_not_judged() -> None:
    events = (ev(1, "installing", 10, ["c1"], "op-us", "SG", site_id="site-sg"),)
    assert run("install-off-licence", view(events=events)) == []


@pytest.mark.parametrize(
    ("origin", "dest", "licence", "expected"),
    [
        ("SG", "CN", None, Severity.CRITICAL),
        ("SG", "IN", None, Severity.HIGH),
        ("SG", "MY", "lic-my", None),
        ("SG", "SG", None, None),
        ("US", "CN", None, None),
    ],
    ids=[
        "hub to CN unlicensed",
        "hub to IN unlicensed",
        "hub to MY licensed",
        "domestic",
        "not from a hub",
    ],
)
def test_hub_reexport(origin: str, dest: str, licence: str | None, expected: object) -> None:
    lic = Licence("lic-my", PartyId("op-my"), Country("MY"), (), 8)
    events = (
        ev(
            1,
            "shipping",
            10,
            ["c1"],
            "dist-sg",
            origin,
            destination_country=dest,
            licence_id=licence,
        ),
    )
    found = run("hub-reexport", view(events=events, licences={"lic-my": lic}))
    assert (found[0].severity if found else None) == expected


def _contradiction(kind: str = "receiver-not-destination") -> CustodyContradiction:
    return CustodyContradiction(kind, "c1", 2, (1, 2), "received by dist-sg, shipped to op-us")


def test_custody_contradiction_fires_with_its_leaves() -> None:
    events = (SHIP_US, ev(2, "receiving", 25, ["c1"], "dist-sg", "SG"))
    [found] = run(
        "custody-contradiction", view(events=events, custody_anomalies=(_contradiction(),))
    )
    assert (found.subject, found.severity, found.channel) == ("c1", Severity.HIGH, "transshipment")
    assert [e.leaf_index for e in found.evidence] == [1, 2]
    assert found.detected_at == events[1].at
    assert "receiver-not-destination" in found.explanation


def test_custody_contradiction_cites_leaves_missing_from_the_view() -> None:
    anomaly = CustodyContradiction("installed-twice", "c9", 7, (5,), "installed twice")
    [found] = run("custody-contradiction", view(custody_anomalies=(anomaly,)))
    assert [e.ref for e in found.evidence] == ["leaf:5", "leaf:7"]


def test_consistent_custody_has_no_contradiction() -> None:
    events = (SHIP_US, ev(2, "receiving", 25, ["c1"], "op-us", "US"))
    assert run("custody-contradiction", view(events=events)) == []


def test_views_without_anomalies_still_load_from_json() -> None:
    data = json.loads(view_to_json(view(custody_anomalies=(_contradiction(),))))
    assert data["custody_anomalies"][0]["evidence_leaves"] == [1, 2]
    del data["custody_anomalies"]
    assert view_from_json(json.dumps(data).encode()).custody_anomalies == ()
