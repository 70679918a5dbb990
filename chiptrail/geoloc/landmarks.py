"""Landmarks (probe servers at known coordinates) and the sets the solvers work on.

No I/O: parsers in formats.py turn text into these values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from chiptrail.errors import InvalidInput
from chiptrail.types import Country, LandmarkId


def check_coordinates(lat: float, lon: float, what: str = "point") -> None:
    """Raise InvalidInput unless ``lat`` is in [-90, 90] and ``lon`` in [-180, 180] (finite)."""
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidInput(
            f"{what}: latitude {lat!r} is outside [-90, 90] degrees", {"field": "lat", "value": lat}
        )
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InvalidInput(
            f"{what}: longitude {lon!r} is outside [-180, 180] degrees",
            {"field": "lon", "value": lon},
        )


@dataclass(frozen=True, slots=True)
class Landmark:
    """A trusted probe server at a stated position.

    Attributes:
        landmark_id: stable identifier.
        lat, lon: WGS84 degrees.
        country: ISO2 of the landmark's site, when known.
        uncertainty_km: how far the true position may be from (lat, lon); added to every bound.
    """

    landmark_id: LandmarkId
    lat: float
    lon: float
    country: Country | None = None
    uncertainty_km: float = 0.0

    def __post_init__(self) -> None:
        check_coordinates(self.lat, self.lon, f"landmark {self.landmark_id}")
        if not (math.isfinite(self.uncertainty_km) and self.uncertainty_km >= 0.0):
            raise InvalidInput(
                f"landmark {self.landmark_id}: uncertainty_km must be a finite number >= 0",
                {"field": "uncertainty_km", "value": self.uncertainty_km},
            )


def _frozen(a: NDArray[np.float64]) -> NDArray[np.float64]:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True)
class LandmarkSet:
    """An ordered set of landmarks with column arrays for the vectorised solvers.

    Column ``j`` of every RTT matrix refers to ``landmarks[j]``.

    Attributes:
        landmarks: the landmarks, ids unique.
        lat_deg, lon_deg, uncertainty_km: float64 arrays of shape (n,), read-only.
    """

    landmarks: tuple[Landmark, ...]
    lat_deg: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    lon_deg: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    uncertainty_km: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, lm in enumerate(self.landmarks):
            if lm.landmark_id in index:
                raise InvalidInput(
                    f"landmark id {lm.landmark_id!r} appears twice; ids must be unique",
                    {"field": "landmark_id", "value": lm.landmark_id},
                )
            index[lm.landmark_id] = i
        object.__setattr__(self, "_index", index)
        for name, attr in (("lat_deg", "lat"), ("lon_deg", "lon"), ("uncertainty_km", None)):
            values = [getattr(lm, attr or name) for lm in self.landmarks]
            object.__setattr__(self, name, _frozen(np.array(values, dtype=np.float64)))

    @classmethod
    def of(cls, landmarks: Iterable[Landmark]) -> LandmarkSet:
        """Build a set from any iterable of landmarks."""
        return cls(tuple(landmarks))

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def ids(self) -> tuple[LandmarkId, ...]:
        """Landmark ids in column order."""
        return tuple(lm.landmark_id for lm in self.landmarks)

    def index_of(self, landmark_id: str) -> int:
        """Column index of a landmark.

        Raises:
            InvalidInput: when the id is unknown.
        """
        try:
            return self._index[landmark_id]
        except KeyError:
            raise InvalidInput(
                f"unknown landmark id {landmark_id!r}; it is not in the landmark set",
                {"field": "landmark_id", "value": landmark_id},
            ) from None

    def has(self, landmark_id: str) -> bool:
        """True when the id is in the set."""
        return landmark_id in self._index

    def subset(self, indices: Sequence[int] | NDArray[np.intp]) -> LandmarkSet:
        """The landmarks at ``indices``, in that order."""
        return LandmarkSet(tuple(self.landmarks[int(i)] for i in indices))
