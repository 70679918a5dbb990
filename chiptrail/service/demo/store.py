"""Store a simulated world's verdicts, parties and tenancy so ``chiptrail serve`` shows it.

Writes through the owning capabilities' store APIs: location verdicts via the probe store's
``ProbeRepository.insert_verdict``, parties and ownership via ``service.parties_graph.add_parties``
(FollowTheMoney entities), cloud usage via ``service.parties_graph.report_tenancy``, and the
simulated restricted list via ``service.parties.load_list`` (as ``chiptrail lists load`` does), so
``chiptrail rules run`` over a demo database screens against it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert, select

from chiptrail.crypto import Ed25519Signer, sha256
from chiptrail.errors import ChiptrailError, Conflict
from chiptrail.geoloc import disk_radii
from chiptrail.parties.aggregate import TenancyRecord
from chiptrail.parties.formats.detect import ListFormat
from chiptrail.parties.model import Party as ListedParty
from chiptrail.parties.model import PartySet, to_ftm
from chiptrail.records import AddressKind as RecordAddressKind
from chiptrail.records import (
    AddressRecord,
    DeclarationRecord,
    EndUseCertificate,
    LicenceKind,
    LicenceRecord,
    OrderRecord,
    PaymentRecord,
    Record,
    RecordKind,
    SiteRecord,
)
from chiptrail.rules.view import AddressKind, LocationFix, Order, Role
from chiptrail.service.location.intake import register_landmarks
from chiptrail.service.location.probe import RegisteredLandmark
from chiptrail.service.parties import graph as parties_graph
from chiptrail.service.parties import lists as parties
from chiptrail.service.records.ingest import add_records
from chiptrail.sim.world import World
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import location_verdicts_table
from chiptrail.store.parties_tables import party_entities
from chiptrail.types import Country, LandmarkId, PartyId

SIM_LIST_ID = "sim-entity-list"
"""List id of the simulated restricted list (in memory and in the store)."""


def _disks(fixes: Sequence[LocationFix]) -> list[list[dict[str, object]]]:
    """Each fix's proven and likely disk per landmark (``geoloc.disk_radii``, the fibre fallback
    the simulator's judge uses), computed for all fixes at once."""
    flat = np.array([ms for f in fixes for _, ms in f.rtts_ms], dtype=np.float64)
    proven, likely = disk_radii(flat)
    p, lk = proven.round(1).tolist(), likely.round(1).tolist()
    out: list[list[dict[str, object]]] = []
    at = 0
    for f in fixes:
        out.append(
            [
                {"landmark_id": lm, "rtt_ms": ms, "proven_km": p[at + k], "likely_km": lk[at + k]}
                for k, (lm, ms) in enumerate(f.rtts_ms)
            ]
        )
        at += len(f.rtts_ms)
    return out


def _verdict_row(
    world: World, fix: LocationFix, disks: list[dict[str, object]]
) -> dict[str, object]:
    site = world.sites.get(fix.site_id or "")
    declared = (
        None
        if site is None
        else {
            "lat": site.lat,
            "lon": site.lon,
            "country": site.country,
            "radius_km": None,
            "source": "ledger",
        }
    )
    landmarks: list[dict[str, object]] = [
        {"landmark_id": lm, "rtt_ms": ms} for lm, ms in fix.rtts_ms
    ] or [{"landmark_id": lm} for lm in fix.landmark_ids]
    evidence = {
        "chip_id": fix.chip_id,
        "verdict": fix.verdict.value,
        "reason": fix.explanation,
        "declared_site": declared,
        "proven_countries": list(fix.proven_countries),
        "likely_countries": list(fix.likely_countries),
        "region": {"lat": fix.lat, "lon": fix.lon, "proven_radius_km": fix.radius_km},
        # per-landmark minimum RTTs, as geoloc's own evidence carries them (per-chip baselines)
        "evidence": landmarks,
        "disks": disks,
        "measurements": [],
        "lat": fix.lat,
        "lon": fix.lon,
        "n_landmarks": len(fix.landmark_ids),
        "computed_at": fix.at.isoformat(),
        "source": "chiptrail demo (simulated measurements)",
    }
    return {
        "chip_id": fix.chip_id,
        "verdict": fix.verdict.value,
        "computed_at": fix.at,
        "declared_lat": None if site is None else site.lat,
        "declared_lon": None if site is None else site.lon,
        "declared_country": None if site is None else site.country,
        "n_landmarks": len(fix.landmark_ids),
        "evidence_json": json.dumps(evidence, sort_keys=True),
    }


