"""The RFC 9162 Merkle tree: leaf and node hashing, an append-only node store, roots and proofs.

No I/O: nodes live behind the ``NodeStore`` protocol (memory here, a database table in ``store/``).
Proof *verification* is ``ledger/proof.py``, written separately so one bug cannot hide in both.

Tree model (RFC 9162 section 2.1). Leaves are numbered from 0. A *perfect node* ``(level, index)``
is the hash of the ``2**level`` leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds
the leaf hashes. Every node the tree ever needs for any size is either a perfect node or is computed
from at most ``log2(size)`` of them, so the store only ever holds perfect nodes, which never change
once written (append-only). ``append_leaves`` writes exactly the perfect nodes that an append
completes; roots and proofs read ``O(log n)`` of them in one ``get_nodes`` call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol

from chiptrail.errors import Conflict, InvalidInput

HASH_SIZE = 32
"""Bytes in a SHA-256 hash, the only hash RFC 9162 logs here use."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 9162 section 2.1.1)."""

NodeKey = tuple[int, int]
"""``(level, index)``: the perfect node over leaves ``[index << level, (index + 1) << level)``."""


def hash_leaf(data: bytes) -> bytes:
    """RFC 9162 section 2.1.1 leaf hash: ``SHA-256(0x00 || data)``.

    Args:
        data: the exact leaf bytes (the log entry).

    Returns:
        The 32-byte leaf hash.
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 9162 section 2.1.1 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over all leaf hashes, level by level (the naive ``O(n)`` baseline).

    Pairs neighbours at each level and carries an odd last node up unchanged, which yields the
    same tree as RFC 9162's split at the largest power of two below ``n``.

    Args:
        leaf_hashes: the 32-byte leaf hashes in log order.

    Returns:
        The 32-byte root; ``SHA-256(b"")`` for an empty list.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    sha = hashlib.sha256
    while len(level) > 1:
        nxt = [
            sha(_NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class NodeStore(Protocol):
    """Where perfect-node hashes live. Keys are ``(level, index)`` (see the module docstring).

    Implementations must treat nodes as immutable: writing a different hash to an existing key is a
    ``Conflict``; rewriting the same hash is allowed (an append retried after a crash).
    """

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Hashes of the requested nodes; keys that are not stored are absent from the result."""
        ...

    def put_nodes(self, nodes: Mapping[NodeKey, bytes]) -> None:
        """Store the given nodes."""
        ...


class MemoryNodeStore:
    """An in-memory ``NodeStore``: one ``bytearray`` of packed 32-byte hashes per level.

    Packing keeps a 10-million-leaf tree at about 640 MB instead of several GB of ``bytes``
    objects in a dict. Because the log is append-only, each level only ever grows at its end;
    a write that would leave a gap raises ``InvalidInput``.
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[bytearray] = []

    def count(self, level: int) -> int:
        """How many nodes of ``level`` are stored."""
        return len(self._levels[level]) // HASH_SIZE if level < len(self._levels) else 0

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Hashes of the stored nodes among ``keys``."""
        found: dict[NodeKey, bytes] = {}
        levels = self._levels
        for key in keys:
            level, index = key
            if 0 <= level < len(levels) and index >= 0:
                start = index * HASH_SIZE
                if start < len(levels[level]):
                    found[key] = bytes(levels[level][start : start + HASH_SIZE])
        return found

    def put_nodes(self, nodes: Mapping[NodeKey, bytes]) -> None:
        """Append nodes; each level's new indexes must continue where that level ends."""
        for (level, index), value in sorted(nodes.items()):
            if len(value) != HASH_SIZE:
                raise InvalidInput("node hash must be 32 bytes", {"level": level, "index": index})
            while len(self._levels) <= level:
                self._levels.append(bytearray())
            row = self._levels[level]
            count = len(row) // HASH_SIZE
            if index == count:
                row += value
            elif 0 <= index < count:
                if row[index * HASH_SIZE : (index + 1) * HASH_SIZE] != value:
                    raise Conflict(
                        "node already stored with a different hash: the log is append-only",
                        {"level": level, "index": index},
                    )
            else:
                raise InvalidInput(
                    "node write would leave a gap in an append-only level",
                    {"level": level, "index": index, "stored": count},
                )


def frontier_keys(size: int) -> list[NodeKey]:
    """The perfect nodes whose concatenation is the whole tree of ``size`` leaves, largest first."""
    return _range_keys(0, size)


