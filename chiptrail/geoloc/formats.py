"""Parsers of the interchange formats of DESIGN.md: landmarks.csv, rtt.csv, sites and pairs.

No I/O: parsers take text. Row problems are collected as RowError values (line numbers are
1-based file lines, the header being line 1) so that edges choose to fail (--strict) or skip.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.countries import parse_country
from chiptrail.errors import ChiptrailError, InvalidInput
from chiptrail.geoloc.landmarks import Landmark, LandmarkSet
from chiptrail.geoloc.planning import Place, PlacePair
from chiptrail.geoloc.verdict import DeclaredSite
from chiptrail.types import Country, LandmarkId


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected input row.

    Attributes:
        source: which input ("landmarks", "rtt", "calibrate", "sites", "pairs").
        line: 1-based line in the file (0 when the problem is not one line, e.g. a target).
        message: what is wrong and what to do.
        target_id: the target concerned, if any.
    """

    source: str
    line: int
    message: str
    target_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class RttTable:
    """Minimum RTTs per (target, landmark).

    Attributes:
        target_ids: row names in first-seen order.
        rtt_ms: float64 (n_targets, n_landmarks), NaN = not measured.
    """

    target_ids: tuple[str, ...]
    rtt_ms: NDArray[np.float64]


Rows = Iterable[tuple[int, Mapping[str, object]]]
"""(line number, column -> value) pairs: CSV rows or JSON objects (line = position)."""


def _check_columns(
    rows: Rows, source: str, required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    for line, row in rows:
        missing = [c for c in required if c not in row]
        if missing:
            raise InvalidInput(
                f"{source}: missing column(s) {', '.join(missing)}; expected {','.join(required)}",
                {"source": source, "missing": missing, "line": line},
            )
        yield line, {k: "" if v is None else str(v).strip() for k, v in row.items()}


def _rows(
    text: str, source: str, required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"expected header {','.join(required)}",
            {"source": source, "missing": missing},
        )
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _float(row: dict[str, str], key: str) -> float:
    try:
        v = float(row[key])
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} {row.get(key)!r} is not a number", {"field": key}) from None
    if math.isnan(v):
        raise InvalidInput(f"{key} is NaN", {"field": key})
    return v


def parse_landmarks_csv(text: str) -> tuple[LandmarkSet, tuple[RowError, ...]]:
    """Parse landmarks.csv text; see parse_landmark_rows."""
    return parse_landmark_rows(_rows(text, "landmarks", ("landmark_id", "lat", "lon")))


def parse_landmark_rows(rows: Rows) -> tuple[LandmarkSet, tuple[RowError, ...]]:
    """Parse ``landmark_id,lat,lon[,country][,uncertainty_km]`` rows (extra columns ignored).

    Returns:
        The valid landmarks and the rejected rows (bad numbers, out-of-range coordinates, bad
        country codes, duplicate ids).
    """
    out: list[Landmark] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for line, row in _check_columns(rows, "landmarks", ("landmark_id", "lat", "lon")):
        try:
            lid = row["landmark_id"]
            if not lid:
                raise InvalidInput("empty landmark_id", {})
            if lid in seen:
                raise InvalidInput(f"duplicate landmark_id {lid!r}", {})
            country = parse_country(row["country"]) if row.get("country") else None
            unc = _float(row, "uncertainty_km") if row.get("uncertainty_km") else 0.0
            out.append(
                Landmark(LandmarkId(lid), _float(row, "lat"), _float(row, "lon"), country, unc)
            )
            seen.add(lid)
        except ChiptrailError as exc:
            errors.append(RowError("landmarks", line, exc.message))
    return LandmarkSet(tuple(out)), tuple(errors)


def parse_rtt_csv(
    text: str, landmarks: LandmarkSet, *, source: str = "rtt"
) -> tuple[RttTable, tuple[RowError, ...]]:
    """Parse rtt.csv text; see parse_rtt_rows."""
    cols = ("target_id", "landmark_id", "rtt_ms")
    return parse_rtt_rows(_rows(text, source, cols), landmarks, source=source)