def store_verdicts(db: Database, world: World, fixes: Sequence[LocationFix]) -> int:
    """Store every verdict, stamped with its measurement time (skipped when this world's are
    stored): the rules judge only what is stored, so every fix they read must be there."""
    chosen = sorted(fixes, key=lambda f: (f.at, f.chip_id, f.fix_id))
    with db.unit() as conn:
        t = location_verdicts_table
        if (
            chosen
            and conn.execute(
                select(t.c.verdict_id).where(t.c.chip_id == chosen[0].chip_id).limit(1)
            ).first()
        ):
            return 0
        disks = _disks(chosen)
        rows = [_verdict_row(world, fix, d) for fix, d in zip(chosen, disks, strict=True)]
        for start in range(0, len(rows), 5000):  # one multi-row statement per chunk
            conn.execute(insert(location_verdicts_table), rows[start : start + 5000])
    return len(chosen)


def _ftm(world: World) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [
        {
            "id": p.party_id,
            "schema": "Company",
            "properties": {
                "name": [p.name],
                "country": [p.country.lower()],
                "sector": [p.role.value],
                **(
                    {"incorporationDate": [p.incorporated_at.isoformat()]}
                    if p.incorporated_at
                    else {}
                ),
            },
        }
        for p in world.parties.values()
    ]
    for n, e in enumerate(world.ownership):
        out.append(
            {
                "id": f"own-{e.owner}-{e.owned}-{n}",
                "schema": "Ownership",
                "properties": {
                    "owner": [e.owner],
                    "asset": [e.owned],
                    "percentage": [f"{e.share * 100:g}"],
                },
            }
        )
    return out


def store_parties(db: Database, world: World, now: datetime) -> int:
    """Store parties, ownership and tenancy of ``world`` (skipped when already stored)."""
    first = next(iter(world.parties))
    with db.unit() as conn:
        t = party_entities
        if conn.execute(select(t.c.entity_id).where(t.c.entity_id == first)).first():
            return 0
    try:
        added = parties_graph.add_parties(db, _ftm(world))
    except Conflict:
        return 0
    records = [
        TenancyRecord(u.cloud, u.tenant, "h100-sxm", u.chip_hours, u.start_at, u.end_at)
        for u in world.usage
    ]
    if records:
        parties_graph.report_tenancy(db, records, now=now)
    return added.parties


def trade_records(world: World) -> dict[RecordKind, list[Record]]:
    """The world's orders (with a payment each), licences, declared sites and the addresses that
    are not offices, as the trade records an ERP export and the registry would hold; each
    licensed order also gets the buyer's end-user certificate and the exporter's declaration."""
    out: dict[RecordKind, list[Record]] = defaultdict(list)
    model_of = dict(zip(world.chip_order, world.chip_model, strict=True))
    first_event = min((e.at for e in world.events), default=world.now)
    for o in world.orders:
        out[RecordKind.ORDER].append(
            OrderRecord(
                o.order_id,
                o.buyer,
                o.seller,
                o.quantity,
                o.ordered_at,
                chip_model=model_of.get(o.order_id),
                licence_id=o.licence_id,
                site_id=o.site_id,
                ship_via=o.ship_via,
            )
        )
        if o.payment_country:
            out[RecordKind.PAYMENT].append(
                PaymentRecord(
                    f"pay-{o.order_id}",
                    o.buyer,
                    o.seller,
                    o.ordered_at,
                    payer_country=o.payment_country,
                    order_id=o.order_id,
                )
            )
        if o.licence_id in world.licences:
            out[RecordKind.END_USE].append(_certificate(world, o))
            out[RecordKind.DECLARATION].append(
                DeclarationRecord(
                    f"X{o.order_id}",
                    o.seller,
                    o.buyer,
                    world.licences[o.licence_id].country,
                    o.quantity,
                    o.ordered_at,
                    order_id=o.order_id,
                    licence_id=o.licence_id,
                )
            )
    for lic in world.licences.values():
        out[RecordKind.LICENCE].append(
            LicenceRecord(
                lic.licence_id,
                holder=lic.holder or lic.end_user,
                end_user=lic.end_user,
                country=lic.country,
                quantity=lic.quantity,
                valid_from=lic.valid_from or first_event - timedelta(days=365),
                valid_until=lic.valid_until,
                site_ids=lic.site_ids,
                consignees=lic.consignees,
                kind=LicenceKind(lic.kind),
                exception_code=lic.exception_code,
            )
        )
    for site in world.site_list:
        out[RecordKind.SITE].append(
            SiteRecord(
                site.site_id,
                site.operator,
                site.country,
                site.lat,
                site.lon,
                first_event - timedelta(days=365),
                radius_km=site.radius_km,
                capacity_chips=site.capacity_chips,
            )
        )
    for p in world.parties.values():
        if p.address_kind is not AddressKind.OFFICE:
            at = p.incorporated_at or first_event
            out[RecordKind.ADDRESS].append(
                AddressRecord(p.party_id, RecordAddressKind(p.address_kind.value), at)
            )
    return out


