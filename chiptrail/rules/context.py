"""Indexes over a ``WorldView`` that several rules share (per-chip timelines, ownership graph).

No I/O. Built once per run; every index is computed on first use.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chiptrail.parties.graph import (
    OwnershipGraph,
    PathStep,
    Restriction,
    compute_ultimate_parents,
    find_restrictions,
    find_ultimate_parents,
)
from chiptrail.parties.model import Ownership
from chiptrail.rules.view import CustodyEvent, LocationFix, WorldView
from chiptrail.types import ChipId, PartyId, Verdict

if TYPE_CHECKING:
    from chiptrail.rules.risk import SubjectRisk

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km between two WGS84 points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class ControlPath:
    """How ``party`` is controlled by ``parent`` (``chiptrail.parties.graph``, 50%-or-more rule).

    ``steps`` run from the parent down to the party; empty when the party is its own parent.
    """

    party: PartyId
    parent: PartyId
    steps: tuple[PathStep, ...]

    @property
    def ref(self) -> str:
        """``path:party>...>parent`` (reading upwards), for evidence references."""
        chain = [self.party, *(s.owner_id for s in reversed(self.steps))]
        return "path:" + ">".join(chain)

    def describe(self) -> str:
        """``parent -(100%)-> holding -(70%)-> party``."""
        if not self.steps:
            return f"{self.party} has no controlling owner"
        out = [str(self.steps[0].owner_id)]
        for step in self.steps:
            pct = "?" if step.percentage is None else f"{step.percentage:g}%"
            out.append(f"-({pct})-> {step.asset_id}")
        return " ".join(out)


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
    def verified_sites(self) -> frozenset[str]:
        """Sites with at least one VERIFIED fix of any chip (their landmarks can verify them)."""
        return frozenset(
            f.site_id for f in self.view.fixes if f.verdict is Verdict.VERIFIED and f.site_id
        )

    @cached_property
    def graph(self) -> OwnershipGraph:
        """The view's ownership edges as a ``parties.graph.OwnershipGraph`` (percent shares)."""
        return OwnershipGraph(
            Ownership(f"edge-{n}", e.owner, e.owned, e.share * 100.0)
            for n, e in enumerate(self.view.ownership)
        )

    @cached_property
    def _ultimate(self) -> dict[PartyId, tuple[PartyId, ...]]:
        return compute_ultimate_parents(self.graph)

    def ultimate_parents(self, party: PartyId) -> tuple[PartyId, ...]:
        """Every ultimate parent of ``party`` (itself when nobody controls it)."""
        return self._ultimate.get(party, (party,))

    def control_paths(self, party: PartyId) -> tuple[ControlPath, ...]:
        """One explaining path from each ultimate parent down to ``party``."""
        found = find_ultimate_parents(self.graph, party)
        return tuple(
            ControlPath(party, parent, path)
            for parent, path in zip(
                [p for p in found.parents if p != party], found.paths, strict=True
            )
        )

    def restrictions(self, listed: Mapping[PartyId, str]) -> dict[PartyId, Restriction]:
        """Parties restricted by listing or by 50%-or-more ownership by restricted parties."""
        return find_restrictions(self.graph, listed)

    @cached_property
    def risks(self) -> list[SubjectRisk]:
        """Every subject's combined graded risk (``rules/graded.py``), computed once per run."""
        from chiptrail.rules.graded import assess_risks  # the graded detectors read this context

        return assess_risks(self)

    def party_label(self, party: PartyId) -> str:
        """``name (id, CC)`` for explanations; the bare id when the party is unknown."""
        p = self.view.parties.get(party)
        return f"{p.name} ({party}, {p.country})" if p else str(party)
