"""Verifiers for RFC 9162 inclusion and consistency proofs (sections 2.1.3.2 and 2.1.4.2).

Written apart from the builder in ``merkle.py``: the two share only ``hash_leaf`` and
``hash_children``, so a bug in how proofs are built cannot hide in how they are checked.
No I/O. Every failure raises ``VerificationError``; there is no ``-> bool`` variant.
"""

from __future__ import annotations

from collections.abc import Sequence

from chiptrail.errors import VerificationError
from chiptrail.ledger.merkle import hash_children

_HASH_SIZE = 32


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for position, h in enumerate(hashes):
        if len(h) != _HASH_SIZE:
            raise VerificationError(
                f"{what} hash #{position} is {len(h)} bytes, expected 32",
                {"field": what, "position": position},
            )


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Implements RFC 9162 section 2.1.3.2 step by step.

    Args:
        leaf_hash: ``hash_leaf(entry)``, 32 bytes.
        index: 0-based leaf index.
        size: tree size the proof was made for.
        proof: the audit path, leaf's sibling first (RFC 9162 order).
        root: the expected 32-byte root of the tree of ``size`` leaves.

    Raises:
        VerificationError: the proof does not lead from the leaf to ``root`` (saying why).
    """
    _check_hashes("leaf", [leaf_hash])
    _check_hashes("proof", proof)
    if not 0 <= index < size:
        raise VerificationError("leaf index is outside the tree", {"index": index, "size": size})
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise VerificationError(
            "inclusion proof does not lead to the expected root",
            {"index": index, "size": size},
        )


def verify_consistency(
    old_size: int, size: int, old_root: bytes, root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``old_size``, ``old_root``) is a prefix of (``size``, ``root``).

    Implements RFC 9162 section 2.1.4.2. Like transparency-dev/merkle, ``old_size == size`` is
    accepted only with an empty proof and equal roots, and any proof from ``old_size == 0`` is
    rejected (RFC 9162 defines proofs only for ``0 < old_size <= size``).

    Raises:
        VerificationError: the proof does not tie the two roots together (saying why).
    """
    _check_hashes("proof", proof)
    if not 0 < old_size <= size:
        raise VerificationError(
            "consistency needs 0 < old_size <= size", {"old_size": old_size, "size": size}
        )
    if old_size == size:
        if proof:
            raise VerificationError("a consistency proof between equal sizes must be empty")
        if old_root != root:
            raise VerificationError("equal tree sizes but different roots")
        return
    if not proof:
        raise VerificationError("empty consistency proof between different sizes")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: a power of two is its own first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise VerificationError("consistency proof does not reproduce the old root")
    if sr != root:
        raise VerificationError("consistency proof does not reproduce the new root")
