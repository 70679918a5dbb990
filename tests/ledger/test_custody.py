"""Custody fold: custodian, containment, repairs, anomalies with evidence, rebuild equality."""

from __future__ import annotations

from chiptrail.ledger.custody import (
    AnomalyKind,
    AssetState,
    AssetStatus,
    CustodyEvent,
    Registry,
    Site,
    custody_event_from_epcis,
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


def test_anomalies_carry_leaf_evidence() -> None:
    events = [
        _ev(0, "v", event("commissioning", [chip(1)])),
        _ev(1, "x", event("shipping", [chip(1)], destination="y")),
        _ev(2, "z", event("receiving", [chip(1)])),
        _ev(
            3,
            "z",
            event(
                "installing",
                [chip(1)],
                event_type="AggregationEvent",
                action="ADD",
                parent=server(1),
            ),
        ),
        _ev(
            4,
            "z",
            event(
                "installing",
                [chip(1)],
                event_type="AggregationEvent",
                action="ADD",
                parent=server(2),
            ),
        ),
    ]
    reg = _fold(events)
    got = [(a.kind, a.evidence) for a in reg.anomalies]
    assert got == [
        (AnomalyKind.SHIPPED_WITHOUT_CUSTODY, (0, 1)),
        (AnomalyKind.RECEIVER_NOT_DESTINATION, (1, 2)),
        (AnomalyKind.INSTALLED_TWICE, (3, 4)),
    ]
    # a removal in between is not an anomaly
    removal = _ev(
        4,
        "z",
        event(
            "removing", [chip(1)], event_type="AggregationEvent", action="DELETE", parent=server(1)
        ),
    )
    again = _ev(
        5,
        "z",
        event(
            "installing", [chip(1)], event_type="AggregationEvent", action="ADD", parent=server(2)
        ),
    )
    reg2 = _fold([*events[:4], removal, again])
    assert [a.kind for a in reg2.anomalies][-1] != AnomalyKind.INSTALLED_TWICE or len(
        reg2.anomalies
    ) == 2


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
        _ev(
            2,
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
