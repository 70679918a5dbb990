"""Seeded worlds: a legitimate fleet plus injected diversions on every channel, with ground truth.

No I/O; all randomness from one ``numpy.random.Generator`` seeded by the caller's seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from chiptrail.errors import InvalidInput
from chiptrail.rules.view import Role, RuleConfig, TenancyUsage
from chiptrail.sim import injections
from chiptrail.sim._builder import Builder
from chiptrail.sim.cities import CITIES, City, city, landmark_cities
from chiptrail.sim.evasive import DEFAULT_EVASION, Evasion, inject_evasive_all
from chiptrail.sim.probing import simulate_rounds
from chiptrail.sim.world import DEFAULT_NOW, Incident, ListedEntity, SimLandmark, World
from chiptrail.types import PartyId

LEGIT_COUNTRIES = (
    "US",
    "US",
    "US",
    "CA",
    "GB",
    "DE",
    "NL",
    "FR",
    "SE",
    "FI",
    "IE",
    "JP",
    "KR",
    "TW",
    "AU",
    "SG",
    "MY",
    "IN",
    "AE",
    "IL",
    "BR",
    "ES",
    "CH",
)
MIN_CHIPS = 100
LEGIT_MODELS = ("h100-sxm", "h100-sxm", "h200-sxm", "b200", "mi300x")
ADVERSARIES = ("naive", "evasive")
MAX_CHIPS = 1_000_000


@dataclass(frozen=True, slots=True)
class Scale:
    """Sizes derived from the chip count."""

    n_chips: int
    incidents_per_channel: int
    order_threshold: int

    @staticmethod
    def of(n_chips: int) -> Scale:
        """Incidents grow with the fleet; the structuring threshold scales down for small worlds."""
        k = max(1, min(20, round(n_chips / 1000)))
        return Scale(n_chips, k, max(12, min(2000, n_chips // 80)))


@dataclass
class Fleet:
    """Handles on the legitimate fleet that injections reuse."""

    vendor: PartyId
    rma: PartyId
    rma_site: int
    distributors: dict[str, PartyId]
    clouds: list[PartyId]
    installed: dict[str, list[list[int]]] = field(default_factory=dict)
    chips_in: dict[str, int] = field(default_factory=dict)
    taken: set[int] = field(default_factory=set)


def _cities_in(country: str) -> list[City]:
    return [c for c in CITIES if c.country == country and c.landmark]


def _build_legit(b: Builder, fleet: Fleet, n_legit: int, scale: Scale) -> None:
    rng = b.rng
    n_ops = max(6, n_legit // 150)
    n_ops_chips = max(n_ops, n_legit - 2 * _lab_count(scale) * _lab_order(scale))
    per_op = rng.multinomial(n_ops_chips, np.full(n_ops, 1 / n_ops))
    for op_i in range(n_ops):
        is_cloud = op_i < len(fleet.clouds)
        country = (
            b.parties[fleet.clouds[op_i]].country
            if is_cloud
            else LEGIT_COUNTRIES[int(rng.integers(len(LEGIT_COUNTRIES)))]
        )
        op = fleet.clouds[op_i] if is_cloud else b.add_party(country, Role.OPERATOR)
        options = _cities_in(country)
        sites = [
            b.add_site(op, options[int(rng.integers(len(options)))])
            for _ in range(1 + int(rng.random() < 0.4))
        ]
        remaining, orders = int(per_op[op_i]), []
        while remaining > 0:
            qty = min(remaining, 8 * int(rng.integers(1, 9)))
            remaining -= qty
            orders.append(qty)
        via = fleet.distributors.get(country) if rng.random() < 0.35 else None
        allocated = dict.fromkeys(sites, 0)
        for qty in orders:
            site = sites[int(rng.integers(len(sites)))]
            allocated[site] += qty
            lic = b.add_licence(op, country, sites, qty)
            day = (
                float(rng.uniform(-12, -1))
                if rng.random() < 0.04
                else float(rng.uniform(-400, -45))
            )
            model = LEGIT_MODELS[int(rng.integers(len(LEGIT_MODELS)))]
            order, chips = b.add_order(
                op, fleet.vendor, qty, day, licence=lic, site=site, model=model
            )
            b.deliver(order, chips, fleet.vendor, site, day, via=via)
            if b.motion.installed_at[chips[0]] < -35:
                fleet.installed.setdefault(country, []).append(chips)
            fleet.chips_in[country] = fleet.chips_in.get(country, 0) + qty
        for site, n in allocated.items():
            s = b.sites[site]
            b.sites[site] = type(s)(
                s.site_id, s.operator, s.country, s.lat, s.lon, math.ceil(n * 1.5) + 16
            )
    _legit_labs(b, fleet, scale)
    _legit_rma(b, fleet)
    _legit_tenants(b, fleet, scale)


def _lab_count(scale: Scale) -> int:
    return max(2, scale.n_chips // 500)


def _lab_order(scale: Scale) -> int:
    return max(1, scale.order_threshold // 5)


def _legit_labs(b: Builder, fleet: Fleet, scale: Scale) -> None:
    """Small buyers with licence-free orders, far under the threshold per parent (must not fire)."""
    qty = _lab_order(scale)
    for i in range(_lab_count(scale)):
        country = ("US", "DE", "JP", "GB", "KR")[i % 5]
        lab = b.add_party(country, Role.OPERATOR)
        site = b.add_site(lab, _cities_in(country)[0], capacity=max(64, 2 * qty + 16))
        for _ in range(2):
            day = float(b.rng.uniform(-300, -40))
            order, chips = b.add_order(lab, fleet.vendor, qty, day, licence=None, site=site)
            b.deliver(order, chips, fleet.vendor, site, day)


def _legit_rma(b: Builder, fleet: Fleet) -> None:
    """A few lots go to the vendor's RMA centre and come back with a recorded custody trail."""
    rma_lic = b.add_licence(fleet.rma, "TW", [fleet.rma_site], 10**6)
    # lots installed early enough that the whole round trip ends before the probe rounds start
    lots = [
        lot
        for lots in fleet.installed.values()
        for lot in lots
        if b.motion.installed_at[lot[0]] < -60
    ]
    for lot_i in b.rng.choice(len(lots), size=min(len(lots), 3), replace=False):
        chips = lots[int(lot_i)][:2]
        site = b.motion.site[chips[0]]
        owner = b.sites[site].operator
        lic = next(o.licence_id for o in b.orders if o.order_id == b.chip_order[chips[0]])
        day = float(b.rng.uniform(max(-120.0, b.motion.installed_at[chips[0]] + 1), -55))
        b.event(
            "shipping",
            day,
            chips,
            owner,
            site=site,
            dest=fleet.rma,
            dest_country="TW",
            licence=rma_lic,
        )
        b.event("receiving", day + 4, chips, fleet.rma, site=fleet.rma_site)
        b.event("repairing", day + 9, chips, fleet.rma, site=fleet.rma_site, parts=("HBM3 stack",))
        b.event(
            "shipping",
            day + 12,
            chips,
            fleet.rma,
            site=fleet.rma_site,
            dest=owner,
            dest_country=b.sites[site].country,
            licence=lic,
        )
        b.event("receiving", day + 17, chips, owner, site=site)
        b.event("installing", day + 18, chips, owner, site=site)
        fleet.taken.update(chips)


