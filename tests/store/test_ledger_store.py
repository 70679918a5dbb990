"""The ledger on every engine: signed appends, refusals, dedup, custody, proofs, rebuild."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from chiptrail.errors import Conflict, InvalidInput, PermissionDenied, VerificationError
from chiptrail.ledger.proof import verify_consistency, verify_inclusion
from chiptrail.ledger.submission import sign_submission
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import log as svc_log
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import assets_table, log_leaves_table
from tests.ledger.helpers import NOW, chip, document, envelope, event, server, signer


def _setup(db: Database) -> None:
    for pid, country in (("vendor", "US"), ("dist", "SG"), ("dc", "MY"), ("other", "CN")):
        svc.register_party(
            db, party_id=pid, name=pid.title(), country=country, kind="Company", now=NOW
        )
    for n, pid in enumerate(("vendor", "dist", "dc", "other"), start=1):
        svc.add_party_key(db, party_id=pid, public_key=signer(n).public_key, now=NOW)


def _size(db: Database) -> int:
    with db.unit() as conn:
        return int(conn.execute(select(func.count()).select_from(log_leaves_table)).scalar_one())


def _submit(
    db: Database, party: str, key: int, nonce: str, *events: dict[str, object]
) -> svc.SubmissionResult:
    env = envelope(party, key, document(*events), nonce)
    return svc.submit_envelopes(db, [env.to_bytes()], now=NOW)


def test_custody_flow_proofs_and_rebuild(database: Database) -> None:
    _setup(database)
    _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1), chip(2)]))
    _submit(
        database,
        "vendor",
        1,
        "n-000002",
        event("shipping", [chip(1), chip(2)], minute=1, destination="dist"),
    )
    result = _submit(database, "other", 4, "n-000003", event("receiving", [chip(1)], minute=2))
    assert [a.kind.value for a in result.anomalies] == ["receiver-not-destination"]
    _submit(database, "dist", 2, "n-000004", event("receiving", [chip(2)], minute=3))
    _submit(
        database,
        "dist",
        2,
        "n-000005",
        event(
            "installing",
            [chip(2)],
            event_type="AggregationEvent",
            action="ADD",
            parent=server(1),
            minute=4,
        ),
    )
    # the server travels with its chip; the dc receives it at its site
    _submit(
        database, "dist", 2, "n-000006", event("shipping", [server(1)], minute=5, destination="dc")
    )
    _submit(
        database,
        "dc",
        3,
        "n-000007",
        event("receiving", [server(1)], minute=6, site=("MY", 1.5, 103.6, "Johor DC1")),
    )
    view = svc.get_chip(database, chip(2))
    assert view.state.custodian == "dc"
    assert view.state.parent == server(1)
    assert view.state.site is not None
    assert view.state.site.country == "MY"
    assert view.state.vendor_serial == "VS-1"
    assert len(view.history) == 6
    # a receipt by a party the shipment was not addressed to is logged, flagged, moves nothing
    assert svc.list_party_chips(database, "other") == []
    assert svc.get_chip(database, chip(1)).state.custodian == "vendor"
    # a party shipping what it does not hold is refused, and nothing is stored
    before_size = _size(database)
    with pytest.raises(PermissionDenied) as refused:
        _submit(
            database,
            "other",
            4,
            "n-000008",
            event("shipping", [chip(2)], minute=7, destination="other"),
        )
    assert refused.value.details["rule"] == "shipped-without-custody"
    assert _size(database) == before_size
    anomalies = svc.list_custody_anomalies(database)
    assert len(anomalies) == 1, anomalies
    assert all(a.evidence for a in anomalies)

    size = _size(database)
    proof = svc_log.prove_inclusion(database, 8, size)
    dec = base64.b64decode
    verify_inclusion(
        dec(proof.leaf_hash), 8, size, [dec(h) for h in proof.hashes], dec(proof.root_hash)
    )
    cons = svc_log.prove_consistency(database, 5, size)
    verify_consistency(
        5, size, dec(cons.old_root_hash), dec(cons.root_hash), [dec(h) for h in cons.hashes]
    )

    with database.unit() as conn:
        before = sorted(conn.execute(select(assets_table)).all())
    assert svc.rebuild_registry(database) == size
    with database.unit() as conn:
        after = sorted(conn.execute(select(assets_table)).all())
    assert after == before
    assert svc.list_custody_anomalies(database) == anomalies


def test_same_event_twice_is_recognised_not_appended(database: Database) -> None:
    _setup(database)
    first = _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)]))
    size = _size(database)
    again = _submit(database, "vendor", 1, "n-000002", event("commissioning", [chip(1)]))
    assert again.receipts[0].duplicate
    assert again.receipts[0].leaf_index == first.receipts[0].leaf_index
    assert _size(database) == size


def _refused(
    db: Database, envelopes: list[bytes | dict[str, object]], error: type[Exception]
) -> None:
    size = _size(db)
    with pytest.raises(error):
        svc.submit_envelopes(db, envelopes, now=NOW)
    assert _size(db) == size


def test_refusals_store_nothing(database: Database) -> None:
    _setup(database)
    payload = document(event("commissioning", [chip(1)]))
    good = envelope("vendor", 1, payload, "n-000001")
    wire = good.to_json()
    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({k: v for k, v in wire.items() if k != "signature_b64"}, VerificationError),  # unsigned
        ({**wire, "party_id": "dist"}, VerificationError),  # key of another party
        ({**wire, "key_id": envelope("dist", 2, payload, "x-000001").key_id}, VerificationError),
        ({**wire, "nonce": "n-999999"}, VerificationError),  # nonce not what was signed
        ({**wire, "signed_at": "2026-11-25T12:00:01.000000Z"}, VerificationError),
        ({**wire, "content_type": "application/json"}, VerificationError),
        ({**wire, "payload_b64": base64.b64encode(payload + b" ").decode()}, VerificationError),
        ({**wire, "signature_b64": base64.b64encode(b"\0" * 64).decode()}, VerificationError),
        ({**wire, "format": "other"}, InvalidInput),
    ]
    for broken, error in cases:
        _refused(database, [broken], error)
    # one bad signature refuses the whole batch
    second = envelope("dist", 2, document(event("commissioning", [chip(9)])), "n-000002").to_json()
    _refused(database, [second, {**wire, "nonce": "n-999999"}], VerificationError)
    # stale and future signatures
    old = envelope("vendor", 1, payload, "n-000003", at=NOW.replace(year=2025))
    _refused(database, [old.to_bytes()], VerificationError)
    svc.submit_envelopes(database, [good.to_bytes()], now=NOW)
    _refused(database, [good.to_bytes()], VerificationError)  # replayed envelope
    same_nonce = envelope("vendor", 1, document(event("commissioning", [chip(5)])), "n-000001")
    _refused(database, [same_nonce.to_bytes()], VerificationError)  # replayed nonce


def test_revoked_and_rotated_keys(database: Database) -> None:
    _setup(database)
    keys = svc.list_party_keys(database, "vendor")
    new = svc.rotate_party_key(
        database,
        party_id="vendor",
        old_key_id=keys[0].key_id,
        new_public_key=signer(7).public_key,
        now=NOW,
    )
    _refused(
        database,
        [envelope("vendor", 1, document(event("commissioning", [chip(1)])), "n-000001").to_bytes()],
        VerificationError,
    )
    _submit(database, "vendor", 7, "n-000002", event("commissioning", [chip(1)]))
    svc.revoke_party_key(database, party_id="vendor", key_id=new.key_id, now=NOW)
    _refused(
        database,
        [envelope("vendor", 7, document(event("commissioning", [chip(2)])), "n-000003").to_bytes()],
        VerificationError,
    )
    with pytest.raises(Conflict):
        svc.revoke_party_key(database, party_id="vendor", key_id=new.key_id, now=NOW)
    with pytest.raises(Conflict):
        svc.add_party_key(database, party_id="dist", public_key=signer(7).public_key, now=NOW)


def test_schema_invalid_event_lists_json_paths(database: Database) -> None:
    _setup(database)
    bad = replace(
        envelope("vendor", 1, document({"type": "ObjectEvent", "action": "MOVE"}), "n-000001")
    )
    with pytest.raises(InvalidInput) as info:
        svc.submit_envelopes(database, [bad.to_bytes()], now=NOW)
    paths = {e["path"] for e in info.value.details["errors"]}  # type: ignore[union-attr]
    assert "$.epcisBody.eventList[0].action" in paths
    assert "$.epcisBody.eventList[0]" in paths


XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:ct="https://chiptrail.dev/epcis/"
    schemaVersion="2.0" creationDate="2026-11-25T11:00:00Z">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-11-25T11:00:00.000Z</eventTime>
    <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
    <epcList><epc>urn:epc:id:sgtin:0614141.107346.1</epc></epcList>
    <action>ADD</action>
    <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
    <ilmd><ct:vendorSerial>VS-1</ct:vendorSerial><ct:boardSerial>BS-1</ct:boardSerial></ilmd>
  </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>"""


def test_xml_and_json_writings_of_one_event_dedupe(sqlite_database: Database) -> None:
    _setup(sqlite_database)
    env = sign_submission(
        XML,
        party_id="vendor",
        signer=signer(1),
        nonce="xml-00001",
        signed_at=NOW,
        content_type="application/xml",
    )
    first = svc.submit_envelopes(sqlite_database, [env.to_bytes()], now=NOW)
    assert first.appended == 1
    view = svc.get_chip(sqlite_database, chip(1))
    assert (view.state.custodian, view.state.board_serial) == ("vendor", "BS-1")
    same = event("commissioning", [chip(1)])
    again = _submit(sqlite_database, "vendor", 1, "json-0001", same)
    assert again.receipts[0].duplicate
