"""Ingest a simulated world's custody events into the real ledger: signed EPCIS, Merkle log.

Every recording party is registered with a fixed-seed Ed25519 key; each event becomes an EPCIS 2.0
document in a signed envelope submitted through ``service.ledger.submit_envelopes``. The receipts'
leaf indexes replace the simulator's, so findings point at real log entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from chiptrail.crypto import Ed25519Signer, sha256
from chiptrail.errors import Conflict
from chiptrail.ledger.custody import CHIPTRAIL_NS
from chiptrail.ledger.submission import Envelope, key_id_for, sign_submission
from chiptrail.rules.view import CustodyEvent
from chiptrail.service.ledger import events as ledger_service
from chiptrail.sim.world import World
from chiptrail.store.database import Database
from chiptrail.types import PartyId

BATCH = 400
_MAX_SPAN = timedelta(days=5)
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def chip_epc(chip_id: str) -> str:
    """The chip's EPC URI (simulated chips are already named by theirs)."""
    return chip_id if chip_id.startswith("urn:") else f"urn:epc:id:sgtin:0614141.107346.{chip_id}"


def _signer(world: World, party_id: str) -> Ed25519Signer:
    return Ed25519Signer(sha256(f"chiptrail-demo/{world.seed}/{party_id}".encode()))


def _epcis(world: World, ev: CustodyEvent, order_of: Mapping[str, str]) -> bytes:
    body: dict[str, object] = {
        "type": "ObjectEvent",
        "eventTime": ev.at.isoformat(),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [chip_epc(c) for c in ev.chip_ids],
        "action": "ADD" if ev.biz_step == "commissioning" else "OBSERVE",
        "bizStep": ev.biz_step,
        "ct:simEventId": ev.event_id,
    }
    if ev.destination_party:
        body["destinationList"] = [
            {"type": "owning_party", "destination": f"urn:chiptrail:party:{ev.destination_party}"}
        ]
    site = world.sites.get(ev.site_id or "")
    if site is not None:
        body["ct:siteCountry"], body["ct:siteLat"] = site.country, round(site.lat, 5)
        body["ct:siteLon"], body["ct:facility"] = round(site.lon, 5), site.site_id
    if ev.parts_replaced:
        body["ct:partsReplaced"] = list(ev.parts_replaced)
    if ev.licence_id:
        body["ct:licenceId"] = ev.licence_id
    if ev.biz_step in ("commissioning", "shipping"):
        # The purchase order each lot was sold in (EPCIS 2.0 bizTransactionList, CBV type po).
        orders = sorted({order_of[c] for c in ev.chip_ids if c in order_of})
        if orders:
            body["bizTransactionList"] = [
                {"type": "po", "bizTransaction": f"urn:chiptrail:po:{o}"} for o in orders
            ]
    doc = {
        "@context": [EPCIS_CONTEXT, {"ct": CHIPTRAIL_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": ev.at.isoformat(),
        "epcisBody": {"eventList": [body]},
    }
    return json.dumps(doc, sort_keys=True).encode()


def _wire(envelope: Envelope) -> dict[str, object]:
    return dict(envelope.to_json())


def _register(db: Database, world: World, party_ids: set[str]) -> None:
    first = world.events[0].at - timedelta(days=1) if world.events else world.now
    for pid in sorted(party_ids):
        p = world.parties[PartyId(pid)]
        with suppress(Conflict):  # registered by an earlier run of the same world
            ledger_service.register_party(
                db, party_id=pid, name=p.name, country=p.country, kind="Company", now=first
            )
        key = _signer(world, pid).public_key
        known = {k.key_id for k in ledger_service.list_party_keys(db, pid)}
        if key_id_for(key) not in known:
            ledger_service.add_party_key(db, party_id=pid, public_key=key, now=first)


def ingest_world(
    db: Database, world: World, progress: Callable[[int, int], None] | None = None
) -> tuple[CustodyEvent, ...]:
    """Sign and submit every custody event of ``world``; return them with real leaf indexes.

    Events are submitted in time order, in batches whose signatures are all fresh at the batch's
    submission time (the ledger refuses envelopes older than its maximum age). Re-running on the
    same database finds the events already logged (same event hash) and reuses their leaves.
    """
    events = world.events
    _register(db, world, {e.party_id for e in events})
    order_of = {str(c): o for c, o in zip(world.chip_ids, world.chip_order, strict=True)}
    out: list[CustodyEvent] = []
    start = 0
    while start < len(events):
        stop = start + 1
        while (
            stop < len(events)
            and stop - start < BATCH
            and events[stop].at - events[start].at < _MAX_SPAN
        ):
            stop += 1
        chunk = events[start:stop]
        envelopes: list[bytes | dict[str, object]] = [
            _wire(
                sign_submission(
                    _epcis(world, ev, order_of),
                    party_id=ev.party_id,
                    signer=_signer(world, ev.party_id),
                    nonce=uuid4().hex,
                    signed_at=ev.at,
                )
            )
            for ev in chunk
        ]
        result = ledger_service.submit_envelopes(
            db, envelopes, now=chunk[-1].at + timedelta(minutes=1)
        )
        out += [
            replace(ev, leaf_index=r.leaf_index, event_id=r.event_id)
            for ev, r in zip(chunk, result.receipts, strict=True)
        ]
        start = stop
        if progress is not None:
            progress(len(out), len(events))
    return tuple(out)
