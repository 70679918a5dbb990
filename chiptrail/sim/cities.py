"""The simulator's map: cities (WGS84 degrees, ISO2 country) and which of them host landmarks.

Coordinates are city centres from public knowledge, rounded to 0.01 degree. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    """A city at ``lat``/``lon`` degrees; ``landmark`` when a probe server runs there."""

    name: str
    country: str
    lat: float
    lon: float
    landmark: bool = True


CITIES: tuple[City, ...] = (
    City("San Jose", "US", 37.34, -121.89),
    City("Seattle", "US", 47.61, -122.33),
    City("Phoenix", "US", 33.45, -112.07),
    City("Dallas", "US", 32.78, -96.80),
    City("Chicago", "US", 41.88, -87.63),
    City("Ashburn", "US", 39.04, -77.49),
    City("New York", "US", 40.71, -74.01),
    City("Atlanta", "US", 33.75, -84.39),
    City("Toronto", "CA", 43.65, -79.38),
    City("Montreal", "CA", 45.50, -73.57),
    City("Queretaro", "MX", 20.59, -100.39),
    City("Sao Paulo", "BR", -23.55, -46.63),
    City("London", "GB", 51.51, -0.13),
    City("Dublin", "IE", 53.35, -6.26),
    City("Amsterdam", "NL", 52.37, 4.90),
    City("Frankfurt", "DE", 50.11, 8.68),
    City("Paris", "FR", 48.86, 2.35),
    City("Zurich", "CH", 47.38, 8.54),
    City("Milan", "IT", 45.46, 9.19),
    City("Madrid", "ES", 40.42, -3.70),
    City("Stockholm", "SE", 59.33, 18.07),
    City("Helsinki", "FI", 60.17, 24.94),
    City("Warsaw", "PL", 52.23, 21.01),
    City("Tel Aviv", "IL", 32.09, 34.78),
    City("Riyadh", "SA", 24.71, 46.68),
    City("Dubai", "AE", 25.20, 55.27),
    City("Mumbai", "IN", 19.08, 72.88),
    City("Singapore", "SG", 1.35, 103.82),
    City("Kuala Lumpur", "MY", 3.14, 101.69),
    City("Johor Bahru", "MY", 1.49, 103.74),
    City("Bangkok", "TH", 13.76, 100.50),
    City("Ho Chi Minh City", "VN", 10.82, 106.63),
    City("Jakarta", "ID", -6.21, 106.85),
    City("Hong Kong", "HK", 22.32, 114.17),
    City("Taipei", "TW", 25.03, 121.57),
    City("Tokyo", "JP", 35.68, 139.69),
    City("Osaka", "JP", 34.69, 135.50),
    City("Seoul", "KR", 37.57, 126.98),
    City("Sydney", "AU", -33.87, 151.21),
    City("Johannesburg", "ZA", -26.20, 28.05),
    City("Shanghai", "CN", 31.23, 121.47, landmark=False),
    City("Shenzhen", "CN", 22.54, 114.06, landmark=False),
    City("Beijing", "CN", 39.90, 116.41, landmark=False),
    City("Hangzhou", "CN", 30.27, 120.16, landmark=False),
    City("Moscow", "RU", 55.76, 37.62, landmark=False),
)


def city(name: str) -> City:
    """The city called ``name`` (KeyError when unknown: a programming error in a scenario)."""
    for c in CITIES:
        if c.name == name:
            return c
    raise KeyError(name)


def landmark_cities() -> tuple[City, ...]:
    """The cities that host a landmark, in table order."""
    return tuple(c for c in CITIES if c.landmark)
