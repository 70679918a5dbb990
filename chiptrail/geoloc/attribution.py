"""Country attribution of sampled regions: every country a region may meet, from the raster.

No I/O. Works from a region's last scan (scanline.py): every region point lies at the latitude
of the interval of its nearest scanline, at most half a scanline spacing ``h`` of longitude away.
So the region points inside a raster column ``[west, east]`` all have latitudes within the hull
of the intervals of the scanlines in ``[west - h/2, east + h/2]``; every raster cell of the
column that this hull meets is counted, and each counted cell lists every country that meets it
(borders.py; looked up by runs down the column, column_runs.py). The country list never misses
a country the region touches (docs/country-boundaries.md), and no further disk tests are needed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.borders import BorderIndex, keys_to_countries
from chiptrail.geoloc.column_runs import column_country_keys
from chiptrail.geoloc.scanline import Scan
from chiptrail.types import Country

COUNTRY_CELLS = 24
"""Country attribution uses the finest raster level with at most about this many cells per axis
of the region's extent."""


def region_countries(
    index: BorderIndex, sc: Scan, ok: NDArray[np.bool_]
) -> tuple[tuple[Country, ...], ...]:
    """Sorted ISO2 codes of every country each ``ok`` row's region may meet (others: empty).

    Args:
        index: the country raster.
        sc: the region's last scan (its window holds the region).
        ok: rows whose region is not empty.
    """
    n = ok.shape[0]
    rows = np.flatnonzero(ok & sc.any_inside)
    if rows.size == 0:
        empty: tuple[tuple[Country, ...], ...] = ((),) * n
        return empty
    inside = sc.inside[rows]
    k = inside.shape[1]
    lo = np.where(inside, sc.lo[rows], np.inf)
    hi = np.where(inside, sc.hi[rows], -np.inf)
    lat_lo = np.degrees(np.arcsin(np.clip(np.min(lo, axis=1), -1.0, 1.0)))
    lat_hi = np.degrees(np.arcsin(np.clip(np.max(hi, axis=1), -1.0, 1.0)))
    h = np.degrees(sc.window.width[rows]) / k
    # Linear first..last, not scanline.zoom's circular cut: the column -> scanline index map
    # below needs west..east inside the scanned window.
    first = np.argmax(inside, axis=1)
    last = k - 1 - np.argmax(inside[:, ::-1], axis=1)
    west = np.degrees(sc.window.lon0[rows]) + first * h
    east = west + (last - first + 1) * h
    span = np.maximum(lat_hi - lat_lo, east - west)
    base = index.levels[0].res_deg
    top = len(index.levels) - 1
    level = np.clip(np.ceil(np.log2(np.maximum(span / (COUNTRY_CELLS * base), 1e-12))), 0, top)
    keys: list[NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    for lv in np.unique(level).astype(int).tolist():
        sel = np.flatnonzero(level == lv)
        keys.append(
            _level_keys(
                index,
                lv,
                rows[sel],
                np.degrees(sc.window.lon0[rows[sel]]),
                h[sel],
                lo[sel],
                hi[sel],
                west[sel],
                east[sel],
            )
        )
    return keys_to_countries(index, np.concatenate(keys), n)


def _level_keys(
    index: BorderIndex,
    lv: int,
    rows: NDArray[np.intp],
    lon0: NDArray[np.float64],
    h: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    west: NDArray[np.float64],
    east: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Country keys (row * 1024 + country) of the level-``lv`` cells the regions may meet.

    ``lon0``, ``h``: first scanline edge and spacing (degrees); ``lo``/``hi``: the scanlines'
    intervals as sin(latitude), +inf/-inf where empty; ``west``/``east``: the inside extent.
    """
    level = index.levels[lv]
    nrows, ncols = level.pure.shape
    res = level.res_deg
    k = lo.shape[1]
    c0 = np.floor((west + 180.0) / res).astype(np.int64)
    c1 = np.floor((east + 180.0) / res).astype(np.int64)
    c1 = np.minimum(c1, c0 + ncols - 1)
    m = int(np.max(c1 - c0, initial=0)) + 1
    cc = c0[:, None] + np.arange(m)[None, :]
    col_w = -180.0 + cc * res
    # Scanline i sits at lon0 + (i + 0.5) h; column [w, w + res] takes those within h / 2.
    rel = (col_w - lon0[:, None]) / h[:, None]
    i0 = np.clip(np.ceil(rel - 1.0 - 1e-9), 0, k - 1).astype(np.int64)
    i1 = np.clip(np.floor(rel + res / h[:, None] + 1e-9), 0, k - 1).astype(np.int64)
    z_lo = np.full(cc.shape, np.inf)
    z_hi = np.full(cc.shape, -np.inf)
    at = np.arange(rows.size)[:, None]
    for t in range(int(np.max(i1 - i0, initial=0)) + 1):
        idx = np.minimum(i0 + t, k - 1)
        use = (i0 + t) <= i1
        np.minimum(z_lo, np.where(use, lo[at, idx], np.inf), out=z_lo)
        np.maximum(z_hi, np.where(use, hi[at, idx], -np.inf), out=z_hi)
    inside = (z_lo <= z_hi) & (cc <= c1[:, None])
    lat_hi = np.degrees(np.arcsin(np.clip(np.where(inside, z_hi, 0.0), -1.0, 1.0)))
    lat_lo = np.degrees(np.arcsin(np.clip(np.where(inside, z_lo, 0.0), -1.0, 1.0)))
    top = np.clip(np.floor((90.0 - lat_hi) / res), 0, nrows - 1).astype(np.int64)
    bottom = np.clip(np.floor((90.0 - lat_lo) / res), 0, nrows - 1).astype(np.int64)
    q = np.flatnonzero(inside.ravel())
    owner = np.repeat(rows.astype(np.int64), m)[q]
    return column_country_keys(
        index, lv, owner, (cc % ncols).ravel()[q], top.ravel()[q], bottom.ravel()[q]
    )
