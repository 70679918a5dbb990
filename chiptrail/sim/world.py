"""The simulated world: parties, sites, orders, custody events, probe rounds and ground truth.

No I/O. Built by ``chiptrail.sim.scenarios.build_world`` from a seed; turned into the rules'
``WorldView`` by ``to_view`` once location fixes are judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from chiptrail.rules.view import (
    Chip,
    CustodyEvent,
    LandmarkPosition,
    Licence,
    LocationFix,
    Order,
    OwnershipEdge,
    Party,
    RuleConfig,
    ScreeningHit,
    Site,
    TenancyUsage,
    WorldView,
)
from chiptrail.types import ChipId, Country, PartyId

DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)
"""The simulated 'now': fixed, so a seed reproduces the same world on any day."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SimLandmark:
    """A probe server at a city (degrees)."""

    landmark_id: str
    lat: float
    lon: float
    country: str


@dataclass(frozen=True, slots=True)
class ListedEntity:
    """An entry of the simulated restricted-party list (names in every script it is known by)."""

    entity_id: str
    list_name: str
    names: tuple[str, ...]
    country: str


@dataclass(frozen=True, slots=True)
class Incident:
    """One injected diversion and the subjects a correct detection may name."""

    incident_id: str
    channel: str
    started_at: datetime
    chips: tuple[ChipId, ...]
    parties: tuple[PartyId, ...]
    countries: tuple[str, ...]
    note: str

    @property
    def subjects(self) -> frozenset[str]:
        """Every chip, party and country id of this incident."""
        return frozenset((*self.chips, *self.parties, *self.countries))


@dataclass(frozen=True)
class ProbeRounds:
    """Signed-measurement rounds: one row per (chip, round), ``k`` landmark columns.

    Attributes:
        chip_index: (T,) int64 index into ``World.chip_ids``.
        at_days: (T,) float64 days relative to ``World.now`` (negative: in the past).
        site_index: (T,) int64 index into ``World.site_list``: the declared site.
        landmark_index: (T, k) int64 index into ``World.landmarks``; -1 where no answer.
        rtt_ms: (T, k) float64 round-trip times in ms; NaN where no answer.
    """

    chip_index: IntArray
    at_days: FloatArray
    site_index: IntArray
    landmark_index: IntArray
    rtt_ms: FloatArray

    def __len__(self) -> int:
        return int(self.chip_index.shape[0])


@dataclass(frozen=True)
class World:
    """Everything the simulator made, plus the ground truth of what was injected."""

    seed: int
    now: datetime
    config: RuleConfig
    parties: dict[PartyId, Party]
    ownership: tuple[OwnershipEdge, ...]
    site_list: tuple[Site, ...]
    licences: dict[str, Licence]
    orders: tuple[Order, ...]
    chip_ids: tuple[ChipId, ...]
    chip_order: tuple[str, ...]
    chip_model: tuple[str, ...]
    events: tuple[CustodyEvent, ...]
    landmarks: tuple[SimLandmark, ...]
    rounds: ProbeRounds
    usage: tuple[TenancyUsage, ...]
    restricted: tuple[ListedEntity, ...]
    incidents: tuple[Incident, ...]

    @property
    def sites(self) -> dict[str, Site]:
        """Sites by id."""
        return {s.site_id: s for s in self.site_list}

    def at(self, days: float) -> datetime:
        """The datetime ``days`` from ``now``."""
        return self.now + timedelta(days=float(days))

    def incident_chips(self) -> frozenset[ChipId]:
        """Chips that belong to any injected incident."""
        return frozenset(c for i in self.incidents for c in i.chips)

    def legit_chips(self) -> tuple[ChipId, ...]:
        """Chips of the legitimate fleet (no incident)."""
        bad = self.incident_chips()
        return tuple(c for c in self.chip_ids if c not in bad)

    def chips_by_buyer(self) -> dict[PartyId, list[ChipId]]:
        """Chips grouped by the buyer of their order."""
        buyer = {o.order_id: o.buyer for o in self.orders}
        out: dict[PartyId, list[ChipId]] = {}
        for chip, order in zip(self.chip_ids, self.chip_order, strict=True):
            out.setdefault(buyer[order], []).append(chip)
        return out


def to_view(
    world: World,
    fixes: tuple[LocationFix, ...],
    screening_hits: tuple[ScreeningHit, ...],
    events: tuple[CustodyEvent, ...] | None = None,
) -> WorldView:
    """The rules' read-only view of ``world`` with judged ``fixes`` and screening hits.

    ``events`` replaces the simulated events (e.g. with leaf indexes from a real ledger).
    """
    licence_of = {o.order_id: o.licence_id for o in world.orders}
    chips = {
        cid: Chip(cid, model, order, licence_of.get(order))
        for cid, model, order in zip(
            world.chip_ids, world.chip_model, world.chip_order, strict=True
        )
    }
    return WorldView(
        now=world.now,
        parties=world.parties,
        ownership=world.ownership,
        screening_hits=screening_hits,
        sites=world.sites,
        licences=world.licences,
        orders=world.orders,
        chips=chips,
        events=events if events is not None else world.events,
        fixes=fixes,
        usage=world.usage,
        config=world.config,
        landmarks=tuple(
            LandmarkPosition(m.landmark_id, m.lat, m.lon, Country(m.country))
            for m in world.landmarks
        ),
    )
