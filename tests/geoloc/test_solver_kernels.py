"""The solver's fast kernels agree with the plain formulas they replace (docs/geolocation.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.geoloc import borders as borders_mod
from chiptrail.geoloc.borders import BorderIndex, cell_country_keys
from chiptrail.geoloc.region import _frame_of, _plane_to_local
from chiptrail.geoloc.sphere import destination_points, to_unit_vectors


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-89.9, 89.9),
    st.floats(-180.0, 180.0),
    st.floats(-19_000.0, 19_000.0),
    st.floats(1.0, 19_000.0),
    st.floats(-19_000.0, 19_000.0),
    st.floats(1.0, 19_000.0),
)
def test_local_frame_points_are_the_projection_points(
    lat0: float, lon0: float, x0: float, sx: float, y0: float, sy: float
) -> None:
    """local @ frame gives the unit vectors of sphere.destination_points for every grid point."""
    k = 5
    u = (np.arange(k) + 0.5) / k
    gx = (x0 + sx * u)[None, :]
    gy = (y0 + sy * u)[None, :]
    x = np.repeat(gx, k, axis=1)
    y = np.tile(gy, (1, k))
    local = _plane_to_local(gx, gy, x, y)
    xyz = np.matmul(local.transpose(0, 2, 1), _frame_of(np.array([lat0]), np.array([lon0])))
    lat, lon = destination_points(lat0, lon0, x, y)
    np.testing.assert_allclose(xyz, to_unit_vectors(lat, lon), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=-1), 1.0, atol=1e-12)


def test_centre_point_maps_to_the_centre() -> None:
    """rho = 0 (a grid point on the landmark) takes the limit sin(d) / rho = 1 / R."""
    g = np.array([[-1.0, 0.0, 1.0]])
    x, y = np.repeat(g, 3, axis=1), np.tile(g, (1, 3))
    local = _plane_to_local(g, g, x, y)
    assert np.all(np.isfinite(local))
    assert local[0, 0, 4] == 1.0
    assert local[0, 1, 4] == 0.0
    assert local[0, 2, 4] == 0.0


@pytest.mark.parametrize("level", [0, 3])
def test_presence_table_dedup_equals_sorting(
    borders: BorderIndex, level: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Country keys from the presence table are exactly np.unique's, mixed cells included."""
    lv = borders.levels[level]
    rng = np.random.default_rng(7)
    mixed = lv.mixed_cells[rng.integers(0, lv.mixed_cells.size, 300)]
    cells = np.concatenate([rng.integers(0, lv.pure.size, 3000), mixed, mixed])
    owner = rng.integers(5, 60, cells.size).astype(np.int64)
    fast = cell_country_keys(borders, level, owner, cells)
    monkeypatch.setattr(borders_mod, "_PRESENCE_LIMIT", 0)
    slow = cell_country_keys(borders, level, owner, cells)
    np.testing.assert_array_equal(fast, slow)
    assert fast.size > 0
    assert np.all(np.diff(fast) > 0)
    assert cell_country_keys(borders, level, owner[:0], cells[:0]).size == 0
