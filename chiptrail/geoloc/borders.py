"""Country attribution: which countries a point is in, and which a sampled region meets.

Reads only offline data shipped by registry packages: the timezone polygons of
``timezonefinder`` (timezone-boundary-builder, built from OpenStreetMap, territorial waters
included) and the zone -> country table ``zone.tab`` of ``tzdata``. No network, no files of our
own. See docs/country-boundaries.md for the choice and its limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.sphere import FloatArray
from chiptrail.types import Country

BASE_RES_DEG = 0.05
"""Cell size of the finest raster level (about 5.6 km north-south)."""
KM_PER_DEG = 6371.0088 * math.pi / 180.0
_COORD_SCALE = 1e7  # timezonefinder stores degrees x 1e7 as int32
_PRESENCE_LIMIT = 1 << 24  # unique_keys dedups through a flag table up to this size
_FORMAT = 2  # bump when the raster construction changes (cache key)


@lru_cache(maxsize=1)
def zone_countries() -> dict[str, str]:
    """Timezone name -> ISO2 from tzdata's ``zone.tab`` (one country per zone)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        out[cols[2].strip()] = cols[0].strip()
    return out


@lru_cache(maxsize=1)
def _finder() -> object:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)


def country_at(lat: float, lon: float) -> Country | None:
    """Country whose territory (land or territorial sea) contains the point; None at sea.

    Exact against the unsimplified polygons (no raster).

    Args:
        lat, lon: WGS84 degrees.
    """
    tz = _finder().timezone_at(lat=float(lat), lng=float(lon))  # type: ignore[attr-defined]
    if tz is None:
        return None
    code = zone_countries().get(str(tz))
    return Country(code) if code else None


@dataclass(frozen=True, slots=True)
class _Level:
    res_deg: float
    pure: NDArray[np.int16]  # (rows, cols): country index, or -1 where mixed
    mixed_cells: NDArray[np.int64]  # sorted flat cell ids of mixed cells
    offsets: NDArray[np.int64]  # CSR offsets into members, len = len(mixed_cells) + 1
    members: NDArray[np.int16]  # country indices


@dataclass(frozen=True, slots=True)
class BorderIndex:
    """Conservative multi-resolution raster: for each cell, every country that meets it.

    Index 0 means "sea outside any territorial waters". Level L has cells of
    ``BASE_RES_DEG * 2**L`` degrees. A cell lists a country when the country's polygon contains
    the cell centre or the polygon's boundary passes through the cell, so no country that meets
    a cell is ever missing.
    """

    codes: tuple[str, ...]
    levels: tuple[_Level, ...]


