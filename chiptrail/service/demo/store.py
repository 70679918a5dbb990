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
from datetime import datetime

from sqlalchemy import select

from chiptrail.errors import Conflict
from chiptrail.parties.aggregate import TenancyRecord
from chiptrail.parties.formats.detect import ListFormat
from chiptrail.parties.model import Party as ListedParty
from chiptrail.parties.model import PartySet, to_ftm
from chiptrail.rules.view import LocationFix
from chiptrail.service.parties import graph as parties_graph
from chiptrail.service.parties import lists as parties
from chiptrail.sim.world import World
from chiptrail.store.database import Database
from chiptrail.store.geoloc_tables import ProbeRepository, location_verdicts_table
from chiptrail.store.parties_tables import party_entities
from chiptrail.types import PartyId

SIM_LIST_ID = "sim-entity-list"
"""List id of the simulated restricted list (in memory and in the store)."""
HISTORY = 2
"""Stored verdicts per chip (its latest regions over time)."""


def _verdict_row(world: World, fix: LocationFix) -> dict[str, object]:
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
    evidence = {
        "chip_id": fix.chip_id,
        "verdict": fix.verdict.value,
        "reason": fix.explanation,
        "declared_site": declared,
        "proven_countries": list(fix.proven_countries),
        "likely_countries": [],
        "region": {"lat": fix.lat, "lon": fix.lon, "proven_radius_km": fix.radius_km},
        "evidence": [{"landmark_id": lm} for lm in fix.landmark_ids],
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
    """Store each chip's latest ``HISTORY`` verdicts (skipped when this world's are stored)."""
    by_chip: dict[str, list[LocationFix]] = defaultdict(list)
    for fix in fixes:
        by_chip[fix.chip_id].append(fix)
    chosen = [f for fs in by_chip.values() for f in sorted(fs, key=lambda f: f.at)[-HISTORY:]]
    chosen.sort(key=lambda f: (f.at, f.chip_id))
    with db.unit() as conn:
        t = location_verdicts_table
        if (
            chosen
            and conn.execute(
                select(t.c.verdict_id).where(t.c.chip_id == chosen[0].chip_id).limit(1)
            ).first()
        ):
            return 0
        repo = ProbeRepository(conn)
        for fix in chosen:
            repo.insert_verdict(_verdict_row(world, fix))
    return len(chosen)


def _ftm(world: World) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [
        {
            "id": p.party_id,
            "schema": "Company",
            "properties": {"name": [p.name], "country": [p.country.lower()]},
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
