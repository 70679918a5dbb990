"""Indexes over a ``WorldView`` that several rules share (per-chip timelines, ultimate parents).

No I/O. Built once per run; every index is computed on first use.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from chiptrail.rules.view import CustodyEvent, LocationFix, OwnershipEdge, WorldView
from chiptrail.types import ChipId, PartyId

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km between two WGS84 points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class ControlPath:
    """The chain from a party up to its ultimate parent: ``parties[0]`` is the party itself."""

    parties: tuple[PartyId, ...]
    shares: tuple[float, ...]

    @property
    def ultimate(self) -> PartyId:
        """The top of the chain."""
        return self.parties[-1]

    def describe(self) -> str:
        """``a -(60%)-> b -(100%)-> c`` reading upwards."""
        out: list[str] = [self.parties[0]]
        for share, party in zip(self.shares, self.parties[1:], strict=True):
            out.append(f"<-({share:.0%})- {party}")
        return " ".join(out)


def control_path(owners: Mapping[PartyId, list[OwnershipEdge]], party: PartyId) -> ControlPath:
    """Follow majority owners (share > 50%) upwards; cycles stop at the first repeat."""
    chain, shares, seen = [party], [], {party}
    current = party
    while True:
        majority = [e for e in owners.get(current, []) if e.share > 0.5]
        if not majority:
            break
        edge = max(majority, key=lambda e: (e.share, e.owner))
        if edge.owner in seen:
            break
        chain.append(edge.owner)
        shares.append(edge.share)
        seen.add(edge.owner)
        current = edge.owner
    return ControlPath(tuple(chain), tuple(shares))


class RuleContext:
    """A ``WorldView`` plus lazily built indexes shared by the rules."""

    def __init__(self, view: WorldView) -> None:
        self.view = view
        self.config = view.config

    @cached_property
    def events_by_chip(self) -> dict[ChipId, list[CustodyEvent]]:
        """Each chip's custody events in time order (then log order)."""
        out: dict[ChipId, list[CustodyEvent]] = defaultdict(list)
        for ev in sorted(self.view.events, key=lambda e: (e.at, e.leaf_index)):
            for chip in ev.chip_ids:
                out[chip].append(ev)
        return dict(out)

    @cached_property
    def fixes_by_chip(self) -> dict[ChipId, list[LocationFix]]:
        """Each chip's location fixes in time order."""
        out: dict[ChipId, list[LocationFix]] = defaultdict(list)
        for fix in sorted(self.view.fixes, key=lambda f: (f.at, f.fix_id)):
            out[fix.chip_id].append(fix)
        return dict(out)

    @cached_property
    def owners_of(self) -> dict[PartyId, list[OwnershipEdge]]:
        """Ownership edges by owned party."""
        out: dict[PartyId, list[OwnershipEdge]] = defaultdict(list)
        for edge in self.view.ownership:
            out[edge.owned].append(edge)
        return dict(out)

    def control_path(self, party: PartyId) -> ControlPath:
        """The majority-control chain of ``party`` up to its ultimate parent."""
        return control_path(self.owners_of, party)

    def party_label(self, party: PartyId) -> str:
        """``name (id, CC)`` for explanations; the bare id when the party is unknown."""
        p = self.view.parties.get(party)
        return f"{p.name} ({party}, {p.country})" if p else str(party)
