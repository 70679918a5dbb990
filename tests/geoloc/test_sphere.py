"""Distances on the sphere: symmetry, triangle inequality, antimeridian, poles, WGS84 margin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chiptrail.geoloc import EARTH_MODEL_MARGIN, great_circle_km
from chiptrail.geoloc.sphere import (
    EARTH_RADIUS_KM,
    HALF_CIRCUMFERENCE_KM,
    arc_from_chord_km,
    destination_points,
)

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False)


@given(lats, lons, lats, lons)
def test_distance_is_symmetric_and_bounded(a: float, b: float, c: float, d: float) -> None:
    x = float(great_circle_km(a, b, c, d))
    y = float(great_circle_km(c, d, a, b))
    assert x == pytest.approx(y, abs=1e-9)
    assert 0.0 <= x <= HALF_CIRCUMFERENCE_KM + 1e-9


@given(lats, lons, lats, lons, lats, lons)
def test_triangle_inequality(a: float, b: float, c: float, d: float, e: float, f: float) -> None:
    ab = float(great_circle_km(a, b, c, d))
    bc = float(great_circle_km(c, d, e, f))
    ac = float(great_circle_km(a, b, e, f))
    assert ac <= ab + bc + 1e-6


def test_antimeridian_and_poles() -> None:
    # Fiji to Samoa-ish across 180: 20 degrees of longitude on the equator, not 340.
    assert float(great_circle_km(0.0, 170.0, 0.0, -170.0)) == pytest.approx(
        20 * math.pi / 180 * EARTH_RADIUS_KM
    )
    # All meridians meet at the pole.
    assert float(great_circle_km(90.0, 0.0, 90.0, 123.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(great_circle_km(90.0, 0.0, -90.0, 0.0)) == pytest.approx(HALF_CIRCUMFERENCE_KM)
    # London to Tokyo, a known value on the mean sphere (about 9,560 km).
    assert float(great_circle_km(51.5074, -0.1278, 35.6762, 139.6503)) == pytest.approx(
        9560, rel=0.01
    )


@given(lats, lons, st.floats(0, 19_000), st.floats(0, 2 * math.pi))
def test_destination_is_at_the_requested_distance(
    lat: float, lon: float, dist: float, theta: float
) -> None:
    la, lo = destination_points(lat, lon, dist * math.sin(theta), dist * math.cos(theta))
    assert -180.0 <= float(lo) < 180.0
    assert float(great_circle_km(lat, lon, la, lo)) == pytest.approx(dist, abs=1e-3)


def test_arc_is_never_shorter_than_chord() -> None:
    chord = np.linspace(0, 2 * EARTH_RADIUS_KM, 50)
    arc = arc_from_chord_km(chord)
    assert np.all(arc >= chord - 1e-9)
    assert float(arc[-1]) == pytest.approx(HALF_CIRCUMFERENCE_KM)
    assert float(arc_from_chord_km(3 * EARTH_RADIUS_KM)) == pytest.approx(HALF_CIRCUMFERENCE_KM)


def _ecef_km(lat: float, lon: float) -> np.ndarray:
    """WGS84 geodetic -> Earth-centred Cartesian (km) at height 0."""
    a, f = 6378.137, 1 / 298.257223563
    e2 = f * (2 - f)
    p, q = math.radians(lat), math.radians(lon)
    n = a / math.sqrt(1 - e2 * math.sin(p) ** 2)
    return np.array(
        [n * math.cos(p) * math.cos(q), n * math.cos(p) * math.sin(q), n * (1 - e2) * math.sin(p)]
    )


@settings(max_examples=300)
@given(lats, lons, lats, lons)
@example(0.0, 0.0, 1.0, 0.0)  # north-south at the equator: the sphere overstates by 0.56%
@example(90.0, 0.0, -90.0, 0.0)  # pole to pole: the flattened chord is 0.22% shorter
@example(-83.24, -14.78, 83.25, 170.57)  # near-antipodal: 4.4% off without the margin
def test_sphere_margin_covers_the_wgs84_ellipsoid(a: float, b: float, c: float, d: float) -> None:
    """The proven bound holds on the real (ellipsoidal) Earth.

    For any two WGS84 surface points, a light-speed chord between them, enlarged by the margin and
    turned into a sphere arc, is never shorter than the sphere distance the solver uses.
    """
    chord = float(np.linalg.norm(_ecef_km(a, b) - _ecef_km(c, d)))
    sphere = float(great_circle_km(a, b, c, d))
    assert sphere <= float(arc_from_chord_km(chord * (1 + EARTH_MODEL_MARGIN))) + 1e-6