def _certificate(world: World, order: Order) -> EndUseCertificate:
    """The end-user certificate a licensed buyer signs: its country, site and end use (cloud
    services for a cloud, its own AI workloads for anyone else)."""
    buyer = world.parties.get(order.buyer)
    cloud = buyer is not None and buyer.role is Role.CLOUD
    return EndUseCertificate(
        f"EUC-{order.order_id}",
        order.buyer,
        world.licences[order.licence_id or ""].country,
        "cloud services (GPU rental)" if cloud else "AI training and inference, own use",
        order.ordered_at,
        quantity=order.quantity,
        site_id=order.site_id,
        order_id=order.order_id,
    )


def store_trade_records(db: Database, world: World, now: datetime) -> dict[str, int]:
    """Store the world's trade records through the records service (idempotent on a re-run).

    Returns the number of records of each kind (stored now or found stored).
    """
    counts = {}
    for kind, records in trade_records(world).items():
        if records:
            counts[kind.value] = len(add_records(db, kind, records, now=now).record_keys)
    return counts


def listed_parties(world: World) -> list[ListedParty]:
    """The world's restricted list as list entries (all its names, its country)."""
    return [
        ListedParty(
            party_id=PartyId(f"{SIM_LIST_ID}:{e.entity_id}"),
            schema="Company",
            name=e.names[0],
            aliases=e.names[1:],
            countries=(e.country,),
            list_id=SIM_LIST_ID,
        )
        for e in world.restricted
    ]


def store_restricted_list(db: Database, world: World, now: datetime) -> int:
    """Load (replace) the world's restricted list as stored list ``sim-entity-list``.

    Returns the number of entries stored (0 when the world lists nobody).
    """
    entries = listed_parties(world)
    if not entries:
        return 0
    data = "".join(json.dumps(to_ftm(p), sort_keys=True) + "\n" for p in entries).encode()
    result = parties.load_list(
        db,
        data,
        now=now,
        fmt=ListFormat.FTM,
        list_id=SIM_LIST_ID,
        title="Simulated entity list (chiptrail demo)",
        source="chiptrail demo",
        parsed=PartySet(tuple(entries)),
    )
    return result.entries


def store_landmarks(db: Database, world: World, now: datetime) -> int:
    """Register the world's landmarks (position, country) so the dashboard can draw RTT disks.

    The simulator does not sign probes; each landmark gets a key derived from the world's seed and
    its id, so registering the same world again is a no-op. Returns landmarks registered.
    """
    if not world.landmarks:
        return 0
    rows: list[RegisteredLandmark | ChiptrailError] = [
        RegisteredLandmark(
            LandmarkId(m.landmark_id),
            m.lat,
            m.lon,
            Ed25519Signer(sha256(f"{world.seed}:{m.landmark_id}".encode())).public_key,
            Country(m.country) if m.country else None,
        )
        for m in world.landmarks
    ]
    return len(register_landmarks(db, rows, now).registered)
