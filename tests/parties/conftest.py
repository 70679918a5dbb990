"""Fixtures of the parties tests: the hand-written list vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "parties"


@pytest.fixture
def vectors() -> Path:
    """tests/vectors/parties (see its README for where each file comes from)."""
    return VECTORS
