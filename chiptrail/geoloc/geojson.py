"""GeoJSON of regions: outlines of proven and likely regions, disks and landmarks.

No I/O. The one place where (lat, lon) becomes GeoJSON's (lon, lat): :func:`to_position`.
Longitudes along a ring are unwrapped (they may pass 180) so rings crossing the antimeridian stay
closed and simple; viewers that need RFC 7946 cutting can split them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.landmarks import LandmarkSet
from chiptrail.geoloc.sphere import (
    EARTH_RADIUS_KM,
    FloatArray,
    destination_points,
    to_unit_vectors,
)

JsonObj = dict[str, object]


def to_position(lat: float, lon: float) -> list[float]:
    """GeoJSON position ``[lon, lat]`` (RFC 7946 section 3.1.1) of a (lat, lon) point."""
    return [round(float(lon), 6), round(float(lat), 6)]


def _ring(lat: FloatArray, lon: FloatArray) -> list[list[float]]:
    lon_u = np.degrees(np.unwrap(np.radians(lon)))
    pts = [to_position(a, o) for a, o in zip(lat.tolist(), lon_u.tolist(), strict=True)]
    return [*pts, pts[0]]


def disk_outline(
    lat: float, lon: float, radius_km: float, n_vertices: int = 96
) -> tuple[FloatArray, FloatArray]:
    """Vertices (lat, lon) of a circle of ``radius_km`` around a point."""
    theta = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    r = min(radius_km, np.pi * EARTH_RADIUS_KM * 0.999)
    return destination_points(lat, lon, r * np.sin(theta), r * np.cos(theta))


def region_outline(
    landmarks: LandmarkSet,
    radius_km: NDArray[np.float64],
    lat: float,
    lon: float,
    n_vertices: int = 180,
) -> tuple[FloatArray, FloatArray]:
    """Outline of the intersection of disks, traced by rays from an interior point.

    For each bearing, the farthest distance from (lat, lon) that stays inside every disk is
    solved in closed form (disks of less than a hemisphere are convex, so each ray leaves the
    region once).

    Args:
        landmarks: disk centres.
        radius_km: (n_landmarks,) radii, NaN = no disk.
        lat, lon: a point inside the region (the point estimate).
        n_vertices: bearings sampled.

    Returns:
        (lat, lon) arrays of the outline vertices.
    """
    e = to_unit_vectors(lat, lon)
    north = np.array([0.0, 0.0, 1.0]) - e * e[2]
    if np.linalg.norm(north) < 1e-12:
        north = np.array([1.0, 0.0, 0.0]) - e * e[0]
    north /= np.linalg.norm(north)
    east = np.cross(north, e)
    theta = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    t = np.cos(theta)[:, None] * north + np.sin(theta)[:, None] * east
    ok = np.isfinite(radius_km)
    lm = to_unit_vectors(landmarks.lat_deg[ok], landmarks.lon_deg[ok])
    a = lm @ e
    b = t @ lm.T
    c = np.cos(np.minimum(radius_km[ok], np.pi * EARTH_RADIUS_KM) / EARTH_RADIUS_KM)
    amp = np.hypot(a[None, :], b)
    phi = np.arctan2(b, a[None, :])
    ratio = c[None, :] / np.maximum(amp, 1e-15)
    reach = phi + np.arccos(np.clip(ratio, -1.0, 1.0))
    # A disk that holds the whole great circle of the ray (ratio <= -1) never stops it.
    reach = np.where(ratio <= -1.0, np.inf, reach)
    sigma = np.clip(np.min(reach, axis=1, initial=np.pi), 0.0, np.pi * 0.999)
    d_km = sigma * EARTH_RADIUS_KM
    return destination_points(lat, lon, d_km * np.sin(theta), d_km * np.cos(theta))


def region_geojson(
    landmarks: LandmarkSet,
    proven_km: NDArray[np.float64],
    likely_km: NDArray[np.float64],
    lat: float,
    lon: float,
    *,
    target_id: str = "",
    proven_countries: Sequence[str] = (),
    likely_countries: Sequence[str] = (),
    with_disks: bool = True,
) -> JsonObj:
    """A GeoJSON FeatureCollection of one target's regions.

    Features: the proven region, the likely region (outlines), the point estimate, and for each
    measuring landmark its point and (optionally) its proven disk. Coordinates are [lon, lat].

    Args:
        landmarks: the landmark set.
        proven_km, likely_km: (n_landmarks,) radii for this target, NaN = not measured.
        lat, lon: the point estimate (inside the regions).
        target_id: written into the properties.
        proven_countries, likely_countries: written into the region features' properties.
        with_disks: include each landmark's proven disk.
    """
    feats: list[JsonObj] = []
    for kind, radii, countries in (
        ("proven", proven_km, proven_countries),
        ("likely", likely_km, likely_countries),
    ):
        rl, ro = region_outline(landmarks, radii, lat, lon)
        feats.append(
            _feature(
                "Polygon",
                [_ring(rl, ro)],
                {"kind": f"{kind}_region", "target_id": target_id, "countries": list(countries)},
            )
        )
    feats.append(
        _feature("Point", to_position(lat, lon), {"kind": "estimate", "target_id": target_id})
    )
    for j in np.flatnonzero(np.isfinite(proven_km)).tolist():
        lm = landmarks.landmarks[j]
        props: JsonObj = {
            "kind": "landmark",
            "landmark_id": lm.landmark_id,
            "proven_radius_km": round(float(proven_km[j]), 3),
        }
        feats.append(_feature("Point", to_position(lm.lat, lm.lon), props))
        if with_disks:
            dl, do = disk_outline(lm.lat, lm.lon, float(proven_km[j]))
            feats.append(_feature("Polygon", [_ring(dl, do)], {**props, "kind": "proven_disk"}))
    return {"type": "FeatureCollection", "features": feats}


def _feature(kind: str, coords: object, props: JsonObj) -> JsonObj:
    return {
        "type": "Feature",
        "geometry": {"type": kind, "coordinates": coords},
        "properties": props,
    }