def _legit_tenants(b: Builder, fleet: Fleet, scale: Scale) -> None:
    threshold = scale.order_threshold * 360.0
    countries = ("US", "DE", "JP", "SG", "IN", "GB", "FR", "KR", "CN")
    for i in range(max(8, scale.n_chips // 200)):
        country = countries[i % len(countries)]
        parent = b.add_party(country, Role.HOLDING)
        tenant_country = "MY" if country == "CN" else country
        tenant = b.add_party(tenant_country, Role.TENANT)
        b.own(parent, tenant, 1.0)
        cloud = fleet.clouds[i % len(fleet.clouds)]
        share = 0.3 if country == "CN" else float(b.rng.uniform(0.05, 0.9))
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


def _landmarks() -> tuple[SimLandmark, ...]:
    return tuple(
        SimLandmark(f"LM-{c.country}-{c.name.replace(' ', '')}", c.lat, c.lon, c.country)
        for c in landmark_cities()
    )


def build_world(
    n_chips: int,
    seed: int,
    now: datetime = DEFAULT_NOW,
    adversary: str = "naive",
    evasion: Evasion = DEFAULT_EVASION,
) -> World:
    """A world of about ``n_chips`` chips with every channel injected (same seed, same world).

    ``adversary`` is ``naive`` (the press-report patterns) or ``evasive`` (each smuggler stays
    just under the rules' thresholds; see ``chiptrail.sim.evasive``, whose knobs ``evasion`` sets).

    Raises:
        InvalidInput: ``n_chips`` outside 100..1,000,000, or an unknown adversary.
    """
    if adversary not in ADVERSARIES:
        raise InvalidInput(
            f"--adversary must be one of {', '.join(ADVERSARIES)}", {"field": "adversary"}
        )
    if not MIN_CHIPS <= n_chips <= MAX_CHIPS:
        raise InvalidInput(
            f"--chips must be between {MIN_CHIPS} and {MAX_CHIPS}",
            {"field": "chips", "value": n_chips},
        )
    rng = np.random.default_rng(seed)
    scale = Scale.of(n_chips)
    b = Builder(rng, now, f"{seed}n{n_chips}")  # distinct ids per world, so worlds share a DB
    vendor = b.add_party("US", Role.VENDOR, name="Apex Silicon Inc.", age_days=9000)
    rma = b.add_party("TW", Role.REPAIRER, name="Apex Silicon RMA Taiwan Co., Ltd.", age_days=5000)
    fleet = Fleet(
        vendor=vendor,
        rma=rma,
        rma_site=b.add_site(rma, city("Taipei"), capacity=500),
        distributors={c: b.add_party(c, Role.DISTRIBUTOR) for c in ("US", "SG", "DE", "JP", "AE")},
        clouds=[b.add_party(c, Role.CLOUD) for c in ("US", "MY", "DE")],
    )
    budget = injections.chip_budget(scale)
    _build_legit(b, fleet, max(n_chips - budget, n_chips // 2), scale)
    incidents: list[Incident] = []
    restricted: list[ListedEntity] = []
    for i in range(scale.incidents_per_channel):
        if adversary == "naive":
            incidents += injections.inject_all(b, fleet, scale, i, restricted)
        else:
            incidents += inject_evasive_all(b, fleet, scale, i, restricted, evasion)
    b.events.sort(key=lambda e: (e.at, e.biz_step))
    events = tuple(
        type(e)(
            **{
                **{f: getattr(e, f) for f in e.__slots__},
                "leaf_index": n,
                "event_id": f"E-{b.tag}-{n:07d}",
            }
        )
        for n, e in enumerate(b.events)
    )
    config = RuleConfig(
        order_threshold_chips=scale.order_threshold,
        rental_threshold_chip_hours=scale.order_threshold * 360.0,
    )
    landmarks = _landmarks()
    rounds = simulate_rounds(b.motion, tuple(b.sites), landmarks, rng, np.arange(-30.0, 0.0, 2.0))
    return World(
        seed=seed,
        now=now,
        config=config,
        parties=b.parties,
        ownership=tuple(b.ownership),
        site_list=tuple(b.sites),
        licences=b.licences,
        orders=tuple(b.orders),
        chip_ids=tuple(b.chip_ids),
        chip_order=tuple(b.chip_order),
        chip_model=tuple(b.chip_model),
        events=events,
        landmarks=landmarks,
        rounds=rounds,
        usage=tuple(b.usage),
        restricted=tuple(restricted),
        incidents=tuple(incidents),
    )


__all__ = ["Scale", "build_world"]
