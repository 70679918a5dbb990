"""Where to add a landmark for a site the landmarks cannot verify: the rules' call into the
landmark planner (``geoloc.planning.propose_landmark``).

No I/O: sites, landmarks and ownership come in the view; country attribution reads the offline
boundary data that ``geoloc.borders`` ships with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chiptrail.geoloc.borders import country_at
from chiptrail.geoloc.landmarks import Landmark, LandmarkSet
from chiptrail.geoloc.planning import Place, propose_landmark
from chiptrail.geoloc.sphere import destination_points
from chiptrail.rules.context import RuleContext, distance_km
from chiptrail.rules.view import Site
from chiptrail.types import Country, LandmarkId

RING_KM = (50.0, 100.0, 200.0, 400.0, 800.0)
"""Distances (km) from the site at which neighbouring places in other countries are sampled."""
NEAR_KM = (5.0, 10.0, 25.0, 50.0)
"""Distances (km) from the site of fallback landmark places in its own country."""
BEARINGS = 12


@dataclass(frozen=True, slots=True)
class SiteProposal:
    """Where the planner would add a landmark for ``site``.

    ``lat``/``lon`` in degrees; ``country`` where the place is (None at sea); ``host`` says what
    the place is (another party's declared site, a point near the site, or the site itself).
    """

    site_id: str
    lat: float
    lon: float
    country: Country | None
    host: str
    separated: int
    neighbours: int
    already: int
    unseparable: tuple[str, ...]


def _ring(site: Site, radii: tuple[float, ...]) -> list[tuple[float, float, float]]:
    """(lat, lon, km) of points on circles of ``radii`` km around the site, ``BEARINGS`` each."""
    angles = np.radians(np.arange(BEARINGS) * 360.0 / BEARINGS)
    out = []
    for km in radii:
        lat, lon = destination_points(site.lat, site.lon, km * np.sin(angles), km * np.cos(angles))
        out += [(float(a), float(b), km) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)]
    return out


def _deployed(ctx: RuleContext) -> LandmarkSet:
    return LandmarkSet(
        tuple(
            Landmark(LandmarkId(m.landmark_id), m.lat, m.lon, m.country, m.uncertainty_km)
            for m in ctx.view.landmarks
        )
    )


def plan_site_landmark(ctx: RuleContext, site: Site, reach_km: float) -> SiteProposal:
    """The planner's proposal for ``site``, whose chips' proven disks are ``reach_km`` wide.

    Neighbours: declared sites in other countries within ``reach_km``, and points on rings
    around the site (``RING_KM`` up to ``reach_km``) in another country. Preferred places:
    declared sites of parties outside the operator's group within ``reach_km`` (a landmark the
    operator hosts is one it could move or relay); fallback: points ``NEAR_KM`` from the site in
    its own country, then the site itself.
    """
    group = set(ctx.ultimate_parents(site.operator))
    neighbours: list[Place] = []
    preferred: list[tuple[float, Place, Site]] = []
    for other in ctx.view.sites.values():
        gap = distance_km(site.lat, site.lon, other.lat, other.lon)
        if other.site_id == site.site_id or gap > reach_km:
            continue
        if other.country != site.country:
            neighbours.append(
                Place(f"site {other.site_id} ({other.country})", other.lat, other.lon)
            )
        if not group & set(ctx.ultimate_parents(other.operator)):
            place = Place(f"site {other.site_id}", other.lat, other.lon)
            preferred.append((gap, place, other))
    preferred.sort(key=lambda p: (p[0], p[2].site_id))
    for lat, lon, km in _ring(site, tuple(r for r in RING_KM if r <= reach_km)):
        there = country_at(lat, lon)
        if there is not None and there != site.country:
            neighbours.append(Place(f"{there} {lat:.2f},{lon:.2f} ({km:g} km)", lat, lon))
    fallback = [
        Place(f"{km:g} km from the site", lat, lon)
        for lat, lon, km in _ring(site, NEAR_KM)
        if country_at(lat, lon) == site.country
    ]
    me = Place(f"site {site.site_id}", site.lat, site.lon)
    proposal = propose_landmark(
        me, neighbours, _deployed(ctx), [p for _, p, _ in preferred], fallback
    )
    place = proposal.place
    host_site = next((s for _, p, s in preferred if p == place), None)
    if host_site is not None:
        country: Country | None = host_site.country
        host = f"declared site {host_site.site_id} of {host_site.operator}"
    elif place == me:
        country, host = site.country, "the site itself"
    else:
        country, host = country_at(place.lat, place.lon), f"a point {place.name}"
    return SiteProposal(
        site.site_id,
        place.lat,
        place.lon,
        country,
        host,
        len(proposal.separated),
        len(neighbours),
        len(proposal.already),
        proposal.unseparable,
    )
