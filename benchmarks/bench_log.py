"""Benchmark the custody log's Merkle tree: append throughput, proof time vs the naive baseline.

For each size N (default 1M and 10M leaves, memory ``NodeStore``):

- append: ``append_leaves`` throughput in leaves/s, in batches of ``--batch`` leaves;
- proofs: mean time of ``inclusion_proof`` and ``consistency_proof`` over random positions
  (plus ``root_at`` and the verifiers), each O(log N);
- audit (``--audit-size``, default 1M): ``audit_export`` over an in-memory export, entries/s;
- baseline: the naive way to answer the same question, recomputing the root from all N leaf
  hashes (``root_from_leaf_hashes``), timed in the same run; the ratio is baseline / proof.

Run: ``python benchmarks/bench_log.py [--sizes 1000000,10000000] [--samples 2000]``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Callable

from chiptrail.crypto import Ed25519Signer
from chiptrail.ledger.audit import audit_export, export_log
from chiptrail.ledger.checkpoint import Checkpoint, make_verifier_key, sign_checkpoint
from chiptrail.ledger.merkle import (
    MemoryNodeStore,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    root_at,
    root_from_leaf_hashes,
)
from chiptrail.ledger.proof import verify_consistency, verify_inclusion


def _leaf_hashes(start: int, end: int) -> list[bytes]:
    """Leaf hashes of entries ``b"entry <i>"``: SHA-256(0x00 || entry), in a tight loop."""
    sha = hashlib.sha256
    return [sha(b"\x00entry %d" % i).digest() for i in range(start, end)]


def _mean_us(fn: Callable[[int], object], args: list[int]) -> float:
    start = time.perf_counter()
    for a in args:
        fn(a)
    return (time.perf_counter() - start) / len(args) * 1e6


def bench_size(size: int, batch: int, samples: int, rng: random.Random) -> dict[str, float]:
    """Build a tree of ``size`` leaves and time appends, proofs and the naive baseline."""
    store = MemoryNodeStore()
    leaves: list[bytes] = []
    append_s = 0.0
    n = 0
    while n < size:
        chunk = _leaf_hashes(n, min(size, n + batch))
        leaves += chunk
        t0 = time.perf_counter()
        n = append_leaves(store, n, chunk)
        append_s += time.perf_counter() - t0
    root = root_at(store, size)

    indexes = [rng.randrange(size) for _ in range(samples)]
    olds = [rng.randrange(1, size + 1) for _ in range(samples)]
    inc_us = _mean_us(lambda i: inclusion_proof(store, i, size), indexes)
    con_us = _mean_us(lambda m: consistency_proof(store, m, size), olds)
    root_us = _mean_us(lambda m: root_at(store, m), olds)
    proofs = [inclusion_proof(store, i, size) for i in indexes]
    t0 = time.perf_counter()
    for i, p in zip(indexes, proofs, strict=True):
        verify_inclusion(leaves[i], i, size, p, root)
    verify_inc_us = (time.perf_counter() - t0) / samples * 1e6
    cons = [(m, root_at(store, m), consistency_proof(store, m, size)) for m in olds[:200]]
    t0 = time.perf_counter()
    for m, old_root, p in cons:
        verify_consistency(m, size, old_root, root, p)
    verify_con_us = (time.perf_counter() - t0) / len(cons) * 1e6

    t0 = time.perf_counter()
    naive_root = root_from_leaf_hashes(leaves)
    naive_s = time.perf_counter() - t0
    if naive_root != root:
        raise SystemExit("naive root differs from the node store root")
    return {
        "size": size,
        "append_leaves_per_s": size / append_s,
        "append_s": append_s,
        "inclusion_us": inc_us,
        "consistency_us": con_us,
        "root_at_us": root_us,
        "verify_inclusion_us": verify_inc_us,
        "verify_consistency_us": verify_con_us,
        "naive_root_s": naive_s,
        "stored_mib": sum(store.count(lv) for lv in range(64)) * 32 / 2**20,
    }


def bench_audit(size: int, batch: int) -> dict[str, float]:
    """Export a log of ``size`` entries to memory and time ``audit_export`` over it."""
    entries = [b"entry %d" % i for i in range(size)]
    store = MemoryNodeStore()
    for start in range(0, size, batch):
        append_leaves(store, start, _leaf_hashes(start, min(size, start + batch)))
    signer = Ed25519Signer(hashlib.sha256(b"bench log key").digest())
    note = sign_checkpoint(Checkpoint("bench/log", size, root_at(store, size)), "bench/log", signer)
    t0 = time.perf_counter()
    files = dict(export_log(store, size, lambda a, z: entries[a:z], note))
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = audit_export(files, make_verifier_key("bench/log", signer.public_key))
    audit_s = time.perf_counter() - t0
    if not report.is_valid:
        raise SystemExit(f"audit failed: {report.problems[:3]}")
    return {"export_s": export_s, "audit_s": audit_s, "files": len(files)}


def main(argv: list[str] | None = None) -> None:
    """Parse flags, run every size, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated leaf counts")
    parser.add_argument("--batch", type=int, default=1000, help="leaves per append_leaves call")
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed per size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--audit-size", type=int, default=1_000_000, help="entries in the audit run (0: skip)"
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    out = sys.stdout
    out.write(f"python {sys.version.split()[0]}, batch {args.batch}, {args.samples} samples\n")
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench_size(size, args.batch, args.samples, rng)
        naive_us = r["naive_root_s"] * 1e6
        out.write(
            f"\nN = {size:,} leaves ({r['stored_mib']:.0f} MiB of nodes)\n"
            f"  append_leaves        {r['append_leaves_per_s']:>12,.0f} leaves/s "
            f"({r['append_s']:.1f} s total)\n"
            f"  inclusion_proof      {r['inclusion_us']:>12.1f} us   "
            f"naive root {naive_us / 1e3:,.0f} ms   ratio {naive_us / r['inclusion_us']:,.0f}x\n"
            f"  consistency_proof    {r['consistency_us']:>12.1f} us   "
            f"naive root {naive_us / 1e3:,.0f} ms   ratio {naive_us / r['consistency_us']:,.0f}x\n"
            f"  root_at              {r['root_at_us']:>12.1f} us   "
            f"ratio {naive_us / r['root_at_us']:,.0f}x\n"
            f"  verify_inclusion     {r['verify_inclusion_us']:>12.1f} us\n"
            f"  verify_consistency   {r['verify_consistency_us']:>12.1f} us\n"
        )
        out.flush()
    if args.audit_size:
        a = bench_audit(args.audit_size, args.batch)
        out.write(
            f"\naudit_export of {args.audit_size:,} entries ({a['files']:,} files): "
            f"{a['audit_s']:.1f} s = {args.audit_size / a['audit_s']:,.0f} entries/s "
            f"(export_log {a['export_s']:.1f} s)\n"
        )


if __name__ == "__main__":
    main()
