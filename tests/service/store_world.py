"""A small real situation built through the services: signed custody, a list, verdicts, tenancy.

- chip 1 (clean): vendor-a -> op-d, received, installed at us-dc-1, VERIFIED there recently.
- chip 2: vendor-a shipped it to dist-b 40 days ago; nobody recorded receiving it.
- chips 3 and 4 (one lot): shipped to front-c, received and installed at hk-dc-9; chip 3's latest
  verdict is VIOLATION. front-c's name is on a loaded restricted list and it rents cloud capacity
  from op-d; holding-e owns 60% of front-c.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chiptrail.crypto import Ed25519Signer, sha256
from chiptrail.ledger.submission import sign_events
from chiptrail.parties.aggregate import TenancyRecord
from chiptrail.service.ledger import events as ledger
from chiptrail.service.parties import graph as parties_graph
from chiptrail.service.parties import lists as parties
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import ProbeRepository
from chiptrail.types import PartyId

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PARTIES = {
    "vendor-a": ("Alpha Accelerators Inc", "US"),
    "dist-b": ("Bravo Distribution Pte Ltd", "SG"),
    "front-c": ("Shenzhen Huaxin Trading Co Ltd", "HK"),
    "op-d": ("Delta Compute LLC", "US"),
}
US_SITE = ("US", 37.39, -122.08, "us-dc-1")
HK_SITE = ("HK", 22.32, 114.17, "hk-dc-9")
LIST = [
    {
        "id": "el-1",
        "schema": "Company",
        "properties": {"name": ["Shenzhen Huaxin Trading Company Limited"], "country": ["cn"]},
    },
    {
        "id": "el-2",
        "schema": "Company",
        "properties": {"name": ["Northern Lights Avionics Research Bureau"], "country": ["ru"]},
    },
]


def chip(n: int) -> str:
    """The EPC of test chip ``n``."""
    return f"urn:epc:id:sgtin:0614141.107346.{n}"


def _signer(party: str) -> Ed25519Signer:
    return Ed25519Signer(sha256(f"rules-view-test/{party}".encode()))


@dataclass
class StoreWorld:
    """Leaf indexes of the events the tests cite."""

    leaves: dict[str, int]


def _event(step: str, epcs: list[str], at: datetime, **extra: object) -> dict[str, object]:
    ev: dict[str, object] = {
        "type": "ObjectEvent",
        "eventTime": at.isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "epcList": epcs,
        "action": "ADD" if step == "commissioning" else "OBSERVE",
        "bizStep": step,
    }
    dest = extra.pop("destination", None)
    if dest:
        ev["destinationList"] = [
            {"type": "owning_party", "destination": f"urn:chiptrail:party:{dest}"}
        ]
    site = extra.pop("site", None)
    if isinstance(site, tuple):
        ev["ct:siteCountry"], ev["ct:siteLat"], ev["ct:siteLon"], ev["ct:facility"] = site
    ev.update(extra)
    return ev


def _submit(db: Database, party: str, name: str, ev: dict[str, object], out: StoreWorld) -> None:
    at = datetime.fromisoformat(str(ev["eventTime"]))
    env = sign_events(
        [ev], party_id=party, signer=_signer(party), nonce=f"nonce-{name}", signed_at=at
    )
    result = ledger.submit_envelopes(db, [env.to_bytes()], now=at + timedelta(minutes=1))
    out.leaves[name] = result.receipts[0].leaf_index


def _verdict(
    db: Database, chip_id: str, verdict: str, at: datetime, lat: float, lon: float
) -> None:
    evidence = {
        "chip_id": chip_id,
        "verdict": verdict,
        "reason": f"test verdict {verdict}",
        "proven_countries": ["MY"] if verdict == "VIOLATION" else ["US"],
        "likely_countries": [],
        "region": {"lat": lat, "lon": lon, "proven_radius_km": 350.0},
        "evidence": [{"landmark_id": "lm-sin"}, {"landmark_id": "lm-kul"}],
        "measurements": [],
        "lat": lat,
        "lon": lon,
        "n_landmarks": 2,
        "computed_at": at.isoformat(),
    }
    with db.unit() as conn:
        ProbeRepository(conn).insert_verdict(
            {
                "chip_id": chip_id,
                "verdict": verdict,
                "computed_at": at,
                "declared_lat": None,
                "declared_lon": None,
                "declared_country": None,
                "n_landmarks": 2,
                "evidence_json": json.dumps(evidence),
            }
        )


def build_store_world(db: Database) -> StoreWorld:
    """Register, sign, submit, load and store the situation above; returns the cited leaves."""
    start = NOW - timedelta(days=60)
    for pid, (name, country) in PARTIES.items():
        ledger.register_party(
            db, party_id=pid, name=name, country=country, kind="Company", now=start
        )
        ledger.add_party_key(db, party_id=pid, public_key=_signer(pid).public_key, now=start)
    parties_graph.add_parties(
        db,
        [
            {"id": "front-c", "schema": "Company", "properties": {"name": [PARTIES["front-c"][0]]}},
            {"id": "holding-e", "schema": "Company", "properties": {"name": ["Echo Holdings"]}},
            {
                "id": "own-e-c",
                "schema": "Ownership",
                "properties": {"owner": ["holding-e"], "asset": ["front-c"], "percentage": ["60"]},
            },
        ],
    )
    parties.load_list(
        db,
        "\n".join(json.dumps(e) for e in LIST).encode(),
        now=start,
        list_id="test-entity-list",
    )
    out = StoreWorld({})
    day = timedelta(days=1)
    model = {"ilmd": {"ct:chipModel": "H100 SXM"}}
    lot, every = [chip(3), chip(4)], [chip(n) for n in range(1, 5)]
    steps: list[tuple[str, str, dict[str, object]]] = [
        ("vendor-a", "commission", _event("commissioning", every, start, **model)),
        ("vendor-a", "ship-1", _event("shipping", [chip(1)], start + day, destination="op-d")),
        ("vendor-a", "ship-3", _event("shipping", lot, start + day, destination="front-c")),
        ("op-d", "receive-1", _event("receiving", [chip(1)], start + 3 * day)),
        ("front-c", "receive-3", _event("receiving", lot, start + 4 * day)),
        ("op-d", "install-1", _event("installing", [chip(1)], start + 5 * day, site=US_SITE)),
        ("front-c", "install-3", _event("installing", lot, start + 6 * day, site=HK_SITE)),
        ("vendor-a", "ship-2", _event("shipping", [chip(2)], NOW - 40 * day, destination="dist-b")),
    ]  # fmt: skip
    for party, name, ev in steps:
        _submit(db, party, name, ev, out)
    _verdict(db, chip(1), "VERIFIED", NOW - 2 * day, 37.4, -122.1)
    for n in (3, 4):
        _verdict(db, chip(n), "VERIFIED", NOW - 20 * day, 22.3, 114.2)
        _verdict(db, chip(n), "VIOLATION" if n == 3 else "VERIFIED", NOW - 3 * day, 3.1, 101.7)
    parties_graph.report_tenancy(
        db,
        [
            TenancyRecord(
                "op-d", PartyId("front-c"), "h100-sxm", 1200.0, NOW - 10 * day, NOW - 5 * day
            )
        ],
        now=NOW - 5 * day,
    )
    return out
