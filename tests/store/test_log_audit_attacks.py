"""The registry operator attacks its own log; ``audit verify`` with envelopes catches it.

Issue 15: an event fabricated in a party's name and re-signed with the log key passed the audit,
because entries kept only an envelope hash. Now each event leaf commits to the party's key id
and signature, and an auditor holding the envelopes checks the party signed every event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from chiptrail.crypto import b64encode
from chiptrail.ledger.audit import audit_export
from chiptrail.ledger.entries import (
    EntryKind,
    decode_entry,
    encode_event_detail,
    encode_event_entry,
)
from chiptrail.ledger.envelope_audit import EnvelopeRecord
from chiptrail.ledger.epcis import parse_epcis
from chiptrail.ledger.event_hash import event_hash
from chiptrail.ledger.submission import Envelope, key_id_for
from chiptrail.service.ledger import envelopes as svc_env
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import log as svc_log
from chiptrail.service.ledger import rows
from chiptrail.service.settings import Settings
from chiptrail.store.database import Database
from tests.ledger.helpers import NOW, chip, document, event, signer
from tests.store.test_ledger_store import _setup, _submit


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", data_dir=tmp_path / "data")


def _export(db: Database, tmp_path: Path, name: str) -> dict[str, bytes]:
    out = tmp_path / name
    svc_log.export_log_to(db, _settings(tmp_path), out, now=NOW)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _records(db: Database) -> dict[int, EnvelopeRecord]:
    page = svc_env.list_envelope_records(db, party_id=None)
    return {r.leaf_index: r for r in page.records}


def _flow(db: Database) -> None:
    _setup(db)
    _submit(db, "vendor", 1, "n-000001", event("commissioning", [chip(1), chip(2)]))
    _submit(db, "vendor", 1, "n-000002", event("shipping", [chip(1)], minute=1, destination="dc"))


def _fabricate(db: Database) -> EnvelopeRecord:
    """What a dishonest operator can do: append a leaf claiming the vendor signed it."""
    payload = document(event("shipping", [chip(2)], minute=2, destination="other"))
    unsigned = Envelope(
        "vendor", key_id_for(signer(1).public_key), "n-fake01", NOW, "application/ld+json",
        payload, b"",
    )  # fmt: skip
    forged = replace(unsigned, signature=signer(99).sign(unsigned.signing_input()))
    (batch,) = parse_epcis(payload)
    raw = batch.events[0]
    detail = encode_event_detail(
        {
            "event_id": event_hash(raw, batch.context),
            "party_id": "vendor",
            "key_id": forged.key_id,
            "signature_b64": b64encode(forged.signature),
            "envelope_sha256": forged.digest,
            "position": 0,
            "prefixes": dict(batch.prefixes),
            "event": raw,
        }
    )
    with db.unit() as conn:
        size = rows.lock_log_head(conn)
        pending = svc._Pending(
            EntryKind.EVENT, encode_event_entry(detail), "fake", "vendor", detail
        )
        svc._append(conn, size, [pending], NOW)
    return EnvelopeRecord(size, detail, forged)


def test_every_real_event_verifies_against_its_envelope(database: Database, tmp_path: Path) -> None:
    _flow(database)
    files = _export(database, tmp_path, "export")
    records = _records(database)
    assert len(records) == 2
    report = audit_export(
        files, svc_log.log_verifier_key(_settings(tmp_path)), envelopes=records,
        require_envelopes=True,
    )  # fmt: skip
    assert report.problems == ()
    assert (report.envelopes_checked, report.events_unchecked) == (2, 0)


def test_fabricated_event_resigned_with_the_log_key_is_caught(
    database: Database, tmp_path: Path
) -> None:
    _flow(database)
    forged = _fabricate(database)
    files = _export(database, tmp_path, "export")
    vkey = svc_log.log_verifier_key(_settings(tmp_path))
    assert audit_export(files, vkey).is_valid  # the log key alone cannot tell
    honest = _records(database)
    missing = audit_export(files, vkey, envelopes=honest, require_envelopes=True)
    assert [p.message for p in missing.problems] == [
        f"leaf {forged.leaf_index}: no envelope for this event"
    ]
    faked = audit_export(files, vkey, envelopes={**honest, forged.leaf_index: forged})
    assert len(faked.problems) == 1
    assert "fabricated" in faked.problems[0].message


def _valid(db: Database, tmp_path: Path) -> tuple[dict[str, bytes], str, EnvelopeRecord]:
    _flow(db)
    records = _records(db)
    return (
        _export(db, tmp_path, "e"),
        svc_log.log_verifier_key(_settings(tmp_path)),
        max(records.values(), key=lambda r: r.leaf_index),
    )


DETAIL_FIELDS = [
    ("event_id", "ni:///sha-256;00?ver=CBV2.0"),
    ("party_id", "other"),
    ("key_id", "00" * 8),
    ("signature_b64", b64encode(bytes(64))),
    ("envelope_sha256", "00" * 32),
    ("position", 1),
    ("prefixes", {}),
    ("event", {"type": "ObjectEvent"}),
]


@pytest.mark.parametrize(("name", "value"), DETAIL_FIELDS, ids=[f[0] for f in DETAIL_FIELDS])
def test_each_committed_detail_field_is_bound(
    sqlite_database: Database, tmp_path: Path, name: str, value: object
) -> None:
    files, vkey, record = _valid(sqlite_database, tmp_path)
    assert record.detail is not None
    body = dict(decode_entry(encode_event_entry(record.detail), record.detail).body)
    body[name] = value
    bad = replace(record, detail=encode_event_detail(body))
    report = audit_export(files, vkey, envelopes={record.leaf_index: bad})
    assert [p.message for p in report.problems] == [
        f"leaf {record.leaf_index}: event detail does not match the entry's commitment"
    ]


ENVELOPE_FIELDS = [
    ("party_id", "dc"),
    ("key_id", key_id_for(signer(3).public_key)),
    ("nonce", "n-999999"),
    ("signed_at", NOW - timedelta(seconds=1)),
    ("content_type", "application/json"),
    ("payload", document(event("shipping", [chip(2)], minute=1, destination="dc"))),
    ("signature", bytes(64)),
]


@pytest.mark.parametrize(("name", "value"), ENVELOPE_FIELDS, ids=[f[0] for f in ENVELOPE_FIELDS])
def test_each_signed_envelope_field_is_checked(
    sqlite_database: Database, tmp_path: Path, name: str, value: object
) -> None:
    files, vkey, record = _valid(sqlite_database, tmp_path)
    bad = replace(record, envelope=replace(record.envelope, **{name: value}))
    report = audit_export(files, vkey, envelopes={record.leaf_index: bad})
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].message.startswith(f"leaf {record.leaf_index}: ")
    assert report.envelopes_checked == 0
