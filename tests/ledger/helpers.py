"""Builders for ledger tests: fixed-seed keys, EPCIS events and signed envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chiptrail.crypto import Ed25519Signer
from chiptrail.ledger.submission import Envelope, sign_submission

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CT = "https://chiptrail.dev/epcis/"


def signer(n: int) -> Ed25519Signer:
    """A fixed-seed key (seed = n repeated)."""
    return Ed25519Signer(bytes([n]) * 32)


def chip(n: int) -> str:
    return f"urn:epc:id:sgtin:0614141.107346.{n}"


def server(n: int) -> str:
    return f"urn:epc:id:giai:0614141.SRV{n}"


def event(
    step: str,
    epcs: list[str],
    *,
    minute: int = 0,
    destination: str | None = None,
    site: tuple[str, float, float, str] | None = None,
    event_type: str = "ObjectEvent",
    action: str = "OBSERVE",
    parent: str | None = None,
) -> dict[str, object]:
    ev: dict[str, object] = {
        "type": event_type,
        "eventTime": (NOW - timedelta(hours=1) + timedelta(minutes=minute)).isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "action": action,
        "bizStep": step,
    }
    if event_type == "AggregationEvent":
        ev["parentID"] = parent
        ev["childEPCs"] = epcs
    else:
        ev["epcList"] = epcs
    if destination:
        ev["destinationList"] = [
            {"type": "owning_party", "destination": f"urn:chiptrail:party:{destination}"}
        ]
    if site:
        ev["ct:siteCountry"], ev["ct:siteLat"], ev["ct:siteLon"], ev["ct:facility"] = site
    if step == "commissioning":
        ev["action"] = "ADD"
        ev["ilmd"] = {"ct:vendorSerial": "VS-1", "ct:boardSerial": "BS-1"}
    return ev


def document(*events: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "@context": [
                "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                {"ct": CT},
            ],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": NOW.isoformat(),
            "epcisBody": {"eventList": list(events)},
        }
    ).encode()


def envelope(party: str, key: int, payload: bytes, nonce: str, *, at: datetime = NOW) -> Envelope:
    return sign_submission(payload, party_id=party, signer=signer(key), nonce=nonce, signed_at=at)