def parse_rtt_rows(
    rows: Rows, landmarks: LandmarkSet, *, source: str = "rtt"
) -> tuple[RttTable, tuple[RowError, ...]]:
    """Parse ``target_id,landmark_id,rtt_ms`` rows; repeated measurements keep the minimum.

    Rejected rows: unknown landmark ids, RTTs that are not finite numbers >= 0. Targets left
    without any valid measurement are reported (line 0) and dropped.
    """
    errors: list[RowError] = []
    best: dict[str, dict[int, float]] = {}
    mentioned: dict[str, int] = {}
    for line, row in _check_columns(rows, source, ("target_id", "landmark_id", "rtt_ms")):
        tid = row["target_id"]
        try:
            if not tid:
                raise InvalidInput("empty target_id", {})
            mentioned.setdefault(tid, line)
            j = landmarks.index_of(row["landmark_id"])
            rtt = _float(row, "rtt_ms")
            if not math.isfinite(rtt) or rtt < 0:
                raise InvalidInput(f"rtt_ms {rtt!r} must be a finite number >= 0", {})
        except ChiptrailError as exc:
            errors.append(RowError(source, line, exc.message, tid or None))
            continue
        cols = best.setdefault(tid, {})
        cols[j] = min(rtt, cols.get(j, math.inf))
    for tid, line in mentioned.items():
        if tid not in best:
            errors.append(RowError(source, line, f"target {tid!r} has no valid measurement", tid))
    ids = tuple(best)
    mat = np.full((len(ids), len(landmarks)), np.nan)
    for i, tid in enumerate(ids):
        for j, v in best[tid].items():
            mat[i, j] = v
    return RttTable(ids, mat), tuple(errors)


def landmark_rtt_matrix(
    table: RttTable, landmarks: LandmarkSet
) -> tuple[NDArray[np.float64], tuple[RowError, ...]]:
    """Landmark-to-landmark (n, n) matrix from an RttTable whose target ids are landmark ids."""
    mat = np.full((len(landmarks), len(landmarks)), np.nan)
    errors: list[RowError] = []
    for i, tid in enumerate(table.target_ids):
        if not landmarks.has(tid):
            errors.append(RowError("calibrate", 0, f"{tid!r} is not a landmark id", tid))
            continue
        mat[landmarks.index_of(tid)] = np.fmin(mat[landmarks.index_of(tid)], table.rtt_ms[i])
    return mat, tuple(errors)


def parse_sites_csv(text: str) -> tuple[dict[str, DeclaredSite], tuple[RowError, ...]]:
    """Parse declared sites ``target_id,lat,lon,country[,radius_km]``."""
    sites: dict[str, DeclaredSite] = {}
    errors: list[RowError] = []
    for line, row in _rows(text, "sites", ("target_id", "lat", "lon", "country")):
        try:
            radius = _float(row, "radius_km") if row.get("radius_km") else None
            country: Country = parse_country(row["country"])
            sites[row["target_id"]] = DeclaredSite(
                _float(row, "lat"), _float(row, "lon"), country, radius
            )
        except ChiptrailError as exc:
            errors.append(RowError("sites", line, exc.message, row.get("target_id")))
    return sites, tuple(errors)


PAIR_COLUMNS = ("a_name", "a_lat", "a_lon", "b_name", "b_lat", "b_lon")


def parse_pairs_csv(text: str) -> tuple[tuple[PlacePair, ...], tuple[RowError, ...]]:
    """Parse pairs CSV text; see parse_pair_rows."""
    return parse_pair_rows(_rows(text, "pairs", PAIR_COLUMNS))


def parse_pair_rows(rows: Rows) -> tuple[tuple[PlacePair, ...], tuple[RowError, ...]]:
    """Parse pairs ``a_name,a_lat,a_lon,b_name,b_lat,b_lon`` (a = declared, b = diversion)."""
    pairs: list[PlacePair] = []
    errors: list[RowError] = []
    for line, row in _check_columns(rows, "pairs", PAIR_COLUMNS):
        try:
            a = Place(row["a_name"], _float(row, "a_lat"), _float(row, "a_lon"))
            b = Place(row["b_name"], _float(row, "b_lat"), _float(row, "b_lon"))
            pairs.append(PlacePair(a, b))
        except ChiptrailError as exc:
            errors.append(RowError("pairs", line, exc.message))
    return tuple(pairs), tuple(errors)
