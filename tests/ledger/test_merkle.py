"""RFC 9162 tree building: hashing, the node store, roots, batch independence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.errors import Conflict, InvalidInput
from chiptrail.ledger.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    append_leaves,
    hash_children,
    hash_leaf,
    inclusion_proof,
    root_at,
    root_from_leaf_hashes,
)


def _leaves(n: int) -> list[bytes]:
    return [hash_leaf(str(i).encode()) for i in range(n)]


def _mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1 MTH, written recursively as the spec states it (test oracle)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(hashes[:k]) + _mth(hashes[k:])).digest()


def test_hash_prefixes_are_domain_separated() -> None:
    assert hash_leaf(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        hash_children(b"a" * 32, b"b" * 32)
        == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert hash_leaf(b"") != EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_rfc9162_roots(shared: Path) -> None:
    vectors = json.loads((shared / "conformance/tlog/rfc9162-vectors.json").read_text())
    leaves = [hash_leaf(bytes.fromhex(x)) for x in vectors["leaves_hex"]]
    store = MemoryNodeStore()
    append_leaves(store, 0, leaves)
    for size, want in enumerate(vectors["roots_by_size"]):
        assert root_from_leaf_hashes(leaves[:size]).hex() == want
        assert root_at(store, size).hex() == want


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=0, max_value=300))
def test_naive_root_matches_recursive_definition(n: int) -> None:
    assert root_from_leaf_hashes(_leaves(n)) == _mth(_leaves(n))


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=200),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_root_does_not_depend_on_batching(n: int, cuts: list[int]) -> None:
    leaves = _leaves(n)
    one = MemoryNodeStore()
    append_leaves(one, 0, leaves)
    batched = MemoryNodeStore()
    size = 0
    for cut in [*sorted(c for c in cuts if c <= n), n]:
        size = append_leaves(batched, size, leaves[size:cut]) if cut > size else size
    assert size == n
    for level in range(n.bit_length() + 1):
        assert one.count(level) == batched.count(level) == n >> level
        keys = [(level, i) for i in range(n >> level)]
        assert one.get_nodes(keys) == batched.get_nodes(keys)
    for m in range(n + 1):
        assert root_at(batched, m) == root_at(one, m) == _mth(leaves[:m])


def test_append_returns_new_size_and_empty_append_is_noop() -> None:
    store = MemoryNodeStore()
    assert append_leaves(store, 0, _leaves(5)) == 5
    assert append_leaves(store, 5, []) == 5
    assert [store.count(level) for level in range(4)] == [5, 2, 1, 0]


@pytest.mark.parametrize(
    ("size", "hashes"),
    [(-1, []), (0, [b"short"]), (3, [b"\x00" * 32])],
    ids=["negative size", "hash not 32 bytes", "store lacks the frontier of size 3"],
)
def test_append_refuses_bad_input(size: int, hashes: list[bytes]) -> None:
    with pytest.raises(InvalidInput):
        append_leaves(MemoryNodeStore(), size, hashes)


def test_store_is_append_only() -> None:
    store = MemoryNodeStore()
    append_leaves(store, 0, _leaves(4))
    store.put_nodes({(0, 1): _leaves(4)[1]})  # rewriting the same hash is a retry, allowed
    with pytest.raises(Conflict):
        store.put_nodes({(0, 1): b"\x00" * 32})
    with pytest.raises(InvalidInput):
        store.put_nodes({(0, 9): b"\x00" * 32})
    with pytest.raises(InvalidInput):
        store.put_nodes({(0, 4): b"\x00" * 31})
    assert store.get_nodes([(0, 4), (7, 0), (-1, 0), (0, -1)]) == {}


def test_root_and_proof_refuse_sizes_beyond_the_store() -> None:
    store = MemoryNodeStore()
    append_leaves(store, 0, _leaves(4))
    with pytest.raises(InvalidInput):
        root_at(store, 5)
    with pytest.raises(InvalidInput):
        root_at(store, -1)
    with pytest.raises(InvalidInput):
        inclusion_proof(store, 0, 6)
    assert root_at(store, 0) == EMPTY_ROOT
