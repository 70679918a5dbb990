"""A two-party world for access tests: parties A and B, a chip each, a finding about each chip.

Built through the real API with an admin key and each party's vendor key, so scoping is tested
against data stored the way production stores it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert

from chiptrail.crypto import Ed25519Signer, b64encode
from chiptrail.ledger.submission import sign_submission
from chiptrail.store.database import Database
from chiptrail.store.findings_tables import cases, findings
from tests.api.conftest import PARTY_A, PARTY_B, Keys
from tests.api.load import epcis_document

SIGNERS = {PARTY_A: Ed25519Signer(bytes([31]) * 32), PARTY_B: Ed25519Signer(bytes([32]) * 32)}
CHIPS = {
    PARTY_A: "urn:epc:id:sgtin:0614141.107346.1001",
    PARTY_B: "urn:epc:id:sgtin:0614142.107346.2002",
}
FINDINGS = {PARTY_A: "f-about-a", PARTY_B: "f-about-b"}


@dataclass(frozen=True)
class World:
    """What was built: per party, its chip and the finding about it."""

    chips: dict[str, str]
    findings: dict[str, str]


def envelope(party: str, payload: bytes, nonce: str) -> dict[str, str]:
    """``payload`` signed by ``party``'s ledger key."""
    return sign_submission(
        payload, party_id=party, signer=SIGNERS[party], nonce=nonce, signed_at=datetime.now(UTC)
    ).to_json()


def _insert_finding(db: Database, finding_id: str, subject: str) -> None:
    now = datetime.now(UTC)
    with db.unit() as conn:
        conn.execute(
            insert(cases).values(
                case_id="case-" + finding_id,
                subject=subject,
                subject_kind="chip",
                severity="high",
                score=1.0,
                rank=1,
                rules="impossible-travel",
                status="open",
                opened_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(findings).values(
                finding_id=finding_id,
                rule="impossible-travel",
                channel="hand_carry",
                severity="high",
                severity_rank=3,
                subject=subject,
                subject_kind="chip",
                detected_at=now,
                explanation="test",
                evidence=json.dumps([]),
                case_id="case-" + finding_id,
            )
        )


def build_world(client: TestClient, keys: Keys) -> World:
    """Register A and B with signing keys; each commissions its chip; one finding per chip."""
    admin = keys.headers("admin")
    for party, signer in SIGNERS.items():
        body = {"party_id": party, "name": party, "country": "US"}
        assert client.post("/v1/ledger/parties", json=body, headers=admin).status_code == 201
        key = {"public_key_b64": b64encode(signer.public_key)}
        answer = client.post(f"/v1/ledger/parties/{party}/keys", json=key, headers=admin)
        assert answer.status_code == 201, answer.text
    for party, vendor in ((PARTY_A, "vendor_a"), (PARTY_B, "vendor_b")):
        doc = epcis_document(CHIPS[party], datetime.now(UTC))
        answer = client.post(
            "/v1/events", json=envelope(party, doc, f"world-{party}"), headers=keys.headers(vendor)
        )
        assert answer.status_code == 201, answer.text
    db: Database = client.app.state.database  # type: ignore[attr-defined]
    for party in SIGNERS:
        _insert_finding(db, FINDINGS[party], CHIPS[party])
    return World(chips=dict(CHIPS), findings=dict(FINDINGS))
