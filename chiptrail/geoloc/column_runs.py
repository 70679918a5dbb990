"""Countries meeting a run of raster cells down one column, without visiting every cell.

No I/O. Region attribution asks, per region and raster column, for every country meeting the
cells of rows ``top..bottom``. Down a column the raster is mostly long runs of one country (or
sea), so each level is also kept as runs: a run starts wherever the value changes down a column
and at each column's top. A mixed cell's value is its set of countries (cells listing the same
set share one id, so a coast of {sea, ID} cells is one run). A query is two binary searches and
the few runs between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from chiptrail.geoloc.borders import BorderIndex, _Level, unique_keys


@dataclass(frozen=True, slots=True)
class _Runs:
    start: NDArray[np.int64]  # column-major flat positions (col * n_rows + row) of run starts
    value: NDArray[np.int32]  # the run's country index, or -(s + 1) for country set s
    set_offsets: NDArray[np.int64]  # CSR offsets of the country sets of mixed cells
    set_members: NDArray[np.int16]


_CACHE: dict[int, tuple[NDArray[np.int16], _Runs]] = {}


def _mixed_sets(lv: _Level) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int16]]:
    """(set id per mixed cell, CSR offsets, members) of the distinct country lists."""
    cnt = np.diff(lv.offsets)
    n = cnt.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int16)
    pad = np.full((n, int(cnt.max())), -1, dtype=np.int16)
    pos = np.arange(int(cnt.sum())) - np.repeat(lv.offsets[:-1], cnt)
    pad[np.repeat(np.arange(n), cnt), pos] = lv.members
    sets, inverse = np.unique(pad, axis=0, return_inverse=True)
    keep = sets >= 0
    offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
    return inverse.ravel().astype(np.int64), offsets, sets[keep]


def _runs(lv: _Level) -> _Runs:
    hit = _CACHE.get(id(lv.pure))
    if hit is not None and hit[0] is lv.pure:
        return hit[1]
    n_rows, n_cols = lv.pure.shape
    set_of, set_offsets, set_members = _mixed_sets(lv)
    v = np.ascontiguousarray(lv.pure.T).ravel()  # column-major, int16 (mixed = -1)
    new = np.ones(v.size, dtype=np.bool_)
    np.not_equal(v[1:], v[:-1], out=new[1:])
    new[::n_rows] = True
    # Mixed cells in column order; a new run starts where the country set changes.
    pos = (lv.mixed_cells % n_cols) * n_rows + lv.mixed_cells // n_cols
    order = np.argsort(pos)
    pos, sid = pos[order], set_of[order]
    follows = np.flatnonzero((pos[1:] - pos[:-1] == 1) & (sid[1:] != sid[:-1])) + 1
    new[pos[follows]] = True
    start = np.flatnonzero(new).astype(np.int64)
    value = v[start].astype(np.int32)
    mixed = value < 0
    value[mixed] = -(sid[np.searchsorted(pos, start[mixed])] + 1)
    runs = _Runs(start, value, set_offsets, set_members)
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
    n_rows = lv.pure.shape[0]
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
        sid = -val[mixed] - 1
        first = runs.set_offsets[sid]
        n_in = runs.set_offsets[sid + 1] - first
        at = np.repeat(first - np.cumsum(n_in) + n_in, n_in) + np.arange(int(n_in.sum()))
        keys.append(np.repeat(own[mixed], n_in) * 1024 + runs.set_members[at].astype(np.int64))
    return unique_keys(np.concatenate(keys), int(owner.min()), int(owner.max()))
