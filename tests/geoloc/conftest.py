"""Fixtures of the geoloc tests (see fixtures.py)."""

from tests.geoloc.fixtures import borders, geoloc_data_dir

__all__ = ["borders", "geoloc_data_dir"]
