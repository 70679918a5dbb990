"""Countries meeting a run of raster cells down one column, without visiting every cell.

No I/O. Region attribution asks, per region and raster column, for every country meeting the
cells of rows ``top..bottom``. Down a column the raster is mostly long runs of one country (or
sea), so each level is also kept as runs: a run starts wherever the value changes down a column,
at each column's top, and at every mixed cell (each mixed cell is its own run, looked up in the
mixed-cell table). A query is two binary searches and the few runs between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.borders import BorderIndex, _Level, mixed_cell_keys, unique_keys


@dataclass(frozen=True, slots=True)
class _Runs:
    start: NDArray[np.int64]  # column-major flat positions (col * n_rows + row) of run starts
    value: NDArray[np.int16]  # the run's country index, -1 for a (one-cell) mixed run


_CACHE: dict[int, tuple[NDArray[np.int16], _Runs]] = {}


def _runs(lv: _Level) -> _Runs:
    hit = _CACHE.get(id(lv.pure))
    if hit is not None and hit[0] is lv.pure:
        return hit[1]
    n_rows = lv.pure.shape[0]
    v = np.ascontiguousarray(lv.pure.T).ravel()
    new = np.ones(v.size, dtype=np.bool_)
    new[1:] = (v[1:] != v[:-1]) | (v[1:] < 0)
    new[::n_rows] = True
    start = np.flatnonzero(new).astype(np.int64)
    runs = _Runs(start, v[start])
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[id(lv.pure)] = (lv.pure, runs)
    return runs


def column_country_keys(
    index: BorderIndex,
    level: int,
    owner: NDArray[np.int64],
    col: NDArray[np.int64],
    top: NDArray[np.int64],
    bottom: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Unique ``owner * 1024 + country`` keys of every country meeting rows ``top..bottom``
    (inclusive, ``top <= bottom``) of column ``col`` at ``level``, one query per element."""
    if owner.size == 0:
        return np.zeros(0, dtype=np.int64)
    lv = index.levels[level]
    n_rows, n_cols = lv.pure.shape
    runs = _runs(lv)
    lo = col * n_rows + top
    a = np.searchsorted(runs.start, lo, side="right") - 1
    b = np.searchsorted(runs.start, col * n_rows + bottom, side="right") - 1
    cnt = b - a + 1
    idx = np.repeat(a - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
    own = np.repeat(owner, cnt)
    val = runs.value[idx].astype(np.int64)
    mixed = val < 0
    keys = [own[~mixed] * 1024 + val[~mixed]]
    if mixed.any():
        pos = runs.start[idx[mixed]]
        cell = (pos % n_rows) * n_cols + pos // n_rows
        keys.append(mixed_cell_keys(lv, own[mixed], cell))
    return unique_keys(np.concatenate(keys), int(owner.min()), int(owner.max()))