def country_outlines(
    codes: Sequence[str], bbox: tuple[float, float, float, float], max_vertices: int = 1500
) -> list[tuple[str, NDArray[np.float64], NDArray[np.float64]]]:
    """Outer rings (ISO2, lat, lon) of the named countries' zone polygons meeting a bbox.

    Args:
        codes: ISO2 codes to draw.
        bbox: (lon_min, lon_max, lat_min, lat_max) in degrees.
        max_vertices: rings are decimated to at most about this many vertices (for drawing).

    Returns:
        Rings as degree arrays; internal zone lines of multi-zone countries are included.
    """
    finder = _finder()
    table = zone_countries()
    names = list(finder.timezone_names)  # type: ignore[attr-defined]
    wanted = set(codes)
    x0, x1, y0, y1 = bbox
    out = []
    for i, z in enumerate(np.asarray(finder.zone_ids).tolist()):  # type: ignore[attr-defined]
        code = table.get(names[z])
        if code not in wanted:
            continue
        c = np.asarray(finder.coords_of(i), dtype=np.float64) / _COORD_SCALE  # type: ignore[attr-defined]
        if c[0].max() < x0 or c[0].min() > x1 or c[1].max() < y0 or c[1].min() > y1:
            continue
        step = max(1, c.shape[1] // max_vertices)
        out.append((str(code), c[1, ::step], c[0, ::step]))
    return out


def border_index_to_arrays(index: BorderIndex) -> dict[str, NDArray[np.generic]]:
    """Flat arrays of an index (for ``numpy.savez`` at the edges; see border_index_from_arrays)."""
    out: dict[str, NDArray[np.generic]] = {"codes": np.array(index.codes, dtype="U2")}
    for i, lv in enumerate(index.levels):
        out[f"res_{i}"] = np.array([lv.res_deg])
        out[f"pure_{i}"] = lv.pure
        out[f"mixed_{i}"] = lv.mixed_cells
        out[f"offsets_{i}"] = lv.offsets
        out[f"members_{i}"] = lv.members
    return out


def border_index_from_arrays(arrays: dict[str, NDArray[np.generic]]) -> BorderIndex:
    """Inverse of border_index_to_arrays."""
    levels = []
    i = 0
    while f"pure_{i}" in arrays:
        levels.append(
            _Level(
                float(np.asarray(arrays[f"res_{i}"])[0]),
                np.asarray(arrays[f"pure_{i}"], dtype=np.int16),
                np.asarray(arrays[f"mixed_{i}"], dtype=np.int64),
                np.asarray(arrays[f"offsets_{i}"], dtype=np.int64),
                np.asarray(arrays[f"members_{i}"], dtype=np.int16),
            )
        )
        i += 1
    codes = tuple(str(c) for c in np.asarray(arrays["codes"]).tolist())
    return BorderIndex(codes, tuple(levels))


def border_data_version() -> str:
    """Version tag of the boundary data (timezonefinder data + tzdata), for cache keys."""
    from importlib.metadata import version

    data = f"tzf-{version('timezonefinder-data')}_tzdata-{version('tzdata')}"
    return f"v{_FORMAT}_{data}_res-{BASE_RES_DEG}"


def _zone_country_index(finder: object) -> tuple[tuple[str, ...], NDArray[np.int16]]:
    names = list(finder.timezone_names)  # type: ignore[attr-defined]
    table = zone_countries()
    codes = ["", *sorted({table[n] for n in names if n in table})]
    pos = {c: i for i, c in enumerate(codes)}
    zone_to_idx = np.array([pos[table[n]] if n in table else 0 for n in names], dtype=np.int16)
    return tuple(codes), zone_to_idx


def _rings(finder: object) -> tuple[list[NDArray[np.float64]], list[int]]:
    """All polygon rings (exteriors and holes) in degrees, with the polygon each belongs to."""
    rings: list[NDArray[np.float64]] = []
    owner: list[int] = []
    f = finder
    for i in range(int(f.nr_of_polygons)):  # type: ignore[attr-defined]
        rings.append(np.asarray(f.coords_of(i), dtype=np.float64) / _COORD_SCALE)  # type: ignore[attr-defined]
        owner.append(i)
        for hid in f._hole_ids_of(i):  # type: ignore[attr-defined]
            rings.append(np.asarray(f.holes.coords_of(hid), dtype=np.float64) / _COORD_SCALE)  # type: ignore[attr-defined]
            owner.append(i)
    return rings, owner


def _edges(rings: list[NDArray[np.float64]], owner: list[int]) -> tuple[FloatArray, ...]:
    x1 = np.concatenate([r[0] for r in rings])
    y1 = np.concatenate([r[1] for r in rings])
    x2 = np.concatenate([np.roll(r[0], -1) for r in rings])
    y2 = np.concatenate([np.roll(r[1], -1) for r in rings])
    poly = np.concatenate(
        [np.full(r.shape[1], o, dtype=np.int64) for r, o in zip(rings, owner, strict=True)]
    )
    return x1, y1, x2, y2, poly.astype(np.float64)


def _fill_centres(
    edges: tuple[FloatArray, ...], poly_country: NDArray[np.int16], rows: int, cols: int
) -> tuple[NDArray[np.int16], NDArray[np.int64]]:
    """Scanline even-odd fill: the country whose polygon contains each cell centre.

    Returns:
        The (rows, cols) centre raster and (cell * 1024 + country) keys of cells whose centre
        lies in more than one polygon.
    """
    x1, y1, x2, y2, polyf = edges
    poly = polyf.astype(np.int64)
    res = 180.0 / rows
    va = (90.0 - y1) / res - 0.5
    vb = (90.0 - y2) / res - 0.5
    lo, hi = np.minimum(va, vb), np.maximum(va, vb)
    r0 = np.ceil(lo).astype(np.int64)
    cnt = np.maximum(np.ceil(hi).astype(np.int64) - r0, 0)
    e = np.repeat(np.arange(x1.size), cnt)
    r = r0[e] + (np.arange(e.size) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    yc = 90.0 - (r + 0.5) * res
    t = (yc - y1[e]) / (y2[e] - y1[e])
    xc = x1[e] + t * (x2[e] - x1[e])
    pe = poly[e]
    order = np.lexsort((xc, r, pe))
    pe, r, xc = pe[order], r[order], xc[order]
    a, b = slice(0, None, 2), slice(1, None, 2)
    ua = np.ceil((xc[a] + 180.0) / res - 0.5).astype(np.int64).clip(0, cols)
    ub = np.ceil((xc[b] + 180.0) / res - 0.5).astype(np.int64).clip(0, cols)
    ok = (r[a] >= 0) & (r[a] < rows) & (ub > ua)
    rr, ua, ub, cid = r[a][ok], ua[ok], ub[ok], poly_country[pe[a][ok]].astype(np.int64)
    # Spans of different polygons may overlap (disputed waters are in two countries' zones), so
    # three running sums are kept: count, sum and sum of squares of (country + 1); a cell in
    # two overlapping polygons is solved from them, a cell in more is listed in all candidates.
    width = cols + 1
    flat = rr * width
    sums = []
    for w in (np.ones_like(cid), cid + 1, (cid + 1) ** 2):
        diff = np.zeros(rows * width, dtype=np.int64)
        np.add.at(diff, flat + ua, w)
        np.add.at(diff, flat + ub, -w)
        sums.append(np.cumsum(diff.reshape(rows, width), axis=1)[:, :cols].ravel())
    count, s1, s2 = sums
    centre = np.where(count == 1, s1 - 1, 0).astype(np.int16)
    pairs: list[NDArray[np.int64]] = []
    two = np.flatnonzero(count == 2)
    if two.size:
        disc = np.sqrt(np.maximum(2 * s2[two] - s1[two] ** 2, 0)).round().astype(np.int64)
        a = (s1[two] - disc) // 2 - 1
        b = (s1[two] + disc) // 2 - 1
        pairs += [two * 1024 + a, two * 1024 + b]
        centre[two] = a
    many = np.flatnonzero(count > 2)
    if many.size:
        cand = np.unique(cid)
        pairs.append((many[:, None] * 1024 + cand[None, :]).ravel())
    keys = np.unique(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.int64)
    return centre.reshape(rows, cols), keys


def _boundary_pairs(
    edges: tuple[FloatArray, ...], poly_country: NDArray[np.int16], rows: int, cols: int
) -> NDArray[np.int64]:
    """Unique (cell * 1024 + country) keys of every cell a polygon boundary passes through.

    Each edge is sampled every quarter cell from its start (its end is the next edge's start);
    every point of the edge is within h/2 of a sample, so each sample marks every cell that a box
    of +-h/2 around it touches: corner-clipping edges are caught too.
    """
    x1, y1, x2, y2, polyf = edges
    res = 180.0 / rows
    h = res / 4.0
    n = np.maximum(np.ceil(np.hypot(x2 - x1, y2 - y1) / h).astype(np.int64), 1)
    first = np.full(rows * cols, -1, dtype=np.int16)
    extra: list[NDArray[np.int64]] = []
    step = 2_000_000
    starts = np.concatenate([[0], np.cumsum(n)])
    for s in range(0, x1.size, step):
        sl = slice(s, min(s + step, x1.size))
        nn = n[sl]
        e = np.repeat(np.arange(sl.start, sl.stop), nn)
        t = (np.arange(e.size) - np.repeat(starts[sl] - starts[sl.start], nn)) / np.repeat(nn, nn)
        u = (x1[e] + t * (x2[e] - x1[e]) + 180.0) / res
        v = (90.0 - (y1[e] + t * (y2[e] - y1[e]))) / res
        cid = poly_country[polyf[e].astype(np.int64)]
        cu, cv = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        fu, fv = u - cu, v - cv
        q = h / 2.0 / res
        du = np.where(fu < q, -1, np.where(fu > 1.0 - q, 1, 0))
        dv = np.where(fv < q, -1, np.where(fv > 1.0 - q, 1, 0))
        for sel, ou, ov in (
            (slice(None), 0, 0),
            (du != 0, du, 0),
            (dv != 0, 0, dv),
            ((du != 0) & (dv != 0), du, dv),
        ):
            ou_ = ou[sel] if isinstance(ou, np.ndarray) else ou
            ov_ = ov[sel] if isinstance(ov, np.ndarray) else ov
            c = (cu[sel] + ou_) % cols
            r = np.clip(cv[sel] + ov_, 0, rows - 1)
            cell = r * cols + c
            k = cid[sel]
            # Sort-free: one country per cell in a dense array, the rest (few) as pairs.
            first[cell] = k
            other = first[cell] != k
            extra.append(cell[other] * 1024 + k[other].astype(np.int64))
    marked = np.flatnonzero(first >= 0)
    keys = [marked * 1024 + first[marked].astype(np.int64), *extra]
    return np.unique(np.concatenate(keys))


def _level_from_pairs(
    centre: NDArray[np.int16], pairs: NDArray[np.int64], res: float, *, add_centre: bool = True
) -> _Level:
    rows, cols = centre.shape
    cell = pairs // 1024
    all_keys = pairs
    if add_centre:
        all_keys = np.unique(np.concatenate([pairs, cell * 1024 + centre.ravel()[cell]]))
    cell, cid = all_keys // 1024, all_keys % 1024
    uniq, start, count = np.unique(cell, return_index=True, return_counts=True)
    mixed = count > 1
    pure = centre.copy().ravel()
    pure[uniq[~mixed]] = cid[start[~mixed]].astype(np.int16)
    pure[uniq[mixed]] = -1
    sel = np.repeat(mixed, count)
    members = cid[sel].astype(np.int16)
    offsets = np.concatenate([[0], np.cumsum(count[mixed])]).astype(np.int64)
    return _Level(res, pure.reshape(rows, cols), uniq[mixed].astype(np.int64), offsets, members)


def _coarsen(level: _Level) -> _Level:
    rows, cols = level.pure.shape
    r2, c2 = (rows + 1) // 2, (cols + 1) // 2
    pr = np.full((r2 * 2, c2 * 2), -2, dtype=np.int16)
    pr[:rows, :cols] = level.pure
    pr[rows:, :] = pr[rows - 1 : rows, :] if rows % 2 else pr[rows:, :]
    pr[:, cols:] = pr[:, cols - 1 : cols] if cols % 2 else pr[:, cols:]
    blocks = pr.reshape(r2, 2, c2, 2).transpose(0, 2, 1, 3).reshape(r2, c2, 4)
    same = np.all(blocks == blocks[..., :1], axis=2) & (blocks[..., 0] >= 0)
    # Pairs of the non-uniform coarse cells: pure children's values and mixed children's members.
    ns = np.flatnonzero(~same.ravel())
    vals = blocks.reshape(-1, 4)[ns]
    pure_keys = (np.repeat(ns, 4) * 1024 + vals.ravel().astype(np.int64))[vals.ravel() >= 0]
    mr, mc = np.divmod(level.mixed_cells, cols)
    parent = (mr // 2) * c2 + mc // 2
    counts = np.diff(level.offsets)
    mixed_keys = np.repeat(parent, counts) * 1024 + level.members.astype(np.int64)
    keys = np.unique(np.concatenate([pure_keys, mixed_keys]))
    centre = np.where(same, blocks[..., 0], 0).astype(np.int16)
    coarse = _level_from_pairs(centre, keys, level.res_deg * 2, add_centre=False)
    return coarse


@lru_cache(maxsize=1)
def load_border_index(base_res_deg: float = BASE_RES_DEG) -> BorderIndex:
    """Build (once per process) the conservative country raster from the offline polygons.

    Takes a few seconds and about 100 MB; the result is immutable and shared.
    """
    finder = _finder()
    codes, zone_idx = _zone_country_index(finder)
    zone_of_poly = np.asarray(finder.zone_ids, dtype=np.int64)  # type: ignore[attr-defined]
    poly_country = zone_idx[zone_of_poly]
    rings, owner = _rings(finder)
    edges = _edges(rings, owner)
    rows = round(180.0 / base_res_deg)
    cols = 2 * rows
    centre, overlaps = _fill_centres(edges, poly_country, rows, cols)
    pairs = np.union1d(_boundary_pairs(edges, poly_country, rows, cols), overlaps)
    levels = [_level_from_pairs(centre, pairs, base_res_deg)]
    while levels[-1].pure.shape[0] > 1:
        levels.append(_coarsen(levels[-1]))
    return BorderIndex(codes, tuple(levels))


def unique_keys(flat: NDArray[np.int64], own_min: int, own_max: int) -> NDArray[np.int64]:
    """Sorted unique keys whose owners lie in ``[own_min, own_max]``."""
    lo = own_min * 1024
    span = own_max * 1024 + 1024 - lo
    if span > _PRESENCE_LIMIT:
        return np.unique(flat)
    # Deduplicate through a presence table (rows x 1024 flags): linear, no sort or hash.
    seen = np.zeros(span, dtype=np.bool_)
    seen[flat - lo] = True
    return np.flatnonzero(seen) + lo


def keys_to_countries(
    index: BorderIndex, keys: NDArray[np.int64], n: int
) -> tuple[tuple[Country, ...], ...]:
    """Per-row sorted ISO2 tuples from ``row * 1024 + country`` keys (sea dropped)."""
    keys = np.asarray(keys, dtype=np.int64)
    keys = keys[keys % 1024 != 0]
    if keys.size == 0 or n == 0:
        return ((),) * n
    row, cid = np.divmod(keys, 1024)
    # One bit per country per row (keys may repeat: OR, not add), then one tuple per distinct
    # set: rows share few sets, and no Python loop runs per row.
    words = (len(index.codes) + 63) // 64
    mask = np.zeros((n, words), dtype=np.uint64)
    np.bitwise_or.at(
        mask, (row, cid // 64), np.left_shift(np.uint64(1), (cid % 64).astype(np.uint64))
    )
    sets, inverse = np.unique(mask, axis=0, return_inverse=True)
    codes = index.codes
    bits = np.unpackbits(sets.astype("<u8").view(np.uint8), axis=1, bitorder="little")
    owner, member = np.nonzero(bits)
    ends = np.searchsorted(owner, np.arange(1, sets.shape[0] + 1)).tolist()
    names = [Country(codes[c]) for c in member.tolist()]
    made = [tuple(names[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return tuple(made[i] for i in inverse.ravel().tolist())
