"""Screen names against an index: the use case behind ``chiptrail screen`` and ``POST /v1/screen``.

Imports nothing of the database or HTTP layers, so the one-name CLI path (``chiptrail.cli.fast``)
can use it without paying for them. Lists are loaded and the index stored by ``lists.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime

from chiptrail.errors import InvalidInput
from chiptrail.parties.screening import (
    DEFAULT_THRESHOLD,
    Match,
    Query,
    ScreeningIndex,
    screen_query,
)


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """One screened query and its matches (best first)."""

    query: Query
    matches: tuple[Match, ...]

    @property
    def is_hit(self) -> bool:
        """True when any match reached the threshold."""
        return bool(self.matches)


def screen_names(
    index: ScreeningIndex,
    queries: Iterable[Query],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
) -> list[ScreenResult]:
    """Screen queries against an index (stored lists or a file).

    Raises:
        InvalidInput: threshold outside [0, 1], limit below 1, an empty name.
    """
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput(f"threshold {threshold} is outside [0, 1]", {"field": "threshold"})
    if limit < 1:
        raise InvalidInput("limit must be at least 1", {"field": "limit"})
    out = []
    for q in queries:
        if not q.name.strip():
            raise InvalidInput(f"query {q.query_id}: empty name", {"query_id": q.query_id})
        matches = screen_query(index, q, threshold=threshold, limit=limit)
        out.append(ScreenResult(q, tuple(matches)))
    return out


_PROPERTIES = ("explanation", "is_restricted", "is_hit")


def to_wire(value: object) -> object:
    """JSON-ready form of a parties result: dataclasses with their explaining properties,
    datetimes in ISO 8601, tuples as lists. Used alike by the CLI and the HTTP routes."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {f.name: to_wire(getattr(value, f.name)) for f in fields(value)}
        for name in _PROPERTIES:
            if hasattr(value, name):
                out[name] = getattr(value, name)
        return out
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_wire(v) for v in value]
    return value
