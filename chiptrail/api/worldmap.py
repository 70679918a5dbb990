"""Build the dashboard's offline world map (``web/world.geojson``) from installed package data.

Run once at build time (``python -m chiptrail.api.worldmap``); the generated file is committed.
Origin: the time-zone polygons shipped by the ``timezonefinder`` package (from
timezone-boundary-builder, OpenStreetMap data, ODbL), each zone mapped to its country by the IANA
``zone.tab`` shipped by ``tzdata``, unioned per country and simplified. Ocean zones (``Etc/*``)
are dropped. Never downloads anything.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

WORLD_GEOJSON = Path(__file__).parent / "web" / "world.geojson"


def read_zone_countries() -> dict[str, str]:
    """IANA zone name -> ISO 3166-1 alpha-2 country, from tzdata's ``zone.tab``."""
    import tzdata  # type: ignore[import-untyped]

    tab = Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab"
    zones: dict[str, str] = {}
    for line in tab.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        zones[parts[2]] = parts[0]
    return zones


def build_world_geojson(tolerance_deg: float = 0.08, digits: int = 2) -> dict[str, Any]:
    """One GeoJSON Feature per country (``properties.iso2``), coordinates as (lon, lat) degrees.

    Args:
        tolerance_deg: Douglas-Peucker simplification tolerance in degrees.
        digits: decimal places kept in coordinates.
    """
    from shapely import MultiPolygon, Polygon, make_valid, set_precision, union_all
    from shapely.geometry import mapping
    from timezonefinder import TimezoneFinder

    finder = TimezoneFinder()
    countries = read_zone_countries()
    parts: dict[str, list[Any]] = defaultdict(list)
    for zone in finder.timezone_names:
        iso2 = countries.get(zone)
        if iso2 is None:
            continue
        for rings in finder.get_geometry(tz_name=zone, coords_as_pairs=True):
            shell, *holes = rings
            parts[iso2].append(make_valid(Polygon(shell, holes)))
    features = []
    for iso2 in sorted(parts):
        merged = union_all(parts[iso2]).simplify(tolerance_deg, preserve_topology=True)
        merged = set_precision(merged, 10**-digits)
        polys = [g for g in getattr(merged, "geoms", [merged]) if isinstance(g, Polygon)]
        polys = [p for p in polys if not p.is_empty]
        if not polys:
            continue
        geom = mapping(MultiPolygon(polys))
        features.append({"type": "Feature", "properties": {"iso2": iso2}, "geometry": geom})
    return {
        "type": "FeatureCollection",
        "properties": {
            "source": "timezonefinder polygons (timezone-boundary-builder, OSM, ODbL) "
            "unioned per country via tzdata zone.tab",
            "tolerance_deg": tolerance_deg,
        },
        "features": features,
    }


def main() -> None:
    """Write ``web/world.geojson``."""
    world = build_world_geojson()
    WORLD_GEOJSON.write_text(json.dumps(world, separators=(",", ":")), encoding="utf-8")
    sys.stderr.write(f"wrote {WORLD_GEOJSON} ({len(world['features'])} countries)\n")


if __name__ == "__main__":
    main()
