"""GET /v1/ledger/envelopes: a party reads its own events' envelopes, auditors all of them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from chiptrail.ledger.envelope_audit import EnvelopeRecord
from chiptrail.service.ledger import events as svc
from chiptrail.store.database import Database
from tests.api.conftest import PARTY_A, PARTY_B, Keys
from tests.ledger.helpers import NOW, document, envelope, event, signer


def _log(db: Database) -> None:
    for n, party in enumerate((PARTY_A, PARTY_B), start=1):
        svc.register_party(db, party_id=party, name=party, country="US", kind="Company", now=NOW)
        svc.add_party_key(db, party_id=party, public_key=signer(n).public_key, now=NOW)
        chips = [f"urn:epc:id:sgtin:0614141.10734{n}.{i}" for i in (1, 2)]
        env = envelope(party, n, document(event("commissioning", chips)), f"n-{n:06d}")
        svc.submit_envelopes(db, [env.to_bytes()], now=NOW)


@pytest.mark.parametrize(
    ("role", "parties"),
    [
        ("vendor_a", {PARTY_A}),
        ("vendor_b", {PARTY_B}),
        ("operator_a", {PARTY_A}),
        ("auditor", {PARTY_A, PARTY_B}),
        ("analyst", {PARTY_A, PARTY_B}),
        ("admin", {PARTY_A, PARTY_B}),
    ],
)
def test_envelopes_are_scoped_to_the_callers_party(
    authed_sqlite: tuple[TestClient, Keys], role: str, parties: set[str]
) -> None:
    client, keys = authed_sqlite
    _log(client.app.state.database)  # type: ignore[attr-defined]
    r = client.get("/v1/ledger/envelopes", headers=keys.headers(role))
    assert r.status_code == 200, r.text
    records = [EnvelopeRecord.from_json(x) for x in r.json()["records"]]
    assert {rec.envelope.party_id for rec in records} == parties
    assert len(records) == len(parties)
    assert r.json()["next_start"] is None


def test_envelopes_need_a_key_and_a_party_role(authed_sqlite: tuple[TestClient, Keys]) -> None:
    client, keys = authed_sqlite
    assert client.get("/v1/ledger/envelopes").status_code == 401
    assert client.get("/v1/ledger/envelopes", headers=keys.headers("landmark")).status_code == 403
    page = client.get("/v1/ledger/envelopes?limit=1", headers=keys.headers("admin"))
    assert page.status_code == 200
    assert (
        client.get("/v1/ledger/envelopes?limit=0", headers=keys.headers("admin")).status_code == 422
    )
