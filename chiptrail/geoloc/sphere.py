"""Distances and caps on the Earth sphere: the geometry every bound in geoloc rests on.

No I/O. Coordinates are WGS84 degrees in ``(lat, lon)`` order; distances are km along the sphere
of radius :data:`EARTH_RADIUS_KM` (IUGG mean radius). The relative error of this sphere against the
WGS84 ellipsoid is covered by :data:`EARTH_MODEL_MARGIN` where bounds are proven (see bounds.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
"""IUGG mean Earth radius R1 (km)."""
HALF_CIRCUMFERENCE_KM = float(np.pi * EARTH_RADIUS_KM)
"""The largest great-circle distance (km): from a point to its antipode."""

FloatArray = NDArray[np.float64]


def great_circle_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> FloatArray:
    """Great-circle distance on the sphere, vectorised with numpy broadcasting.

    Uses the haversine form with the argument clipped to [0, 1], which is well conditioned for
    small distances and exact at antipodes.

    Args:
        lat1, lon1: degrees, any broadcastable shapes.
        lat2, lon2: degrees.

    Returns:
        Distances in km (float64), the broadcast shape of the inputs.
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def to_unit_vectors(lat: ArrayLike, lon: ArrayLike) -> FloatArray:
    """Unit vectors (x, y, z) of points on the sphere.

    Args:
        lat, lon: degrees, broadcastable shapes ``S``.

    Returns:
        float64 array of shape ``S + (3,)``.
    """
    p = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    p, lam = np.broadcast_arrays(p, lam)
    cp = np.cos(p)
    return np.stack([cp * np.cos(lam), cp * np.sin(lam), np.sin(p)], axis=-1)


def from_unit_vectors(xyz: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(lat, lon) in degrees of vectors of shape ``S + (3,)`` (need not be normalised)."""
    v = np.asarray(xyz, dtype=np.float64)
    lat = np.degrees(np.arctan2(v[..., 2], np.hypot(v[..., 0], v[..., 1])))
    lon = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    return lat, lon


def arc_from_chord_km(chord_km: ArrayLike) -> FloatArray:
    """Great-circle distance between two surface points whose straight-line distance is given.

    A signal's straight path (the chord) is shorter than the surface arc, so a light-speed bound
    on the chord becomes this (longer) bound on the arc. Chords beyond the diameter map to the
    half circumference.
    """
    c = np.asarray(chord_km, dtype=np.float64)
    x = np.clip(c / (2.0 * EARTH_RADIUS_KM), 0.0, 1.0)
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(x))


def destination_points(
    lat0: ArrayLike, lon0: ArrayLike, east_km: ArrayLike, north_km: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Inverse azimuthal-equidistant projection around centres ``(lat0, lon0)``.

    A point ``(east_km, north_km)`` in the plane maps to the point at great-circle distance
    ``hypot(east, north)`` from the centre in the direction ``atan2(east, north)``. The map never
    shrinks distances (its scale factors are >= 1), so two plane points at distance ``s`` are at
    most ``s`` apart on the sphere: the region sampler relies on this. Works across the
    antimeridian and at the poles.

    Returns:
        (lat, lon) in degrees, lon normalised to [-180, 180).
    """
    e = np.asarray(east_km, dtype=np.float64)
    n = np.asarray(north_km, dtype=np.float64)
    delta = np.hypot(e, n) / EARTH_RADIUS_KM
    theta = np.arctan2(e, n)
    p1 = np.radians(np.asarray(lat0, dtype=np.float64))
    l1 = np.radians(np.asarray(lon0, dtype=np.float64))
    sin_p2 = np.sin(p1) * np.cos(delta) + np.cos(p1) * np.sin(delta) * np.cos(theta)
    p2 = np.arcsin(np.clip(sin_p2, -1.0, 1.0))
    y = np.sin(theta) * np.sin(delta) * np.cos(p1)
    x = np.cos(delta) - np.sin(p1) * sin_p2
    l2 = l1 + np.arctan2(y, x)
    lon = (np.degrees(l2) + 180.0) % 360.0 - 180.0
    return np.degrees(p2), lon


def normalize_lon(lon: ArrayLike) -> FloatArray:
    """Longitude folded into [-180, 180)."""
    return np.asarray((np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0)
