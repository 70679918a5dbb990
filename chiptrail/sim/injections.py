"""Injected diversions, one builder per channel id, each returning its ground truth.

No I/O. Channel ids are DESIGN.md's: hand_carry, transshipment, cloud_rental, split_orders,
front_network, volume_gap, repair.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from chiptrail.rules.view import AddressKind, Role, TenancyUsage
from chiptrail.sim._builder import Builder
from chiptrail.sim.cities import CITIES, City, city
from chiptrail.sim.world import Incident, ListedEntity
from chiptrail.types import ChipId, PartyId

if TYPE_CHECKING:
    from chiptrail.sim.scenarios import Fleet, Scale

LIST_NAME = "Entity List (simulated)"
LISTED = (
    (
        "Longteng Intelligent Computing Co., Ltd.",
        "龙腾智能计算有限公司",
        "Long Teng Intelligent Computing",
    ),
    ("Tianyan Data Technology Co., Ltd.", "天眼数据科技有限公司", "Tian Yan Data Technology"),
    ("Xinghe Microelectronics Co., Ltd.", "星河微电子有限公司", "Xing He Microelectronics"),
    (
        "Jinlong Supercomputing Center Co., Ltd.",
        "金龙超算中心有限公司",
        "Jin Long Supercomputing Center",
    ),
)
DARK = ("Shanghai", "Shenzhen", "Beijing", "Hangzhou")
TRANSSHIPMENT_SIZE = 16
FRONT_SIZE = 8
VOLUME_SIZE = 24
SERVER = 8


def chip_budget(scale: Scale) -> int:
    """Chips the injections create themselves (hand_carry and repair reuse legitimate lots)."""
    split = 3 * math.ceil(0.45 * scale.order_threshold)
    per = TRANSSHIPMENT_SIZE + 2 * FRONT_SIZE + split + VOLUME_SIZE
    return scale.incidents_per_channel * per


def _landmark_city(country: str) -> City:
    return next(c for c in CITIES if c.country == country and c.landmark)


def _take_lot(b: Builder, fleet: Fleet, prefer: tuple[str, ...]) -> list[int]:
    countries = [*prefer, *sorted(set(fleet.installed) - set(prefer))]
    for country in countries:
        for lot in fleet.installed.get(country, []):
            free = [c for c in lot if c not in fleet.taken]
            if len(free) >= 2:
                chips = free[:SERVER]
                fleet.taken.update(chips)
                return chips
    return []


def _ids(b: Builder, chips: list[int]) -> tuple[ChipId, ...]:
    return tuple(b.chip_ids[i] for i in chips)


def inject_hand_carry(b: Builder, fleet: Fleet, i: int) -> Incident:
    """A server flown from a US site to China: it answers from there, or goes dark."""
    chips = _take_lot(b, fleet, ("US", "CA", "DE", "GB"))
    answers = i % 2 == 0
    start = float(b.rng.uniform(-25, -3)) if answers else float(b.rng.uniform(-29, -16))
    b.send_away(chips, start, math.inf, city(DARK[i % len(DARK)]), answers)
    note = "answers from the new place" if answers else "went dark after the move"
    # The origin country is a subject too: its shipped-vs-attesting count drops by this lot.
    origin = (b.sites[b.motion.site[chips[0]]].country,) if chips else ()
    return Incident(
        f"hand_carry-{i + 1}",
        "hand_carry",
        b.at(start),
        _ids(b, chips),
        (),
        origin,
        f"{len(chips)} chips carried to {DARK[i % len(DARK)]}; {note}",
    )


def inject_transshipment(b: Builder, fleet: Fleet, i: int) -> Incident:
    """A new shell distributor in a hub imports legally and the lot leaves for China."""
    hub = ("SG", "MY", "TH", "AE")[i % 4]
    day = float(b.rng.uniform(-150, -80))
    shell = b.add_party(
        hub,
        Role.DISTRIBUTOR,
        age_days=-day + float(b.rng.uniform(40, 90)),
        address=AddressKind.VIRTUAL,
    )
    site = b.add_site(shell, _landmark_city(hub), capacity=4)
    lic = b.add_licence(shell, hub, [site], TRANSSHIPMENT_SIZE)
    payment = "HK" if i % 2 == 0 else None
    _, chips = b.add_order(
        shell, fleet.vendor, TRANSSHIPMENT_SIZE, day, licence=lic, site=site, payment=payment
    )
    b.event("commissioning", day + 1, chips, fleet.vendor)
    b.event("shipping", day + 3, chips, fleet.vendor, dest=shell, dest_country=hub, licence=lic)
    b.event("receiving", day + 9, chips, shell, site=site)
    parties: tuple[PartyId, ...] = (shell,)
    variant = i % 3
    if variant == 1:
        consignee = b.add_party("CN", Role.OPERATOR)
        b.event("shipping", day + 20, chips, shell, site=site, dest=consignee, dest_country="CN")
        parties += (consignee,)
    elif variant == 2:
        b.event("installing", day + 12, chips, shell, site=site)
        b.send_away(chips, day + 13, math.inf, city("Shanghai"), answers=i % 2 == 0)
    notes = ("held, then vanished", "re-exported to CN on the ledger", "declared installed, in CN")
    return Incident(
        f"transshipment-{i + 1}",
        "transshipment",
        b.at(day),
        _ids(b, chips),
        parties,
        (hub,),
        f"shell distributor in {hub}: {notes[variant]}",
    )


def inject_front_network(
    b: Builder, fleet: Fleet, i: int, restricted: list[ListedEntity]
) -> Incident:
    """A listed firm buys through a look-alike name and through a company it controls."""
    english, chinese, spaced = LISTED[i % len(LISTED)]
    listed = b.add_party("CN", Role.HOLDING, name=english, age_days=4000)
    restricted.append(ListedEntity(f"LIST-{listed}", LIST_NAME, (english, chinese), "CN"))
    lookalike = b.add_party("MY", Role.OPERATOR, name=f"{spaced} Sdn. Bhd.")
    holding = b.add_party("HK", Role.HOLDING)
    owned = b.add_party("AE", Role.OPERATOR)
    b.own(listed, holding, 1.0)
    b.own(holding, owned, 0.7)
    chips: list[int] = []
    for buyer, country in ((lookalike, "MY"), (owned, "AE")):
        site = b.add_site(buyer, _landmark_city(country), capacity=64)
        lic = b.add_licence(buyer, country, [site], FRONT_SIZE)
        day = float(b.rng.uniform(-200, -60))
        order, lot = b.add_order(buyer, fleet.vendor, FRONT_SIZE, day, licence=lic, site=site)
        b.deliver(order, lot, fleet.vendor, site, day)
        chips += lot
    first = min(o.ordered_at for o in b.orders if o.buyer in (lookalike, owned))
    return Incident(
        f"front_network-{i + 1}",
        "front_network",
        first,
        _ids(b, chips),
        (lookalike, owned, holding, listed),
        (),
        f"fronts for listed '{english}': look-alike name and 70% subsidiary",
    )


def inject_split_orders(b: Builder, fleet: Fleet, scale: Scale, i: int) -> Incident:
    """Three affiliates each buy just under the threshold, licence-free, within weeks."""
    country = ("AE", "IN", "SA", "TH")[i % 4]
    where = _landmark_city(country)
    parent = b.add_party(country, Role.HOLDING)
    qty = math.ceil(0.45 * scale.order_threshold)
    day = float(b.rng.uniform(-200, -60))
    start = b.at(day)
    chips: list[int] = []
    parties: list[PartyId] = [parent]
    for share in (1.0, 0.8, 0.6):
        aff = b.add_party(country, Role.OPERATOR)
        b.own(parent, aff, share)
        site = b.add_site(aff, where, capacity=qty * 2 + 16)
        order, lot = b.add_order(aff, fleet.vendor, qty, day, licence=None, site=site)
        b.deliver(order, lot, fleet.vendor, site, day)
        chips += lot
        parties.append(aff)
        day += float(b.rng.uniform(5, 20))
    return Incident(
        f"split_orders-{i + 1}",
        "split_orders",
        start,
        _ids(b, chips),
        tuple(parties),
        (),
        f"3 affiliates x {qty} chips, threshold {scale.order_threshold}",
    )


def inject_cloud_rental(b: Builder, fleet: Fleet, scale: Scale, i: int) -> Incident:
    """Two tenants of one China-parented group each rent under the threshold, together over it."""
    parent = b.add_party("CN", Role.HOLDING)
    holding = b.add_party(("HK", "SG")[i % 2], Role.HOLDING)
    t1, t2 = b.add_party("MY", Role.TENANT), b.add_party("SG", Role.TENANT)
    b.own(parent, holding, 1.0)
    b.own(holding, t1, 1.0)
    b.own(holding, t2, 0.6)
    threshold = scale.order_threshold * 360.0
    for tenant, share, cloud in ((t1, 0.6, fleet.clouds[1]), (t2, 0.55, fleet.clouds[0])):
        b.usage.append(
            TenancyUsage(
                f"U-{b.tag}-{len(b.usage) + 1:05d}",
                cloud,
                tenant,
                round(share * threshold),
                b.at(-30),
                b.at(0),
            )
        )
    return Incident(
        f"cloud_rental-{i + 1}",
        "cloud_rental",
        b.at(-30),
        (),
        (parent, holding, t1, t2),
        (),
        "two tenants of one CN-parented group",
    )


def inject_volume_gap(b: Builder, fleet: Fleet, i: int) -> Incident:
    """A distributor imports and declares chips installed that never attest from the country."""
    options = sorted(("VN", "ID", "SA", "ZA"), key=lambda c: (fleet.chips_in.get(c, 0), c))
    country = options[i % len(options)]
    dist = b.add_party(country, Role.DISTRIBUTOR)
    site = b.add_site(dist, _landmark_city(country), capacity=VOLUME_SIZE * 4)
    lic = b.add_licence(dist, country, [site], VOLUME_SIZE)
    day = float(b.rng.uniform(-150, -60))
    order, chips = b.add_order(dist, fleet.vendor, VOLUME_SIZE, day, licence=lic, site=site)
    b.deliver(order, chips, fleet.vendor, site, day)
    for c in chips:
        b.motion.never_answers[c] = True
    return Incident(
        f"volume_gap-{i + 1}",
        "volume_gap",
        b.at(day + 11),
        _ids(b, chips),
        (dist,),
        (country,),
        f"{VOLUME_SIZE} chips declared in {country}, none attest",
    )


def inject_repair(b: Builder, fleet: Fleet, i: int) -> Incident:
    """Chips serviced at an unrecorded repair shop (Shenzhen, or across a border) and returned."""
    chips = _take_lot(b, fleet, ("US", "DE", "JP", "GB", "FR", "KR"))
    shop_country, shop_city = (("CN", "Shenzhen"), ("MY", "Johor Bahru"))[i % 2]
    shop = b.add_party(shop_country, Role.REPAIRER)
    site = b.add_site(shop, city(shop_city), capacity=0)
    day = float(b.rng.uniform(-25, -8))
    b.event("repairing", day, chips, shop, site=site, parts=("HBM3 stack", "fan module"))
    b.send_away(chips, day - 2, day + 5, city("Shenzhen"), answers=False)
    return Incident(
        f"repair-{i + 1}",
        "repair",
        b.at(day - 2),
        _ids(b, chips),
        (shop,),
        (),
        f"parts replaced at a shop in {shop_city} with no custody trail",
    )


def inject_all(
    b: Builder, fleet: Fleet, scale: Scale, i: int, restricted: list[ListedEntity]
) -> list[Incident]:
    """The ``i``-th incident of every channel, in DESIGN.md's order."""
    return [
        inject_hand_carry(b, fleet, i),
        inject_transshipment(b, fleet, i),
        inject_cloud_rental(b, fleet, scale, i),
        inject_split_orders(b, fleet, scale, i),
        inject_front_network(b, fleet, i, restricted),
        inject_volume_gap(b, fleet, i),
        inject_repair(b, fleet, i),
    ]
