"""The public log shows commitments, not custody data; v1 entries of older logs still read."""

from __future__ import annotations

import json

import pytest

from chiptrail.errors import VerificationError
from chiptrail.ledger.entries import (
    EntryKind,
    decode_entry,
    encode_entry,
    encode_event_detail,
    encode_event_entry,
)
from chiptrail.ledger.tiles import list_entry_bundles, parse_entry_bundle
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.ledger import rows
from chiptrail.store.database import Database
from tests.ledger.helpers import NOW, chip, event
from tests.store.test_ledger_store import _setup, _size, _submit


def test_public_entries_hold_only_commitments(database: Database) -> None:
    _setup(database)
    site = ("MY", 1.4927, 103.7414, "Johor DC1")
    _submit(database, "vendor", 1, "n-000001", event("commissioning", [chip(1)], site=site))
    _submit(database, "vendor", 1, "n-000002", event("shipping", [chip(1)], destination="dc"))
    size = _size(database)
    public = b"".join(
        svc_log.read_log_tile(database, b.path).data for b in list_entry_bundles(size)
    )
    for secret in (b"urn:epc", b"107346", b"Johor", b"103.74", b"owning_party", b"shipping"):
        assert secret not in public
    events = [
        json.loads(e)
        for b in list_entry_bundles(size)
        for e in parse_entry_bundle(svc_log.read_log_tile(database, b.path).data)
        if b'"event"' in e
    ]
    assert len(events) == 2
    assert all(sorted(e) == ["commitment", "kind", "v"] and e["v"] == 2 for e in events)
    # the registry still reads the events behind them
    view = svc.get_chip(database, chip(1))
    assert [h.biz_step for h in view.history] == ["commissioning", "shipping"]


def test_detail_must_match_its_commitment() -> None:
    detail = encode_event_detail({"event_id": "ni:x", "party_id": "a", "event": {}})
    entry = encode_event_entry(detail)
    assert decode_entry(entry, detail).body["party_id"] == "a"
    assert set(decode_entry(entry).body) == {"commitment"}
    forged = encode_event_detail({"event_id": "ni:x", "party_id": "b", "event": {}})
    with pytest.raises(VerificationError, match="commitment"):
        decode_entry(entry, forged)


def test_v1_entries_of_an_older_log_replay(database: Database) -> None:
    _setup(database)
    raw = event("commissioning", [chip(1)])
    v1 = encode_entry(
        EntryKind.EVENT,
        {
            "event_id": "ni:///sha-256;legacy?ver=CBV2.0",
            "party_id": "vendor",
            "key_id": "00",
            "envelope_sha256": "00" * 32,
            "prefixes": {},
            "event": raw,
        },
    )
    with database.unit() as conn:
        size = rows.lock_log_head(conn)
        svc._append(conn, size, [svc._Pending(EntryKind.EVENT, v1, "legacy", "vendor")], NOW)
    assert svc.rebuild_registry(database) == size + 1
    assert svc.get_chip(database, chip(1)).state.custodian == "vendor"
