"""The solver's fast kernels agree with the plain formulas they replace (docs/geolocation.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from chiptrail.geoloc import Landmark, LandmarkSet, LocateOptions, countries_in_region
from chiptrail.geoloc import borders as borders_mod
from chiptrail.geoloc.borders import BorderIndex, keys_to_countries, unique_keys
from chiptrail.geoloc.column_runs import column_country_keys
from chiptrail.geoloc.scanline import (
    Disks,
    centroid,
    initial_window,
    meridian_intervals,
    reach_km,
    scan,
    solve,
)
from chiptrail.geoloc.sphere import EARTH_RADIUS_KM, great_circle_km, to_unit_vectors
from chiptrail.types import LandmarkId

lats = st.floats(-89.9, 89.9, allow_nan=False)
lons = st.floats(-180.0, 180.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(lats, lons, st.floats(1.0, 9_900.0), lons)
def test_meridian_interval_is_exactly_the_cap(
    lat: float, lon: float, radius: float, meridian: float
) -> None:
    """Along a meridian the closed-form interval holds every point of the cap and no other."""
    ang = radius / EARTH_RADIUS_KM
    centre = to_unit_vectors(np.array([[lat]]), np.array([[lon]]))
    m = np.radians([[meridian]])
    lo, hi = meridian_intervals(
        centre, np.cos(np.array([[ang]])), np.array([[False]]), np.cos(m), np.sin(m)
    )
    phi = np.linspace(-90.0, 90.0, 20_001)
    d = great_circle_km(lat, lon, phi, meridian)
    z = np.sin(np.radians(phi))
    a, b = float(lo[0, 0, 0]), float(hi[0, 0, 0])
    tol_km = 1e-3
    inside = d <= radius - tol_km
    if not (a <= b):  # empty (NaN or inverted): no point of the meridian is in the cap
        assert not inside.any()
        return
    assert np.all((z[inside] >= a - 1e-12) & (z[inside] <= b + 1e-12))
    # ... and the interval's ends are on the cap's edge (or at a pole inside it).
    for end in (a, b):
        p = float(np.degrees(np.arcsin(np.clip(end, -1.0, 1.0))))
        edge = float(great_circle_km(lat, lon, p, meridian))
        assert edge <= radius + tol_km
        assert abs(end) == 1.0 or edge >= radius - tol_km


def test_free_caps_and_poles() -> None:
    centre = to_unit_vectors(np.array([[89.0, -89.0, 0.0]]), np.array([[0.0, 0.0, 0.0]]))
    cos_r = np.cos(np.array([[300.0, 300.0, 10.0]]) / EARTH_RADIUS_KM)
    free = np.array([[False, False, True]])
    m = np.radians([[180.0]])
    lo, hi = meridian_intervals(centre, cos_r, free, np.cos(m), np.sin(m))
    assert hi[0, 0, 0] == 1.0
    assert lo[0, 0, 0] < 1.0
    assert lo[0, 1, 0] == -1.0
    assert hi[0, 1, 0] > -1.0
    assert (lo[0, 2, 0], hi[0, 2, 0]) == (-1.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(lats, lons, st.floats(50.0, 9_000.0)), min_size=1, max_size=4))
def test_initial_window_holds_the_tightest_disk(disks: list[tuple[float, float, float]]) -> None:
    """Every point of the smallest disk lies in the first window (longitudes modulo 360)."""
    lat = np.radians([d[0] for d in disks])
    lon = np.radians([d[1] for d in disks])
    radius = np.array([[d[2] for d in disks]])
    w = initial_window(lat, lon, radius, 1)
    j = int(np.argmin(radius[0]))
    rng = np.random.default_rng(0)
    plat = rng.uniform(-90, 90, 4000)
    plon = rng.uniform(-180, 180, 4000)
    inside = great_circle_km(np.degrees(lat[j]), np.degrees(lon[j]), plat, plon) <= radius[0, j]
    rel = (np.radians(plon[inside]) - w.lon0[0]) % (2 * np.pi)
    assert np.all(rel <= w.width[0] + 1e-9)
    pr = np.radians(plat[inside])
    assert np.all((pr >= w.lat_lo[0] - 1e-12) & (pr <= w.lat_hi[0] + 1e-12))


def test_centroid_and_reach_of_a_known_region() -> None:
    """One disk of 500 km: centroid at its centre, reach within radius + 2 tolerances."""
    lat0, lon0, r = 40.0, 10.0, 500.0
    disks = Disks(
        to_unit_vectors(np.array([lat0]), np.array([lon0])),
        np.array([[r]]),
        np.zeros(1, dtype=np.int64),
    )
    w = initial_window(np.radians([lat0]), np.radians([lon0]), np.array([[r]]), 1)
    sc = scan(w, disks, 64)
    lat, lon = centroid(sc)
    assert float(great_circle_km(lat0, lon0, lat[0], lon[0])) < 5.0
    reach = reach_km(sc, lat, lon)
    assert r <= reach[0] <= r + 2 * sc.delta_km[0] + 1.0  # ends of widened disks, + delta


def _cell_keys(
    borders: BorderIndex, level: int, owner: NDArray[np.int64], cells: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Plain reference: every country listed for each cell, looked up one cell at a time."""
    lv = borders.levels[level]
    pure = lv.pure.ravel()
    out: set[int] = set()
    for o, c in zip(owner.tolist(), cells.tolist(), strict=True):
        if pure[c] >= 0:
            out.add(o * 1024 + int(pure[c]))
        else:
            i = int(np.searchsorted(lv.mixed_cells, c))
            members = lv.members[lv.offsets[i] : lv.offsets[i + 1]].tolist()
            out.update(o * 1024 + m for m in members)
    return np.array(sorted(out), dtype=np.int64)


