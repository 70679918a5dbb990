"""Proven and likely bounds: light-speed radius, CBG bestline calibration and its fallback."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput
from chiptrail.geoloc import (
    EARTH_MODEL_MARGIN,
    Calibration,
    calibrate_landmarks,
    disk_radii,
    fit_bestline,
    likely_radius_km,
    proven_radius_km,
)
from chiptrail.geoloc.bounds import FIBRE_SLOPE_MS_PER_KM, KM_PER_MS_RTT, without_floor


def test_one_ms_reaches_about_150_km_plus_margin() -> None:
    assert pytest.approx(149.896229) == KM_PER_MS_RTT
    r = float(proven_radius_km(1.0))
    assert r == pytest.approx(149.896229 * (1 + EARTH_MODEL_MARGIN), rel=1e-4)  # + chord->arc
    assert float(proven_radius_km(1.0, 2.5)) == pytest.approx(r + 2.5)
    assert np.isnan(proven_radius_km(np.nan))
    # Beyond the antipode everything is reachable; the radius stops at half the circumference.
    assert float(proven_radius_km(1000.0)) == pytest.approx(20015.1, abs=0.2)


@given(st.floats(0, 500), st.floats(0, 500))
def test_more_delay_never_shrinks_the_proven_radius(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert float(proven_radius_km(lo)) <= float(proven_radius_km(hi))


@settings(max_examples=50)
@given(
    st.lists(
        st.tuples(st.floats(10, 5000), st.floats(0, 30)),
        min_size=3,
        max_size=25,
        unique_by=lambda p: p[0],
    )
)
def test_bestline_lies_below_every_point(points: list[tuple[float, float]]) -> None:
    x = np.array([p[0] for p in points])
    y = (
        np.array([p[1] for p in points]) + FIBRE_SLOPE_MS_PER_KM * x
    )  # physical: above the fibre line
    line = fit_bestline(x, y)
    assert line is not None
    m, b = line
    assert m >= FIBRE_SLOPE_MS_PER_KM - 1e-12
    assert b >= 0.0
    assert np.all(y >= m * x + b - 1e-6 * max(1.0, y.max()))


def test_bestline_is_the_tight_lower_line() -> None:
    # Points on rtt = 2 + 0.02 d and above it: the bestline is that line.
    x = np.array([100.0, 500.0, 1000.0, 2000.0])
    y = 2.0 + 0.02 * x + np.array([0.0, 3.0, 0.0, 5.0])
    m, b = fit_bestline(x, y) or (0.0, 0.0)
    assert m == pytest.approx(0.02)
    assert b == pytest.approx(2.0)


def test_calibration_per_landmark_and_fallback() -> None:
    d = np.array(
        [[0, 100, 800, 1500], [100, 0, 700, 1400], [800, 700, 0, 900], [1500, 1400, 900, 0]], float
    )
    rtt = 1.0 + 0.015 * d
    rtt[3, :] = np.nan  # landmark 3 measured nothing itself ...
    rtt[:, 3] = np.nan  # ... and nobody measured it: too few peers
    np.fill_diagonal(rtt, np.nan)
    cal = calibrate_landmarks(d, rtt)
    assert cal.is_fallback.tolist() == [True, True, True, True]  # only 2 peers each (< 3)
    cal = calibrate_landmarks(d, rtt, min_peers=2)
    assert cal.is_fallback.tolist() == [False, False, False, True]
    assert cal.slope_ms_per_km[0] == pytest.approx(0.015)
    assert cal.intercept_ms[0] == pytest.approx(1.0)
    assert cal.slope_ms_per_km[3] == FIBRE_SLOPE_MS_PER_KM
    # The likely radius inverts the line, is floored at 70% of the fibre distance and never
    # exceeds the proven one.
    r = likely_radius_km(np.array([[16.0, 16.0, 16.0, 16.0]]), without_floor(cal))
    assert r[0, 0] == pytest.approx(1000.0)
    floored = likely_radius_km(np.array([[16.0, 16.0, 16.0, 16.0]]), cal)
    assert floored[0, 0] == pytest.approx(0.7 * 16.0 / FIBRE_SLOPE_MS_PER_KM)
    assert r[0, 3] == pytest.approx(16.0 / FIBRE_SLOPE_MS_PER_KM)  # 2/3 c: 99.93 km per ms
    assert np.all(r <= proven_radius_km(16.0))


def test_calibration_rejects_bad_shapes_and_negative_rtts() -> None:
    with pytest.raises(InvalidInput):
        calibrate_landmarks(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(InvalidInput):
        calibrate_landmarks(np.zeros((2, 2)), -np.ones((2, 2)))


def test_fallback_is_two_thirds_c() -> None:
    cal = Calibration.fallback(2)
    # 10 ms of RTT at 2/3 c is 1,000 km (100 km per ms of RTT).
    assert float(likely_radius_km(np.array([10.0, 10.0]), cal)[0]) == pytest.approx(999.3, rel=1e-3)


def test_disk_radii_likely_inside_proven_and_widened_up_to_it() -> None:
    rtt = np.array([[2.0, 10.0, np.nan]])
    proven, likely = disk_radii(rtt, uncertainty_km=np.array([5.0, 0.0, 0.0]))
    np.testing.assert_allclose(proven, proven_radius_km(rtt, np.array([5.0, 0.0, 0.0])))
    assert (likely[0, :2] < proven[0, :2]).all()
    assert likely[0, 0] > 5.0  # the landmark's uncertainty widens the likely disk too
    assert np.isnan(likely[0, 2])  # not measured: no disk
    _, wide = disk_radii(rtt, widened=np.array([[1.0]]))
    np.testing.assert_allclose(wide[0, :2], proven_radius_km(rtt)[0, :2])
