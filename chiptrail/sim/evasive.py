"""Evasive diversions: each channel's smuggler knows the rules and stays under them.

No I/O. Used by ``build_world(..., adversary="evasive")`` to measure what the rules miss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chiptrail.rules.view import Role, TenancyUsage
from chiptrail.sim._builder import Builder
from chiptrail.sim.cities import city
from chiptrail.sim.injections import DARK, _ids, _landmark_city, _take_lot
from chiptrail.sim.world import Incident, ListedEntity
from chiptrail.types import PartyId

if TYPE_CHECKING:
    from chiptrail.sim.scenarios import Fleet, Scale


@dataclass(frozen=True, slots=True)
class Evasion:
    """The evasive smugglers' knobs (defaults: the evasive adversary of docs/evaluation.md).

    ``chiptrail.sim.redteam`` searches them for the cheapest evasion that escapes.
    """

    hand_carry_relay: bool = True
    hand_carry_trip_days: float = math.inf
    hand_carry_chips: int = 8
    repair_trip_days: float = 6.0
    repair_chips: int = 8
    rental_fraction: float = 1.5
    concern_split: tuple[float, ...] = (0.34, 0.33, 0.33)
    order_fraction: float = 0.45
    order_spacing_days: float = 100.0
    listed_stake: float = 0.45


DEFAULT_EVASION = Evasion()


def _hand_carry(b: Builder, fleet: Fleet, i: int, ev: Evasion = DEFAULT_EVASION) -> Incident:
    """Moved days ago; a relay at the site keeps answering (never provably elsewhere)."""
    chips = _take_lot(b, fleet, ("US", "CA", "DE", "GB"))[: ev.hand_carry_chips]
    start = float(b.rng.uniform(-10, -2))
    if not math.isinf(ev.hand_carry_trip_days):
        start = float(b.rng.uniform(-25, -ev.hand_carry_trip_days))
    until = start + ev.hand_carry_trip_days
    relay = ev.hand_carry_relay
    b.send_away(chips, start, until, city(DARK[i % len(DARK)]), answers=False, relay=relay)
    return Incident(
        f"hand_carry-evasive-{i + 1}",
        "hand_carry",
        b.at(start),
        _ids(b, chips),
        (),
        (),
        "relay at the site, moved within the dark deadline",
    )


def _transshipment(b: Builder, fleet: Fleet, i: int) -> Incident:
    """An established hub buyer with real capacity declares an install; a relay answers for it."""
    hub = ("SG", "MY", "TH", "AE")[i % 4]
    day = float(b.rng.uniform(-120, -60))
    buyer = b.add_party(hub, Role.OPERATOR, age_days=1500)
    site = b.add_site(buyer, _landmark_city(hub), capacity=64)
    lic = b.add_licence(buyer, hub, [site], 16)
    order, chips = b.add_order(buyer, fleet.vendor, 16, day, licence=lic, site=site)
    b.deliver(order, chips, fleet.vendor, site, day)
    b.send_away(chips, -20.0, math.inf, city("Shanghai"), answers=False, relay=True)
    return Incident(
        f"transshipment-evasive-{i + 1}",
        "transshipment",
        b.at(-20.0),
        _ids(b, chips),
        (buyer,),
        (hub,),
        "clean buyer, relay answers, moved 20 days ago",
    )


def _cloud_rental(
    b: Builder, fleet: Fleet, scale: Scale, i: int, ev: Evasion = DEFAULT_EVASION
) -> Incident:
    """Three China-based parents hold 34/33/33%: nobody controls it (a 50/50 split is caught)."""
    parents = [b.add_party("CN", Role.HOLDING) for _ in ev.concern_split]
    holding = b.add_party("SG", Role.HOLDING)
    tenant = b.add_party("MY", Role.TENANT)
    for parent, share in zip(parents, ev.concern_split, strict=True):
        b.own(parent, holding, share)
    b.own(holding, tenant, 1.0)
    b.usage.append(
        TenancyUsage(
            f"U-{b.tag}-{len(b.usage) + 1:05d}",
            fleet.clouds[1],
            tenant,
            round(ev.rental_fraction * scale.order_threshold * 360.0),
            b.at(-30),
            b.at(0),
        )
    )
    return Incident(
        f"cloud_rental-evasive-{i + 1}",
        "cloud_rental",
        b.at(-30),
        (),
        (*parents, holding, tenant),
        (),
        "34/33/33 joint venture: nobody controls it",
    )


def _split_orders(
    b: Builder, fleet: Fleet, scale: Scale, i: int, ev: Evasion = DEFAULT_EVASION
) -> Incident:
    """Three affiliates order 100 days apart: no 180-day window reaches the threshold."""
    country = ("AE", "IN", "SA", "TH")[i % 4]
    parent = b.add_party(country, Role.HOLDING)
    qty = max(1, math.floor(ev.order_fraction * scale.order_threshold))  # two orders stay under
    chips: list[int] = []
    parties: list[PartyId] = [parent]
    for k in range(3):
        aff = b.add_party(country, Role.OPERATOR)
        b.own(parent, aff, 1.0)
        site = b.add_site(aff, _landmark_city(country), capacity=qty * 2 + 16)
        day = -3 * ev.order_spacing_days + ev.order_spacing_days * k
        order, lot = b.add_order(aff, fleet.vendor, qty, day, licence=None, site=site)
        b.deliver(order, lot, fleet.vendor, site, day)
        chips += lot
        parties.append(aff)
    return Incident(
        f"split_orders-evasive-{i + 1}",
        "split_orders",
        b.at(-3 * ev.order_spacing_days),
        _ids(b, chips),
        tuple(parties),
        (),
        "orders 100 days apart",
    )


def _front_network(
    b: Builder,
    fleet: Fleet,
    i: int,
    restricted: list[ListedEntity],
    ev: Evasion = DEFAULT_EVASION,
) -> Incident:
    """A listed firm holds 45% of a buyer with an unrelated name."""
    listed = b.add_party("CN", Role.HOLDING, age_days=4000)
    name = b.parties[listed].name
    restricted.append(ListedEntity(f"LIST-{listed}", "Entity List (simulated)", (name,), "CN"))
    buyer = b.add_party("AE", Role.OPERATOR)
    b.own(listed, buyer, ev.listed_stake)
    site = b.add_site(buyer, _landmark_city("AE"), capacity=64)
    lic = b.add_licence(buyer, "AE", [site], 8)
    day = float(b.rng.uniform(-200, -60))
    order, chips = b.add_order(buyer, fleet.vendor, 8, day, licence=lic, site=site)
    b.deliver(order, chips, fleet.vendor, site, day)
    return Incident(
        f"front_network-evasive-{i + 1}",
        "front_network",
        b.at(day),
        _ids(b, chips),
        (buyer, listed),
        (),
        "45% minority stake, unrelated name",
    )


def _volume_gap(b: Builder, fleet: Fleet, i: int) -> Incident:
    """A leak too small for the country count: 6 chips declared installed never attest."""
    country = ("VN", "ID", "SA", "ZA")[i % 4]
    dist = b.add_party(country, Role.DISTRIBUTOR)
    site = b.add_site(dist, _landmark_city(country), capacity=64)
    lic = b.add_licence(dist, country, [site], 6)
    day = float(b.rng.uniform(-150, -60))
    order, chips = b.add_order(dist, fleet.vendor, 6, day, licence=lic, site=site)
    b.deliver(order, chips, fleet.vendor, site, day)
    for c in chips:
        b.motion.never_answers[c] = True
    return Incident(
        f"volume_gap-evasive-{i + 1}",
        "volume_gap",
        b.at(day + 11),
        _ids(b, chips),
        (dist,),
        (country,),
        "6 chips: under the country-level minimum",
    )


def _repair(b: Builder, fleet: Fleet, i: int, ev: Evasion = DEFAULT_EVASION) -> Incident:
    """An unrecorded repair in Shenzhen, back within a week: nothing logged, never dark long."""
    chips = _take_lot(b, fleet, ("US", "DE", "JP", "GB", "FR", "KR"))[: ev.repair_chips]
    day = float(b.rng.uniform(-25, -2 - ev.repair_trip_days))
    b.send_away(chips, day, day + ev.repair_trip_days, city("Shenzhen"), answers=False)
    return Incident(
        f"repair-evasive-{i + 1}",
        "repair",
        b.at(day),
        _ids(b, chips),
        (),
        (),
        "unrecorded 6-day repair trip",
    )


def inject_evasive_all(
    b: Builder,
    fleet: Fleet,
    scale: Scale,
    i: int,
    restricted: list[ListedEntity],
    ev: Evasion = DEFAULT_EVASION,
) -> list[Incident]:
    """The ``i``-th evasive incident of every channel, with the knobs of ``ev``."""
    return [
        _hand_carry(b, fleet, i, ev),
        _transshipment(b, fleet, i),
        _cloud_rental(b, fleet, scale, i, ev),
        _split_orders(b, fleet, scale, i, ev),
        _front_network(b, fleet, i, restricted, ev),
        _volume_gap(b, fleet, i),
        _repair(b, fleet, i, ev),
    ]