def test_presence_table_dedup_equals_sorting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys deduplicated through the presence table are exactly np.unique's."""
    rng = np.random.default_rng(7)
    owner = rng.integers(5, 60, 6000).astype(np.int64)
    flat = owner * 1024 + rng.integers(0, 300, owner.size)
    flat = np.concatenate([flat, flat[:500]])  # repeated keys
    fast = unique_keys(flat, 5, 59)
    monkeypatch.setattr(borders_mod, "_PRESENCE_LIMIT", 0)
    slow = unique_keys(flat, 5, 59)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast, np.unique(flat))
    assert fast.size > 0
    assert np.all(np.diff(fast) > 0)
    assert unique_keys(flat[:0], 0, 0).size == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 300)), max_size=200))
def test_keys_to_countries_matches_a_plain_loop(
    borders: BorderIndex, pairs: list[tuple[int, int]]
) -> None:
    """Row sets from repeated, unsorted keys equal a per-row set; sea (0) is dropped."""
    codes = borders.codes
    keys = np.array([r * 1024 + c % len(codes) for r, c in pairs], dtype=np.int64)
    got = keys_to_countries(borders, keys, 31)
    want: list[set[int]] = [set() for _ in range(31)]
    for r, c in pairs:
        if c % len(codes):
            want[r].add(c % len(codes))
    assert got == tuple(tuple(codes[c] for c in sorted(w)) for w in want)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(lats, lons), min_size=1, max_size=6),
    lats,
    lons,
    st.booleans(),
    st.integers(4, 32),
    st.integers(0, 2),
)
def test_a_point_on_every_disk_edge_stays_on_its_scanline(
    points: list[tuple[float, float]],
    lat: float,
    lon: float,
    with_liar: bool,
    k: int,
    passes: int,
) -> None:
    """The scan invariant, at the hardest place: the truth sits on the edge of every disk (a
    vertex of the region), optionally outside one lying disk tolerated as a liar; the scanline
    nearest it (within half a spacing of longitude) holds its latitude."""
    plat = np.array([p[0] for p in points])
    plon = np.array([p[1] for p in points])
    radius = great_circle_km(lat, lon, plat, plon) + 1e-6
    if with_liar:  # a landmark 2,000 km away that claims 10 km
        liar_lat = lat - 18.0 if lat > 0 else lat + 18.0
        plat, plon = np.append(plat, liar_lat), np.append(plon, lon)
        radius = np.append(radius, 10.0)
    allowed = np.array([int(with_liar)], dtype=np.int64)
    disks = Disks(to_unit_vectors(plat, plon), radius[None, :], allowed)
    w = initial_window(np.radians(plat), np.radians(plon), radius[None, :], int(with_liar) + 1)
    sc = solve(w, disks, k, passes)
    h = sc.window.width[0] / k
    rel = (np.radians(lon) - sc.lon[0] + np.pi) % (2 * np.pi) - np.pi
    z = np.sin(np.radians(lat))
    near = np.abs(rel) <= 0.5 * h + 1e-12
    holds = sc.inside[0] & (sc.lo[0] <= z + 1e-12) & (sc.hi[0] >= z - 1e-12)
    assert np.any(near & holds)


