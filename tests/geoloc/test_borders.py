"""Country attribution at borders and coasts: Singapore, Hong Kong, Macau, Taiwan, the sea."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.geoloc import (
    EARTH_RADIUS_KM,
    BorderIndex,
    Landmark,
    LandmarkSet,
    LocateOptions,
    countries_in_region,
    country_at,
    great_circle_km,
    load_border_index,
    locate_targets,
)
from chiptrail.geoloc.borders import (
    border_index_from_arrays,
    border_index_to_arrays,
    country_outlines,
    zone_countries,
)
from chiptrail.types import LandmarkId
from tests.geoloc.fixtures import C_KM_PER_MS, PLACES

POINTS = [
    ("Johor Bahru", "johor", "MY"),
    ("Singapore", "singapore", "SG"),
    ("Batam", "batam", "ID"),
    ("Shenzhen", "shenzhen", "CN"),
    ("Hong Kong", "hong_kong", "HK"),
    ("Zhuhai", "zhuhai", "CN"),
    ("Macau", "macau", "MO"),
    ("Kinmen", "kinmen", "TW"),
    ("Xiamen", "xiamen", "CN"),
    ("Taipei", "taipei", "TW"),
]


@pytest.mark.parametrize(
    ("place", "code"), [(p, c) for _, p, c in POINTS], ids=[n for n, _, _ in POINTS]
)
def test_country_at_special_territories(place: str, code: str) -> None:
    assert country_at(*PLACES[place]) == code


def test_sea_is_no_country_and_zone_table_is_complete() -> None:
    assert country_at(0.0, -30.0) is None  # mid-Atlantic
    table = zone_countries()
    assert table["Asia/Hong_Kong"] == "HK"
    assert table["Asia/Macau"] == "MO"
    assert table["Asia/Taipei"] == "TW"
    assert table["Europe/Busingen"] == "DE"


def _disk(lat: float, lon: float, radius_km: float) -> tuple[LandmarkSet, np.ndarray]:
    lm = LandmarkSet.of([Landmark(LandmarkId("x"), lat, lon)])
    return lm, np.array([[radius_km]])


@pytest.mark.parametrize(
    ("lat", "lon", "radius_km", "must", "must_not"),
    [
        (1.3521, 103.8198, 3.0, {"SG"}, {"MY", "ID"}),  # central Singapore
        (1.55, 103.70, 5.0, {"MY"}, {"ID"}),  # Johor, north of the strait
        (1.45, 103.77, 4.0, {"MY", "SG"}, set()),  # across the Johor Strait
        (1.10, 104.05, 5.0, {"ID"}, {"MY"}),  # Batam
        (22.55, 114.08, 6.0, {"CN", "HK"}, set()),  # Shenzhen river
        (22.33, 114.17, 2.0, {"HK"}, {"CN"}),  # Kowloon
        (22.195, 113.545, 3.0, {"MO"}, set()),  # Macau peninsula
        (24.44, 118.38, 1.0, {"TW"}, set()),  # Kinmen
        (25.03, 121.56, 5.0, {"TW"}, {"CN"}),  # Taipei
        (0.0, -30.0, 50.0, set(), {"BR", "SN"}),  # open Atlantic: no country
        (50.11, 8.68, 20.0, {"DE"}, {"FR", "CH"}),  # Frankfurt
    ],
    ids=[
        "Singapore centre is only SG",
        "Johor is MY",
        "Johor Strait meets MY and SG",
        "Batam is ID",
        "Shenzhen river meets CN and HK",
        "Kowloon is only HK",
        "Macau meets MO",
        "Kinmen meets TW",
        "Taipei is only TW",
        "open sea meets no country",
        "Frankfurt is only DE",
    ],
)
def test_countries_in_small_regions(
    borders: BorderIndex,
    lat: float,
    lon: float,
    radius_km: float,
    must: set[str],
    must_not: set[str],
) -> None:
    lm, r = _disk(lat, lon, radius_km)
    got = set(countries_in_region(lm, r, borders=borders)[0])
    assert must <= got
    assert not (must_not & got)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.sampled_from(sorted(PLACES)))
def test_raster_never_misses_the_exact_country(
    borders: BorderIndex, dlat: float, dlon: float, place: str
) -> None:
    """Soundness of the raster: a 1 km region around any point lists that point's country."""
    lat, lon = PLACES[place][0] + dlat, PLACES[place][1] + dlon
    exact = country_at(lat, lon)
    lm, r = _disk(lat, lon, 1.0)
    got = countries_in_region(lm, r, borders=borders)[0]
    if exact is not None:
        assert exact in got


def test_index_round_trips_and_default_loader_is_cached(borders: BorderIndex) -> None:
    again = border_index_from_arrays(border_index_to_arrays(borders))
    assert again.codes == borders.codes
    assert len(again.levels) == len(borders.levels)
    assert np.array_equal(again.levels[3].pure, borders.levels[3].pure)
    assert load_border_index.cache_info().maxsize == 1


def test_outlines_for_maps() -> None:
    rings = country_outlines(["SG", "MY"], (103.5, 104.2, 1.1, 1.6))
    assert {c for c, _, _ in rings} == {"SG", "MY"}
    assert all(lat.size == lon.size and lat.size > 3 for _, lat, lon in rings)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(sorted(PLACES)),
    st.floats(-0.3, 0.3),
    st.floats(-0.3, 0.3),
    st.lists(st.tuples(st.floats(-6.0, 6.0), st.floats(-6.0, 6.0)), min_size=1, max_size=5),
    st.one_of(st.just(1.0), st.floats(1.0, 2.5)),
    st.integers(0, 1),
)
def test_located_regions_list_the_true_country(
    borders: BorderIndex,
    place: str,
    dlat: float,
    dlon: float,
    offsets: list[tuple[float, float]],
    slowdown: float,
    liars: int,
) -> None:
    """End to end: the country of the true position is among the proven countries, whatever
    the landmarks around it, the extra delay and the tolerated liars; with no delay and no
    Earth-model margin the truth is on the edge of every disk (a vertex of the region)."""
    lat, lon = PLACES[place][0] + dlat, PLACES[place][1] + dlon
    lm = LandmarkSet.of(
        Landmark(LandmarkId(f"l{i}"), lat + a, lon + b) for i, (a, b) in enumerate(offsets)
    )
    d = great_circle_km(lat, lon, lm.lat_deg, lm.lon_deg)
    chord = 2.0 * EARTH_RADIUS_KM * np.sin(d / (2.0 * EARTH_RADIUS_KM))
    rtt = (2.0 * chord / C_KM_PER_MS * slowdown + 1e-9)[None, :]
    opts = LocateOptions(max_liars=liars, earth_margin=0.0)
    res = locate_targets(lm, rtt, options=opts, borders=borders)
    exact = country_at(lat, lon)
    if exact is not None:
        assert exact in res.proven_countries[0]
