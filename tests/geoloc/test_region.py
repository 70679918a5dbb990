"""The region solver: soundness, monotonicity, liars, poles and the antimeridian, streaming."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput
from chiptrail.geoloc import (
    DeclaredSite,
    Landmark,
    LandmarkSet,
    LocateOptions,
    RegionStatus,
    great_circle_km,
    judge_location,
    locate_chunks,
    locate_targets,
)
from chiptrail.types import Country, LandmarkId, Verdict
from tests.geoloc.fixtures import C_KM_PER_MS, asia_landmarks, rtt_from

GEOMETRY = LocateOptions(with_countries=False)
lats = st.floats(-89.9, 89.9, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False)


def _landmarks(points: list[tuple[float, float]]) -> LandmarkSet:
    return LandmarkSet.of(Landmark(LandmarkId(f"l{i}"), a, o) for i, (a, o) in enumerate(points))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(lats, lons), min_size=1, max_size=6),
    lats,
    lons,
    st.floats(1.0, 3.0),
    st.floats(0.0, 5.0),
)
def test_true_position_is_always_in_the_proven_region(
    points: list[tuple[float, float]], lat: float, lon: float, slowdown: float, extra: float
) -> None:
    """Soundness: whenever rtt >= 2 d / c, the truth lies in the sampled proven region."""
    lm = _landmarks(points)
    d = great_circle_km(lat, lon, lm.lat_deg, lm.lon_deg)
    rtt = (2.0 * d / C_KM_PER_MS * slowdown + extra)[None, :]
    res = locate_targets(lm, rtt, options=GEOMETRY)
    assert res.status[0] is RegionStatus.OK
    # The proven region lies within proven_radius_km of the estimate, so the truth does too.
    assert float(great_circle_km(lat, lon, res.lat_deg[0], res.lon_deg[0])) <= (
        res.proven_radius_km[0] + 1e-6
    )
    site = DeclaredSite(lat, lon, Country("US"))
    assert judge_location(lm, rtt[0], site, options=GEOMETRY).verdict is not Verdict.VIOLATION


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(lats, lons), min_size=2, max_size=5),
    lats,
    lons,
    st.floats(0.0, 40.0),
    lats,
    lons,
)
def test_extra_delay_never_shrinks_and_extra_landmarks_never_grow(
    points: list[tuple[float, float]],
    lat: float,
    lon: float,
    extra: float,
    s_lat: float,
    s_lon: float,
) -> None:
    lm = _landmarks(points)
    rtt = rtt_from(lm, lat, lon)
    site = DeclaredSite(s_lat, s_lon, Country("US"))
    base = judge_location(lm, rtt, site, options=GEOMETRY).verdict is Verdict.VIOLATION
    slower = judge_location(lm, rtt + extra, site, options=GEOMETRY).verdict is Verdict.VIOLATION
    assert slower <= base  # a site excluded with more delay was excluded with less
    fewer = lm.subset(range(len(lm) - 1))
    with_less = judge_location(fewer, rtt[:-1], site, options=GEOMETRY).verdict is Verdict.VIOLATION
    assert with_less <= base  # dropping a landmark never excludes more
    a = locate_targets(lm, rtt[None, :], options=GEOMETRY)
    b = locate_targets(lm, (rtt + extra)[None, :], options=GEOMETRY)
    assert a.min_disk_km[0] <= b.min_disk_km[0]


def test_antimeridian_and_pole_regions() -> None:
    lm = _landmarks([(-17.7, 178.0), (-13.8, -171.8), (89.0, 0.0), (-85.0, 30.0)])
    fiji_samoa = rtt_from(lm, -16.0, -179.5)
    res = locate_targets(lm, fiji_samoa[None, :], options=GEOMETRY)
    assert res.status[0] is RegionStatus.OK
    assert (
        float(great_circle_km(-16.0, -179.5, res.lat_deg[0], res.lon_deg[0]))
        <= res.proven_radius_km[0]
    )
    near_pole = rtt_from(lm, 88.0, 120.0)
    res = locate_targets(lm, near_pole[None, :], options=GEOMETRY)
    assert (
        float(great_circle_km(88.0, 120.0, res.lat_deg[0], res.lon_deg[0]))
        <= res.proven_radius_km[0]
    )


def test_missing_data_inconsistency_and_bad_input() -> None:
    lm = asia_landmarks()
    rtt = np.full((3, len(lm)), np.nan)
    rtt[1] = rtt_from(lm, 22.54, 114.06)
    rtt[2, 0] = 0.1  # 15 km from Singapore ...
    rtt[2, 1] = 0.1  # ... and 15 km from Hong Kong: no place is both
    res = locate_targets(lm, rtt, options=GEOMETRY, target_ids=["none", "sz", "liar"])
    assert [s.value for s in res.status] == ["no_data", "ok", "inconsistent"]
    assert res.row(0)["lat"] is None
    assert res.n_landmarks.tolist() == [0, 5, 2]
    with pytest.raises(InvalidInput):
        locate_targets(lm, -np.ones((1, len(lm))), options=GEOMETRY)
    with pytest.raises(InvalidInput):
        locate_targets(lm, np.ones((1, 2)), options=GEOMETRY)


def test_a_lying_landmark_is_tolerated_with_max_liars() -> None:
    """A landmark that says it is in Tokyo but sits in Singapore answers 0.2 ms for a Johor chip."""
    names = [
        ("sg", 1.29, 103.85),
        ("kl", 3.14, 101.69),
        ("hk", 22.28, 114.16),
        ("tyo", 35.68, 139.65),
    ]
    lm = LandmarkSet.of(Landmark(LandmarkId(n), a, o) for n, a, o in names)
    johor = (1.4927, 103.7414)
    rtt = rtt_from(lm, *johor)
    rtt[3] = 0.2  # the liar
    site = DeclaredSite(*johor, Country("MY"))
    assert judge_location(lm, rtt, site, options=GEOMETRY).verdict is Verdict.VIOLATION
    tolerant = LocateOptions(with_countries=False, max_liars=1)
    assert judge_location(lm, rtt, site, options=tolerant).verdict is not Verdict.VIOLATION
    res = locate_targets(lm, rtt[None, :], options=tolerant)
    assert float(great_circle_km(*johor, res.lat_deg[0], res.lon_deg[0])) <= res.proven_radius_km[0]


def test_streaming_matches_one_shot_and_many_chips() -> None:
    lm = asia_landmarks()
    rng = np.random.default_rng(7)
    lat = rng.uniform(-5, 40, 300)
    lon = rng.uniform(95, 145, 300)
    d = great_circle_km(lat[:, None], lon[:, None], lm.lat_deg, lm.lon_deg)
    rtt = 2 * d / (C_KM_PER_MS * 2 / 3) + 0.3
    rtt[rng.random(rtt.shape) < 0.2] = np.nan
    one = locate_targets(lm, rtt, options=GEOMETRY)
    parts = list(
        locate_chunks(
            lm, [rtt[:100], rtt[100:]], options=LocateOptions(with_countries=False, chunk_size=37)
        )
    )
    assert sum(len(p.status) for p in parts) == 300
    joined = np.concatenate([p.lat for p in parts])
    np.testing.assert_allclose(joined, one.lat_deg, equal_nan=True)
    ok = ~np.isnan(one.lat_deg)
    reach = great_circle_km(lat, lon, one.lat_deg, one.lon_deg)
    assert np.all(reach[ok] <= one.proven_radius_km[ok] + 1e-6)
