"""Custody fold: custodian, containment, repairs, anomalies with evidence, rebuild equality."""

from __future__ import annotations

import pytest

from chiptrail.errors import PermissionDenied
from chiptrail.ledger.custody import (
    AnomalyKind,
    AssetState,
    AssetStatus,
    CustodyEvent,
    Registry,
    Site,
    custody_event_from_epcis,
    maker_key,
    rebuild,
)
from tests.ledger.helpers import CT, chip, event, server

PREFIXES = {"ct": CT}


def _ev(leaf: int, party: str, raw: dict[str, object]) -> CustodyEvent:
    return custody_event_from_epcis(raw, leaf_index=leaf, party_id=party, prefixes=PREFIXES)


def _fold(events: list[CustodyEvent]) -> Registry:
    return rebuild(events)


def test_extracts_site_serials_and_destination() -> None:
    ev = _ev(0, "v", event("commissioning", [chip(1)], site=("US", 37.4, -122.1, "Fab 1")))
    assert ev.site == Site("US", 37.4, -122.1, "Fab 1")
    assert (ev.vendor_serial, ev.board_serial) == ("VS-1", "BS-1")
    ship = _ev(1, "v", event("shipping", [chip(1)], destination="dist"))
    assert (ship.biz_step, ship.destination) == ("shipping", "dist")


def test_chips_travel_with_their_server_and_rack() -> None:
    events = [
        _ev(0, "v", event("commissioning", [chip(1), chip(2)])),
        _ev(
            1,
            "v",
            event(
                "installing",
                [chip(1), chip(2)],
                event_type="AggregationEvent",
                action="ADD",
                parent=server(1),
            ),
        ),
        _ev(
            2,
            "v",
            event(
                "packing",
                [server(1)],
                event_type="AggregationEvent",
                action="ADD",
                parent="urn:epc:id:giai:0614141.RACK1",
            ),
        ),
        _ev(3, "v", event("shipping", ["urn:epc:id:giai:0614141.RACK1"], destination="dc")),
        _ev(
            4,
            "dc",
            event("receiving", ["urn:epc:id:giai:0614141.RACK1"], site=("MY", 1.5, 103.6, "DC")),
        ),
    ]
    reg = _fold(events)
    state = reg.states[chip(2)]
    assert state.custodian == "dc"
    assert state.parent == server(1)
    assert state.status == AssetStatus.RECEIVED
    assert state.site is not None
    assert state.site.country == "MY"
    assert reg.anomalies == []


def _install(leaf: int, party: str, into: str) -> CustodyEvent:
    return _ev(
        leaf,
        party,
        event("installing", [chip(1)], event_type="AggregationEvent", action="ADD", parent=into),
    )


def test_anomalies_carry_leaf_evidence() -> None:
    events = [
        _ev(0, "v", event("commissioning", [chip(1)])),
        _ev(1, "v", event("shipping", [chip(1)], destination="y")),
        _ev(2, "z", event("receiving", [chip(1)])),
        _ev(3, "y", event("receiving", [chip(1)])),
        _install(4, "y", server(1)),
        _install(5, "y", server(2)),
        _ev(6, "x", event("shipping", [chip(1)], destination="x2")),
    ]
    reg = _fold(events)
    got = [(a.kind, a.evidence) for a in reg.anomalies]
    assert got == [
        (AnomalyKind.RECEIVER_NOT_DESTINATION, (1, 2)),
        (AnomalyKind.INSTALLED_TWICE, (4, 5)),
        (AnomalyKind.SHIPPED_WITHOUT_CUSTODY, (3, 6)),  # replay of an old log: kept as anomaly
    ]
    state = reg.states[chip(1)]
    assert (state.custodian, state.parent, state.status) == ("y", server(2), AssetStatus.INSTALLED)


HIJACKS = [
    ("commissioning a chip already commissioned", "a", "commissioning", "commissioned-twice"),
    ("shipping a chip A does not hold", "a", "shipping", "shipped-without-custody"),
    ("decommissioning B's chip", "a", "decommissioning", "decommissioned-without-custody"),
]


@pytest.mark.parametrize(
    ("party", "step", "rule"), [h[1:] for h in HIJACKS], ids=[h[0] for h in HIJACKS]
)
def test_claims_that_are_never_legitimate_are_refused(party: str, step: str, rule: str) -> None:
    reg = Registry(enforce=True)
    reg.apply(_ev(0, "b", event("commissioning", [chip(1)])))
    before = dict(reg.states)
    with pytest.raises(PermissionDenied) as err:
        reg.apply(_ev(1, party, event(step, [chip(1)], destination="a")))
    assert err.value.details["rule"] == rule
    assert reg.states == before


def test_only_the_manufacturer_commissions_its_product_line() -> None:
    reg = Registry(enforce=True)
    reg.apply(_ev(0, "b", event("commissioning", [chip(1)])))
    assert reg.new_makers == {maker_key(chip(1)): ("b", 0)}
    with pytest.raises(PermissionDenied, match="made by b"):
        reg.apply(_ev(1, "a", event("commissioning", [chip(2)])))  # same GTIN, new serial
    other_line = "urn:epc:id:sgtin:0614141.999999.1"
    reg.apply(_ev(2, "a", event("commissioning", [other_line])))
    assert reg.states[other_line].custodian == "a"


