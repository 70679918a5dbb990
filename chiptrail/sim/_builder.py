"""Mutable accumulator the scenarios use while building a world (private to ``chiptrail.sim``).

No I/O. Times are float days relative to ``now`` (negative: past).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from chiptrail.hardware import h100_equivalents
from chiptrail.rules.view import (
    AddressKind,
    CustodyEvent,
    Licence,
    Order,
    OwnershipEdge,
    Party,
    Role,
    Site,
    TenancyUsage,
)
from chiptrail.sim.cities import City
from chiptrail.sim.names import company_name
from chiptrail.types import ChipId, Country, PartyId

EPC_PREFIX = "urn:epc:id:sgtin:0614141.107346."
"""Chips are named by their EPC URI (SGTIN), as the custody ledger knows them."""


@dataclass
class ChipMotion:
    """Where chips really are over time (for probe rounds), one list entry per chip."""

    site: list[int] = field(default_factory=list)
    installed_at: list[float] = field(default_factory=list)
    away_from: list[float] = field(default_factory=list)
    away_until: list[float] = field(default_factory=list)
    away_lat: list[float] = field(default_factory=list)
    away_lon: list[float] = field(default_factory=list)
    away_answers: list[bool] = field(default_factory=list)
    away_relay: list[bool] = field(default_factory=list)
    never_answers: list[bool] = field(default_factory=list)


class Builder:
    """Accumulates entities; ``rng`` is the one seeded generator for the whole world."""

    def __init__(self, rng: np.random.Generator, now: datetime, tag: str) -> None:
        self.rng = rng
        self.now = now
        self.tag = tag
        self.parties: dict[PartyId, Party] = {}
        self.ownership: list[OwnershipEdge] = []
        self.sites: list[Site] = []
        self.licences: dict[str, Licence] = {}
        self.orders: list[Order] = []
        self.chip_ids: list[ChipId] = []
        self.chip_order: list[str] = []
        self.chip_model: list[str] = []
        self.events: list[CustodyEvent] = []
        self.usage: list[TenancyUsage] = []
        self.motion = ChipMotion()
        self._names: set[str] = set()
        self._h100_per_chip: dict[str, float] = {}

    def at(self, days: float) -> datetime:
        """Absolute time of ``days`` relative to now."""
        return self.now + timedelta(days=float(days))

    def add_party(
        self,
        country: str,
        role: Role,
        *,
        name: str | None = None,
        age_days: float = 2000.0,
        address: AddressKind = AddressKind.OFFICE,
    ) -> PartyId:
        """A new party incorporated ``age_days`` before now."""
        pid = PartyId(f"P-{self.tag}-{len(self.parties) + 1:05d}")
        self.parties[pid] = Party(
            party_id=pid,
            name=name or company_name(self.rng, country, self._names),
            country=Country(country),
            role=role,
            incorporated_at=self.at(-age_days),
            address_kind=address,
        )
        return pid

    def own(self, owner: PartyId, owned: PartyId, share: float) -> None:
        """Record that ``owner`` holds ``share`` of ``owned``."""
        self.ownership.append(OwnershipEdge(owner, owned, share))

    def add_site(self, operator: PartyId, where: City, capacity: int = 0) -> int:
        """A site near ``where`` (within ~20 km); returns its index."""
        lat = where.lat + float(self.rng.uniform(-0.15, 0.15))
        lon = where.lon + float(self.rng.uniform(-0.15, 0.15))
        sid = f"S-{self.tag}-{len(self.sites) + 1:05d}"
        self.sites.append(Site(sid, operator, Country(where.country), lat, lon, capacity))
        return len(self.sites) - 1

    def add_licence(self, end_user: PartyId, country: str, sites: list[int], qty: int) -> str:
        """A licence for ``qty`` chips to ``end_user`` at ``sites``."""
        lid = f"L-{self.tag}-{len(self.licences) + 1:05d}"
        site_ids = tuple(self.sites[i].site_id for i in sites)
        self.licences[lid] = Licence(lid, end_user, Country(country), site_ids, qty)
        return lid

    def _h100_eq(self, model: str, qty: int) -> float:
        per_chip = self._h100_per_chip.get(model)
        if per_chip is None:
            per_chip = self._h100_per_chip[model] = h100_equivalents(model, 1)
        return per_chip * qty

    def add_order(
        self,
        buyer: PartyId,
        seller: PartyId,
        qty: int,
        day: float,
        *,
        licence: str | None,
        site: int | None,
        payment: str | None = None,
        model: str = "h100-sxm",
    ) -> tuple[Order, list[int]]:
        """An order and its ``qty`` new chips; returns the order and the chips' indexes."""
        oid = f"O-{self.tag}-{len(self.orders) + 1:06d}"
        pay = payment or self.parties[buyer].country
        order = Order(
            order_id=oid,
            buyer=buyer,
            seller=seller,
            quantity=qty,
            ordered_at=self.at(day),
            licence_id=licence,
            site_id=self.sites[site].site_id if site is not None else None,
            payment_country=Country(pay),
            h100_equivalents=self._h100_eq(model, qty),
        )
        self.orders.append(order)
        first = len(self.chip_ids)
        for i in range(qty):
            self.chip_ids.append(ChipId(f"{EPC_PREFIX}{self.tag}-{first + i:07d}"))
            self.chip_order.append(oid)
            self.chip_model.append(model)
            m = self.motion
            m.site.append(-1)
            m.installed_at.append(np.inf)
            m.away_from.append(np.inf)
            m.away_until.append(np.inf)
            m.away_lat.append(0.0)
            m.away_lon.append(0.0)
            m.away_answers.append(False)
            m.away_relay.append(False)
            m.never_answers.append(False)
        return order, list(range(first, first + qty))

    def event(
        self,
        step: str,
        day: float,
        chips: list[int],
        party: PartyId,
        *,
        site: int | None = None,
        country: str | None = None,
        dest: PartyId | None = None,
        dest_country: str | None = None,
        licence: str | None = None,
        parts: tuple[str, ...] = (),
    ) -> bool:
        """Record a custody event unless it lies in the future; True when recorded."""
        if day > 0:
            return False
        where = country or (self.sites[site].country if site is not None else None)
        where = where or self.parties[party].country
        self.events.append(
            CustodyEvent(
                leaf_index=-1,
                event_id="",
                biz_step=step,
                at=self.at(day),
                chip_ids=tuple(self.chip_ids[i] for i in chips),
                party_id=party,
                country=Country(where),
                site_id=self.sites[site].site_id if site is not None else None,
                destination_party=dest,
                destination_country=Country(dest_country) if dest_country else None,
                licence_id=licence,
                parts_replaced=parts,
            )
        )
        if step == "installing" and site is not None:
            for i in chips:
                self.motion.site[i] = site
                self.motion.installed_at[i] = day
        return True

    def deliver(
        self,
        order: Order,
        chips: list[int],
        vendor: PartyId,
        site: int,
        day: float,
        via: PartyId | None = None,
    ) -> None:
        """The legitimate custody path: commission, ship (via a distributor), receive, install."""
        buyer, lic = order.buyer, order.licence_id
        country = self.sites[site].country
        self.event("commissioning", day + 1, chips, vendor)
        if via is not None:
            via_c = self.parties[via].country
            self.event(
                "shipping", day + 3, chips, vendor, dest=via, dest_country=via_c, licence=lic
            )
            self.event("receiving", day + 8, chips, via)
            self.event(
                "shipping", day + 10, chips, via, dest=buyer, dest_country=country, licence=lic
            )
            day += 7
        else:
            self.event(
                "shipping", day + 3, chips, vendor, dest=buyer, dest_country=country, licence=lic
            )
        self.event("receiving", day + 9, chips, buyer, site=site)
        self.event("installing", day + 11, chips, buyer, site=site)

    def send_away(
        self,
        chips: list[int],
        start: float,
        until: float,
        where: City,
        answers: bool,
        relay: bool = False,
    ) -> None:
        """Physically move ``chips`` to ``where`` between ``start`` and ``until`` (days).

        ``relay``: the chip answers only the declared site's landmarks, through a relay at the
        site (delay added, never removed).
        """
        for i in chips:
            m = self.motion
            m.away_from[i], m.away_until[i] = start, until
            m.away_lat[i] = where.lat + float(self.rng.uniform(-0.1, 0.1))
            m.away_lon[i] = where.lon + float(self.rng.uniform(-0.1, 0.1))
            m.away_answers[i] = answers or relay
            m.away_relay[i] = relay