def _range_keys(start: int, end: int) -> list[NodeKey]:
    """Perfect nodes, largest first, that make up MTH(D[start:end]) (one per set bit of the length).

    Valid when ``start`` is a multiple of the largest power of two below ``end - start``: true for
    every range RFC 9162 proofs name, and for ``start == 0``.
    """
    keys = []
    while start < end:
        level = (end - start).bit_length() - 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def _fetch(store: NodeStore, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
    wanted = list(dict.fromkeys(keys))
    found = store.get_nodes(wanted)
    missing = [k for k in wanted if k not in found]
    if missing:
        raise InvalidInput(
            "the node store lacks nodes for this tree size (was it appended that far?)",
            {"missing": [list(k) for k in missing[:8]]},
        )
    return found


def append_leaves(store: NodeStore, size: int, leaf_hashes: Sequence[bytes]) -> int:
    """Append leaf hashes to a tree of ``size`` leaves and store every perfect node completed.

    The nodes written depend only on the final sequence of leaves, never on how appends were
    batched. One ``get_nodes`` call (the ``<= log2(size)`` frontier nodes) and one ``put_nodes``
    call per append.

    Args:
        store: the node store holding the tree of ``size`` leaves.
        size: the current tree size (the caller's source of truth, e.g. the latest checkpoint).
        leaf_hashes: 32-byte leaf hashes (``hash_leaf(entry)``) to add, in order.

    Returns:
        The new tree size, ``size + len(leaf_hashes)``.

    Raises:
        InvalidInput: negative size, a hash that is not 32 bytes, or a store missing the frontier.
    """
    if size < 0:
        raise InvalidInput("tree size must be >= 0", {"size": size})
    new_size = size + len(leaf_hashes)
    if new_size == size:
        return size
    for h in leaf_hashes:
        if len(h) != HASH_SIZE:
            raise InvalidInput("leaf hash must be 32 bytes", {"length": len(h)})
    frontier = _fetch(store, frontier_keys(size))
    sha = hashlib.sha256
    new_nodes: dict[NodeKey, bytes] = {}
    row = list(leaf_hashes)  # new nodes at the current level, starting at index row_start
    row_start = size
    level = 0
    while True:
        for offset, value in enumerate(row):
            new_nodes[(level, row_start + offset)] = value
        lo, hi = size >> (level + 1), new_size >> (level + 1)
        if lo == hi:
            break
        # Children of the new parents lo..hi-1 start at 2*lo; the left one may be an old node.
        if 2 * lo < row_start:
            row = [frontier[(level, 2 * lo)], *row]
        row = [sha(_NODE_PREFIX + row[i] + row[i + 1]).digest() for i in range(0, 2 * (hi - lo), 2)]
        row_start = lo
        level += 1
    store.put_nodes(new_nodes)
    return new_size


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees given largest first: ``H(a, H(b, H(c, ...)))``."""
    if len(hashes) == 1:
        return hashes[0]
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = hash_children(h, acc)
    return acc


def root_at(store: NodeStore, size: int) -> bytes:
    """MTH of the first ``size`` leaves, read from ``<= log2(size)`` stored nodes.

    Raises:
        InvalidInput: negative size, or the store does not hold a tree that large.
    """
    if size < 0:
        raise InvalidInput("tree size must be >= 0", {"size": size})
    if size == 0:
        return EMPTY_ROOT
    keys = frontier_keys(size)
    found = _fetch(store, keys)
    return _fold([found[k] for k in keys])


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _resolve(store: NodeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    key_lists = [_range_keys(a, b) for a, b in ranges]
    found = _fetch(store, [k for keys in key_lists for k in keys])
    return [_fold([found[k] for k in keys]) for keys in key_lists]


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges of PATH(index, D[0:size]), leaf first (RFC 9162 section 2.1.3.1)."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_below(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 section 2.1.3.1).

    Returns:
        32-byte hashes ordered from the leaf's sibling up to the root's child.

    Raises:
        InvalidInput: ``not 0 <= index < size``, or the store does not hold a tree that large.
    """
    if not 0 <= index < size:
        raise InvalidInput("leaf index must be in [0, size)", {"index": index, "size": size})
    return _resolve(store, _inclusion_ranges(index, size))


def _consistency_ranges(old_size: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges of PROOF(old_size, D[0:size]) (RFC 9162 section 2.1.4.1), in proof order."""
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _largest_power_below(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def consistency_proof(store: NodeStore, old_size: int, size: int) -> list[bytes]:
    """Proof that the tree of ``old_size`` leaves is a prefix of the tree of ``size`` leaves.

    RFC 9162 section 2.1.4.1. Empty when ``old_size == size``.

    Raises:
        InvalidInput: ``not 0 < old_size <= size`` (RFC 9162 defines no proof from the empty
            tree), or the store does not hold a tree that large.
    """
    if not 0 < old_size <= size:
        raise InvalidInput(
            "consistency proofs need 0 < old_size <= size",
            {"old_size": old_size, "size": size},
        )
    return _resolve(store, _consistency_ranges(old_size, size))