def test_packing_anothers_chip_is_refused() -> None:
    reg = Registry(enforce=True)
    reg.apply(_ev(0, "b", event("commissioning", [chip(1)])))
    with pytest.raises(PermissionDenied, match="packed"):
        reg.apply(_install(1, "a", server(1)))
    assert reg.states[chip(1)].parent is None


LOGGED = [
    ("receipt with no shipment", "receiving", None, AnomalyKind.RECEIVED_WITHOUT_SHIPMENT),
    (
        "repair with a CN site by a non-custodian",
        "repairing",
        ("CN", 22.5, 114.1, "Shenzhen"),
        AnomalyKind.REPAIRED_WITHOUT_CUSTODY,
    ),
    (
        "install at another site by a non-custodian",
        "installing",
        ("CN", 31.2, 121.5, "SH"),
        AnomalyKind.ACTED_WITHOUT_CUSTODY,
    ),
]


@pytest.mark.parametrize(
    ("step", "site", "kind"), [c[1:] for c in LOGGED], ids=[c[0] for c in LOGGED]
)
def test_claims_an_honest_party_might_make_are_logged_and_change_nothing(
    step: str, site: tuple[str, float, float, str] | None, kind: AnomalyKind
) -> None:
    reg = Registry(enforce=True)
    reg.apply(_ev(0, "b", event("commissioning", [chip(1)], site=("US", 37.4, -122.1, "Fab"))))
    reg.apply(_ev(1, "a", event(step, [chip(1)], site=site)))
    state = reg.states[chip(1)]
    assert [(a.kind, a.evidence) for a in reg.anomalies] == [(kind, (0, 1))]
    assert (state.custodian, state.status) == ("b", AssetStatus.COMMISSIONED)
    assert state.site is not None
    assert state.site.country == "US"


def test_receipt_reported_before_the_shipment_completes_when_it_arrives() -> None:
    reg = Registry(enforce=True)
    reg.apply(_ev(0, "v", event("commissioning", [chip(1)])))
    reg.apply(_ev(1, "d", event("receiving", [chip(1)])))
    assert reg.states[chip(1)].custodian == "v"
    reg.apply(_ev(2, "v", event("shipping", [chip(1)], destination="d")))
    state = reg.states[chip(1)]
    assert (state.custodian, state.custody_leaf, state.status) == ("d", 1, AssetStatus.RECEIVED)
    assert [a.kind for a in reg.anomalies] == [AnomalyKind.RECEIVED_WITHOUT_SHIPMENT]


def test_repair_replaces_a_part() -> None:
    hbm_old, hbm_new = "urn:epc:id:sgtin:0614141.200000.1", "urn:epc:id:sgtin:0614141.200000.2"
    events = [
        _ev(0, "v", event("commissioning", [chip(1), hbm_old])),
        _ev(
            1,
            "v",
            event(
                "assembling", [hbm_old], event_type="AggregationEvent", action="ADD", parent=chip(1)
            ),
        ),
        _ev(2, "v", event("shipping", [chip(1)], destination="shop")),
        _ev(3, "shop", event("receiving", [chip(1)])),
        _ev(
            4,
            "shop",
            {
                "type": "TransformationEvent",
                "eventTime": "2026-01-01T00:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "bizStep": "repairing",
                "inputEPCList": [chip(1), hbm_old],
                "outputEPCList": [chip(1), hbm_new],
            },
        ),
    ]
    reg = _fold(events)
    assert reg.states[hbm_old].status == AssetStatus.REPLACED
    assert reg.states[hbm_old].parent is None
    assert reg.states[hbm_new].parent == chip(1)
    assert reg.states[hbm_new].custodian == "shop"


def test_incremental_equals_rebuild_and_json_round_trip() -> None:
    events = [
        _ev(0, "v", event("commissioning", [chip(1)])),
        _ev(1, "v", event("shipping", [chip(1)], destination="d")),
        _ev(2, "d", event("receiving", [chip(1)], site=("SG", 1.3, 103.8, "SG1"))),
        _ev(3, "d", event("decommissioning", [chip(1)])),
    ]
    incremental = Registry()
    for ev in events:
        incremental.apply(ev)
        incremental.take_changes()
    assert incremental.states == rebuild(events).states
    state = incremental.states[chip(1)]
    assert state.status == AssetStatus.DECOMMISSIONED
    assert AssetState.from_json(state.to_json()) == state


def test_observing_a_packed_server_moves_its_chips() -> None:
    events = [
        _ev(0, "v", event("commissioning", [chip(1)])),
        _ev(
            1,
            "v",
            event(
                "packing", [chip(1)], event_type="AggregationEvent", action="ADD", parent=server(1)
            ),
        ),
        _ev(
            2,
            "v",
            event(
                "shipping",
                [chip(1)],
                event_type="AggregationEvent",
                action="OBSERVE",
                parent=server(1),
                destination="dc",
            ),
        ),
        _ev(
            3,
            "dc",
            event(
                "receiving",
                [chip(1)],
                event_type="AggregationEvent",
                action="OBSERVE",
                parent=server(1),
            ),
        ),
    ]
    reg = _fold(events)
    assert reg.states[server(1)].custodian == "dc"
    assert reg.states[chip(1)].custodian == "dc"
    assert reg.states[chip(1)].parent == server(1)
    assert reg.anomalies == []
