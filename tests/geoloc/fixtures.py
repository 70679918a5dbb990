"""Shared geoloc test fixtures: the country raster, built once and cached in pytest's cache dir.

Imported by tests/geoloc/conftest.py and by the CLI tests (``from tests.geoloc.fixtures import``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chiptrail.geoloc import BorderIndex, Landmark, LandmarkSet, great_circle_km
from chiptrail.service.location.geoloc import load_borders
from chiptrail.service.settings import load_settings
from chiptrail.types import LandmarkId

C_KM_PER_MS = 299_792.458 / 1000.0


@pytest.fixture(scope="session")
def geoloc_data_dir(request: pytest.FixtureRequest) -> Path:
    """A data dir whose cache/ holds the country raster (built on the first run only)."""
    path = Path(request.config.cache.mkdir("chiptrail-geoloc"))
    load_borders(load_settings({"CHIPTRAIL_DATA_DIR": str(path)}))
    return path


@pytest.fixture(scope="session")
def borders(geoloc_data_dir: Path) -> BorderIndex:
    """The offline country raster."""
    return load_borders(load_settings({"CHIPTRAIL_DATA_DIR": str(geoloc_data_dir)}))


PLACES = {
    "singapore": (1.2966, 103.8520),
    "johor": (1.4927, 103.7414),
    "batam": (1.0456, 104.0305),
    "shenzhen": (22.5431, 114.0579),
    "hong_kong": (22.2800, 114.1600),
    "zhuhai": (22.2769, 113.5678),
    "macau": (22.1987, 113.5439),
    "kinmen": (24.4493, 118.3767),
    "xiamen": (24.4798, 118.0894),
    "taipei": (25.0330, 121.5654),
    "fuzhou": (26.0745, 119.2965),
    "kuala_lumpur": (3.1390, 101.6869),
    "tokyo": (35.6762, 139.6503),
    "frankfurt": (50.1109, 8.6821),
    "ashburn": (39.0438, -77.4874),
}


def asia_landmarks() -> LandmarkSet:
    """Landmarks in Singapore, Hong Kong, Taipei, Kuala Lumpur and Tokyo."""
    names = ("singapore", "hong_kong", "taipei", "kuala_lumpur", "tokyo")
    return LandmarkSet.of(Landmark(LandmarkId(n), *PLACES[n]) for n in names)


def rtt_from(
    landmarks: LandmarkSet,
    lat: float,
    lon: float,
    *,
    speed_share: float = 2 / 3,
    extra_ms: float = 0.1,
) -> np.ndarray:
    """RTTs (ms) of a responder at (lat, lon): path at ``speed_share`` of c, plus ``extra_ms``."""
    d = great_circle_km(lat, lon, landmarks.lat_deg, landmarks.lon_deg)
    return np.asarray(2.0 * d / (C_KM_PER_MS * speed_share) + extra_ms, dtype=np.float64)