def _cell_id_index(res: float = 1.0) -> BorderIndex:
    """One raster level whose cells are their own 'countries', unique over any 31 x 32 block."""
    rows, cols = int(180 / res), int(360 / res)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    pure = ((r % 31) * 32 + (c % 32) + 1).astype(np.int16)
    level = borders_mod._Level(
        res, pure, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int16)
    )
    return BorderIndex(tuple(f"{i:04d}" for i in range(1024)), (level,))


CELL_INDEX = _cell_id_index()


@settings(max_examples=150, deadline=None)
@given(
    lats,
    lons,
    st.lists(st.tuples(st.floats(-6.0, 6.0), st.floats(-6.0, 6.0)), min_size=1, max_size=5),
    st.integers(4, 32),
)
def test_the_truths_raster_cell_is_always_counted(
    lat: float, lon: float, offsets: list[tuple[float, float]], k: int
) -> None:
    """Country attribution counts the raster cell holding the truth, even on every disk edge."""
    plat = np.clip([lat + a for a, _ in offsets], -89.9, 89.9)
    plon = (np.array([lon + b for _, b in offsets]) + 180.0) % 360.0 - 180.0
    lm = LandmarkSet.of(
        Landmark(LandmarkId(f"l{i}"), float(a), float(o))
        for i, (a, o) in enumerate(zip(plat, plon, strict=True))
    )
    radius = (great_circle_km(lat, lon, lm.lat_deg, lm.lon_deg) + 1e-6)[None, :]
    got = countries_in_region(
        lm, radius, options=LocateOptions(grid_size=k, refine_passes=1), borders=CELL_INDEX
    )[0]
    row = min(int(np.floor((90.0 - lat) / 1.0)), 179)
    col = int(np.floor((lon + 180.0) / 1.0)) % 360
    assert f"{(row % 31) * 32 + (col % 32) + 1:04d}" in got


@pytest.mark.parametrize("level", [0, 2, 5])
def test_column_runs_equal_the_cells_they_cover(borders: BorderIndex, level: int) -> None:
    """A run query gives exactly the keys of visiting every cell of the column range."""
    n_rows, n_cols = borders.levels[level].pure.shape
    rng = np.random.default_rng(level)
    q = 2000
    col = rng.integers(0, n_cols, q)
    top = rng.integers(0, n_rows, q)
    bottom = np.minimum(top + rng.integers(0, 40, q), n_rows - 1)
    owner = rng.integers(0, 300, q).astype(np.int64)
    got = column_country_keys(borders, level, owner, col, top, bottom)
    cnt = bottom - top + 1
    rows = np.repeat(top, cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cells = rows * n_cols + np.repeat(col, cnt)
    want = _cell_keys(borders, level, np.repeat(owner, cnt), cells)
    np.testing.assert_array_equal(got, want)
    assert np.unique(got % 1024).size > 3
