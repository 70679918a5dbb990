"""RFC 9162 proofs: the builder (merkle.py) against the verifier (proof.py) and outside vectors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput, VerificationError
from chiptrail.ledger.merkle import (
    MemoryNodeStore,
    append_leaves,
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    root_at,
    root_from_leaf_hashes,
)
from chiptrail.ledger.proof import verify_consistency, verify_inclusion

MAX_LEAVES = 3000
LEAVES = [hash_leaf(f"entry {i}".encode()) for i in range(MAX_LEAVES)]
STORE = MemoryNodeStore()
append_leaves(STORE, 0, LEAVES)
TLOG = "conformance/tlog"


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def _load(shared: Path, name: str) -> Any:
    return json.loads((shared / TLOG / name).read_text())


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


# --- exhaustive small trees and random large ones ------------------------------------------


def test_every_inclusion_and_consistency_proof_of_small_trees_verifies() -> None:
    for n in range(1, 70):
        root = root_at(STORE, n)
        assert root == root_from_leaf_hashes(LEAVES[:n])
        for i in range(n):
            verify_inclusion(LEAVES[i], i, n, inclusion_proof(STORE, i, n), root)
        for m in range(1, n + 1):
            verify_consistency(m, n, root_at(STORE, m), root, consistency_proof(STORE, m, n))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_inclusion_proof_verifies_for_any_size_and_index(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=MAX_LEAVES), label="size")
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    proof = inclusion_proof(STORE, i, n)
    assert len(proof) <= n.bit_length()
    verify_inclusion(LEAVES[i], i, n, proof, root_at(STORE, n))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_consistency_proof_verifies_for_any_sizes(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=MAX_LEAVES), label="size")
    m = data.draw(st.integers(min_value=1, max_value=n), label="old size")
    proof = consistency_proof(STORE, m, n)
    verify_consistency(m, n, root_at(STORE, m), root_at(STORE, n), proof)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_breaks_an_inclusion_proof(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=MAX_LEAVES), label="size")
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    leaf, proof, root = LEAVES[i], inclusion_proof(STORE, i, n), root_at(STORE, n)
    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1), label="target")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    if target == -2:
        leaf = _flip(leaf, bit)
    elif target == -1:
        root = _flip(root, bit)
    else:
        proof = [_flip(p, bit) if k == target else p for k, p in enumerate(proof)]
    with pytest.raises(VerificationError):
        verify_inclusion(leaf, i, n, proof, root)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_breaks_a_consistency_proof(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=MAX_LEAVES), label="size")
    m = data.draw(st.integers(min_value=1, max_value=n), label="old size")
    proof, old, new = consistency_proof(STORE, m, n), root_at(STORE, m), root_at(STORE, n)
    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1), label="target")
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    if target == -2:
        old = _flip(old, bit)
    elif target == -1:
        new = _flip(new, bit)
    else:
        proof = [_flip(p, bit) if k == target else p for k, p in enumerate(proof)]
    with pytest.raises(VerificationError):
        verify_consistency(m, n, old, new, proof)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_proof_for_another_position_or_size_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=2, max_value=MAX_LEAVES - 1), label="size")
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    proof, root = inclusion_proof(STORE, i, n), root_at(STORE, n)
    other = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda j: j != i))
    with pytest.raises(VerificationError):
        verify_inclusion(LEAVES[i], other, n, proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(LEAVES[other], i, n, proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(LEAVES[i], i, n + 1, proof, root_at(STORE, n + 1))


# --- edge cases named one by one -------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "size", "proof_len"),
    [(0, 0, 0), (1, 1, 0), (-1, 4, 2), (0, 1, 1)],
    ids=["empty tree", "index == size", "negative index", "proof longer than the tree"],
)
def test_inclusion_rejects_impossible_positions(index: int, size: int, proof_len: int) -> None:
    with pytest.raises(VerificationError):
        verify_inclusion(LEAVES[0], index, size, [LEAVES[1]] * proof_len, LEAVES[0])


def test_inclusion_rejects_short_proof_and_wrong_hash_lengths() -> None:
    proof, root = inclusion_proof(STORE, 5, 16), root_at(STORE, 16)
    with pytest.raises(VerificationError, match="shorter"):
        verify_inclusion(LEAVES[5], 5, 16, proof[:-1], root)
    with pytest.raises(VerificationError, match="bytes"):
        verify_inclusion(LEAVES[5][:31], 5, 16, proof, root)
    with pytest.raises(VerificationError, match="bytes"):
        verify_inclusion(LEAVES[5], 5, 16, [*proof[:-1], proof[-1] + b"\x00"], root)


@pytest.mark.parametrize(
    ("old_size", "size", "proof_len"),
    [(0, 0, 0), (0, 5, 0), (6, 5, 1), (5, 5, 1), (3, 8, 0)],
    ids=["from empty to empty", "from empty", "old larger", "equal sizes, non-empty", "empty"],
)
def test_consistency_rejects_impossible_sizes(old_size: int, size: int, proof_len: int) -> None:
    old = root_at(STORE, old_size)
    with pytest.raises(VerificationError):
        verify_consistency(old_size, size, old, root_at(STORE, size), [LEAVES[0]] * proof_len)


def test_consistency_equal_sizes_and_overlong_proof() -> None:
    verify_consistency(7, 7, root_at(STORE, 7), root_at(STORE, 7), [])
    with pytest.raises(VerificationError, match="different roots"):
        verify_consistency(7, 7, root_at(STORE, 7), root_at(STORE, 6), [])
    proof = consistency_proof(STORE, 3, 8)
    with pytest.raises(VerificationError):
        verify_consistency(3, 8, root_at(STORE, 3), root_at(STORE, 8), [*proof, LEAVES[0]])
    with pytest.raises(VerificationError):
        verify_consistency(3, 8, root_at(STORE, 3), root_at(STORE, 8), proof[:-1])


def test_builder_refuses_impossible_requests() -> None:
    with pytest.raises(InvalidInput):
        inclusion_proof(STORE, 4, 4)
    with pytest.raises(InvalidInput):
        consistency_proof(STORE, 0, 4)
    with pytest.raises(InvalidInput):
        consistency_proof(STORE, 5, 4)
    assert consistency_proof(STORE, 4, 4) == []


# --- outside vectors ----------------------------------------------------------------------------


def test_rfc9162_vectors_build_and_verify(shared: Path) -> None:
    vectors = _load(shared, "rfc9162-vectors.json")
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(bytes.fromhex(x)) for x in vectors["leaves_hex"]])
    assert len(vectors["inclusion"]) == len(vectors["consistency"]) == 36
    for case in vectors["inclusion"]:
        i, n, root = case["leaf_index"], case["tree_size"], bytes.fromhex(case["root"])
        proof = inclusion_proof(store, i, n)
        assert [p.hex() for p in proof] == case["proof"]
        leaf = bytes.fromhex(case["leaf_hash"])
        verify_inclusion(leaf, i, n, proof, root)
        for bit in range(0, 256, 37):
            with pytest.raises(VerificationError):
                verify_inclusion(_flip(leaf, bit), i, n, proof, root)
            with pytest.raises(VerificationError):
                verify_inclusion(leaf, i, n, proof, _flip(root, bit))
            for k in range(len(proof)):
                bad = [_flip(p, bit) if j == k else p for j, p in enumerate(proof)]
                with pytest.raises(VerificationError):
                    verify_inclusion(leaf, i, n, bad, root)
    for case in vectors["consistency"]:
        m, n = case["old_size"], case["tree_size"]
        old, new = bytes.fromhex(case["old_root"]), bytes.fromhex(case["root"])
        proof = consistency_proof(store, m, n)
        assert [p.hex() for p in proof] == case["proof"]
        verify_consistency(m, n, old, new, proof)
        for bit in range(0, 256, 37):
            with pytest.raises(VerificationError):
                verify_consistency(m, n, _flip(old, bit), new, proof)
            with pytest.raises(VerificationError):
                verify_consistency(m, n, old, _flip(new, bit), proof)
            for k in range(len(proof)):
                bad = [_flip(p, bit) if j == k else p for j, p in enumerate(proof)]
                with pytest.raises(VerificationError):
                    verify_consistency(m, n, old, new, bad)


def _td_outcome(case: dict[str, Any]) -> bool:
    proof = [_b64(p) for p in case["proof"] or []]
    try:
        if "leafIdx" in case:
            verify_inclusion(
                _b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"])
            )
        else:
            verify_consistency(
                case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof
            )
    except VerificationError:
        return False
    return True


@pytest.mark.parametrize("name", ["td-merkle-inclusion.json", "td-merkle-consistency.json"])
def test_transparency_dev_cases(shared: Path, name: str) -> None:
    cases = _load(shared, name)["cases"]
    assert len(cases) == 98
    wrong = [c["file"] for c in cases if _td_outcome(c) == c["wantErr"]]
    assert wrong == []


def test_real_rekor_inclusion_proofs(shared: Path) -> None:
    entries = _load(shared, "rekor-real-inclusion.json")["entries"]
    assert len(entries) == 11
    for entry in entries:
        leaf = hash_leaf(base64.b64decode(entry["canonicalizedBody_b64"]))
        assert leaf.hex() == entry["leaf_hash_hex"]
        inc = entry["inclusion"]
        proof = [bytes.fromhex(p) for p in inc["proof_hex"]]
        root = bytes.fromhex(inc["root_hex"])
        verify_inclusion(leaf, inc["leaf_index"], inc["tree_size"], proof, root)
        with pytest.raises(VerificationError):
            verify_inclusion(leaf, inc["leaf_index"], inc["tree_size"], proof, _flip(root, 77))
        with pytest.raises(VerificationError):  # Rekor v1 shards: a global index is wrong
            verify_inclusion(leaf, inc["leaf_index"] ^ 1, inc["tree_size"], proof, root)


def test_in_repo_known_answers() -> None:
    """tests/vectors/tlog/chiptrail-log-kat.json: a second implementation's roots and proofs."""
    kat = json.loads(
        (Path(__file__).parents[1] / "vectors/tlog/chiptrail-log-kat.json").read_text()
    )
    entries = [f"entry {i}".encode() for i in range(40)]
    store = MemoryNodeStore()
    append_leaves(store, 0, [hash_leaf(e) for e in entries])
    assert [root_at(store, n).hex() for n in range(41)] == kat["roots_by_size"]
    for case in kat["inclusion"]:
        i, n = case["index"], case["size"]
        assert [p.hex() for p in inclusion_proof(store, i, n)] == case["proof"]
        proof = [bytes.fromhex(p) for p in case["proof"]]
        verify_inclusion(hash_leaf(entries[i]), i, n, proof, bytes.fromhex(kat["roots_by_size"][n]))
    for case in kat["consistency"]:
        m, n = case["old_size"], case["size"]
        assert [p.hex() for p in consistency_proof(store, m, n)] == case["proof"]
        old, new = (bytes.fromhex(kat["roots_by_size"][s]) for s in (m, n))
        verify_consistency(m, n, old, new, [bytes.fromhex(p) for p in case["proof"]])
