"""EntryChecker on hand-built entries: key history, downgrades, the envelopes file."""

from __future__ import annotations

import json

import pytest

from chiptrail.crypto import b64encode
from chiptrail.errors import InvalidInput
from chiptrail.ledger.entries import (
    EntryKind,
    encode_entry,
    encode_event_detail,
    encode_event_entry,
)
from chiptrail.ledger.envelope_audit import EntryChecker, EnvelopeRecord, parse_envelope_records
from chiptrail.ledger.epcis import parse_epcis
from chiptrail.ledger.event_hash import event_hash
from chiptrail.ledger.submission import key_id_for
from tests.ledger.helpers import chip, document, envelope, event, signer


def _key_add(n: int, party: str = "vendor") -> bytes:
    public = signer(n).public_key
    return encode_entry(
        EntryKind.KEY_ADD,
        {"party_id": party, "key_id": key_id_for(public), "public_key_b64": b64encode(public)},
    )


def _event_leaf(index: int, key: int = 1) -> tuple[bytes, EnvelopeRecord]:
    env = envelope("vendor", key, document(event("commissioning", [chip(index)])), f"n-{index:06d}")
    (batch,) = parse_epcis(env.payload)
    raw = batch.events[0]
    detail = encode_event_detail(
        {
            "event_id": event_hash(raw, batch.context),
            "party_id": env.party_id,
            "key_id": env.key_id,
            "signature_b64": b64encode(env.signature),
            "envelope_sha256": env.digest,
            "position": 0,
            "prefixes": dict(batch.prefixes),
            "event": raw,
        }
    )
    return encode_event_entry(detail), EnvelopeRecord(index, detail, env)


def test_key_must_be_in_the_log_before_the_event_and_not_revoked() -> None:
    entry, record = _event_leaf(1)
    early = EntryChecker({1: record})
    assert early.check(0, encode_entry(EntryKind.PARTY, {"party_id": "vendor"})) == []
    assert "not in the log yet" in early.check(1, entry)[0]
    ok = EntryChecker({1: record})
    assert ok.check(0, _key_add(1)) == []
    assert ok.check(1, entry) == []
    assert ok.checked == 1
    revoked = EntryChecker({2: record})
    revoke = encode_entry(
        EntryKind.KEY_REVOKE, {"party_id": "vendor", "key_id": key_id_for(signer(1).public_key)}
    )
    assert revoked.check(0, _key_add(1)) + revoked.check(1, revoke) == []
    assert "revoked" in revoked.check(2, entry)[0]


def test_a_plain_v1_event_after_v2_ones_is_a_downgrade() -> None:
    entry, _ = _event_leaf(1)
    checker = EntryChecker({})
    assert checker.check(0, entry) == []
    v1 = encode_entry(EntryKind.EVENT, {"event_id": "x", "party_id": "vendor", "event": {}})
    assert "downgrade" in checker.check(1, v1)[0]
    assert (checker.unchecked, checker.legacy) == (2, 1)


def test_envelopes_file_round_trip_and_errors() -> None:
    _, record = _event_leaf(3)
    line = json.dumps(record.to_json()).encode()
    assert parse_envelope_records(line + b"\n\n") == {3: record}
    with pytest.raises(InvalidInput, match="twice"):
        parse_envelope_records(line + b"\n" + line)
    with pytest.raises(InvalidInput, match="line 2"):
        parse_envelope_records(line + b'\n{"leaf_index": "x"}')


def test_saved_api_pages_are_read_too() -> None:
    _, one = _event_leaf(3)
    _, two = _event_leaf(4)
    page = {"records": [one.to_json(), two.to_json()], "next_start": None}
    assert parse_envelope_records(json.dumps(page, indent=1).encode()) == {3: one, 4: two}
    lines = json.dumps({"records": [one.to_json()]}) + "\n" + json.dumps(two.to_json())
    assert parse_envelope_records(lines.encode()) == {3: one, 4: two}
