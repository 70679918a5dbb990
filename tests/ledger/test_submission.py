"""Signed envelopes: every signed field is covered, freshness, parsing refusals."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import timedelta

import pytest

from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.submission import (
    key_id_for,
    parse_envelope,
    sign_events,
    sign_submission,
    verify_envelope,
)
from tests.ledger.helpers import NOW, signer

PAYLOAD = b'{"type":"EPCISDocument"}'


def _good():  # type: ignore[no-untyped-def]
    return sign_submission(
        PAYLOAD, party_id="vendor", signer=signer(1), nonce="nonce-0001", signed_at=NOW
    )


def test_round_trip_verifies() -> None:
    env = _good()
    again = parse_envelope(env.to_bytes())
    assert again == env
    verify_envelope(again, signer(1).public_key, now=NOW)
    assert env.key_id == key_id_for(signer(1).public_key)
    assert len(env.key_id) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"party_id": "other"},
        {"nonce": "nonce-0002"},
        {"signed_at": NOW + timedelta(seconds=1)},
        {"content_type": "application/xml"},
        {"payload": PAYLOAD + b" "},
        {"signature": bytes(64)},
    ],
    ids=["party_id", "nonce", "signed_at", "content_type", "payload", "signature"],
)
def test_each_signed_field_is_covered(change: dict[str, object]) -> None:
    env = replace(_good(), **change)  # type: ignore[arg-type]
    with pytest.raises(VerificationError):
        verify_envelope(env, signer(1).public_key, now=NOW)


def test_key_id_must_name_the_key() -> None:
    env = replace(_good(), key_id=key_id_for(signer(2).public_key))
    with pytest.raises(VerificationError):
        verify_envelope(env, signer(1).public_key, now=NOW)
    with pytest.raises(VerificationError):
        verify_envelope(_good(), signer(2).public_key, now=NOW)


def test_signing_time_window() -> None:
    with pytest.raises(VerificationError):
        verify_envelope(_good(), signer(1).public_key, now=NOW - timedelta(hours=1))
    with pytest.raises(VerificationError):
        verify_envelope(_good(), signer(1).public_key, now=NOW + timedelta(days=8))


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("signature_b64", None, VerificationError),
        ("format", "v0", InvalidInput),
        ("nonce", "short", InvalidInput),
        ("signed_at", "yesterday", InvalidInput),
        ("signed_at", "2026-11-25T12:00:00", InvalidInput),
        ("content_type", "text/plain", InvalidInput),
        ("payload_b64", "***", InvalidInput),
        ("party_id", "", InvalidInput),
    ],
    ids=[
        "unsigned",
        "format",
        "nonce too short",
        "signed_at garbage",
        "signed_at naive",
        "content type",
        "payload not base64",
        "empty party",
    ],
)
def test_parse_refuses(field: str, value: str | None, error: type[Exception]) -> None:
    wire: dict[str, object] = dict(_good().to_json())
    if value is None:
        del wire[field]
    else:
        wire[field] = value
    with pytest.raises(error):
        parse_envelope(wire)


def test_parse_refuses_non_json() -> None:
    with pytest.raises(InvalidInput):
        parse_envelope(b"{not json")
    with pytest.raises(InvalidInput):
        parse_envelope(b"[1, 2]")


def test_payload_bytes_are_kept_exactly() -> None:
    odd = b'{ "type" : "EPCISDocument" }\n'
    env = sign_submission(odd, party_id="p1", signer=signer(3), nonce="nonce-xyz1", signed_at=NOW)
    assert base64.b64decode(env.to_json()["payload_b64"]) == odd


def test_sign_events_wraps_a_document() -> None:
    import json as _json

    from chiptrail.ledger.epcis import parse_epcis
    from tests.ledger.helpers import chip, event

    env = sign_events(
        [event("commissioning", [chip(1)])],
        party_id="vendor",
        signer=signer(1),
        nonce="nonce-0009",
        signed_at=NOW,
    )
    verify_envelope(env, signer(1).public_key, now=NOW)
    assert _json.loads(env.payload)["type"] == "EPCISDocument"
    assert parse_epcis(env.payload)[0].prefixes["ct"] == "https://chiptrail.dev/epcis/"
