"""Ownership graph at scale: ultimate parents of 1M parties over 2M ownership edges (synthetic).

The graph: parties 0..N-1; 10% are roots; every other party gets owners among earlier parties
(a corporate forest: one majority owner 51-100% with probability 0.6, else two to three minority
owners), plus random extra edges up to E in total, 1% of them pointing "backwards" so that
ownership cycles exist. Seeded.

Measured side by side: the bulk pass (``compute_ultimate_parents``: strongly connected components,
then controllers in topological order) against the per-party baseline (``find_ultimate_parents``
for each party: walk its upstream subgraph and solve it) on a sample, extrapolated to N.

Times are CPU seconds of this process (time.process_time): the shared machine runs other jobs,
so wall-clock time would measure the neighbours.

Usage: python benchmarks/bench_graph.py [--parties 1000000] [--edges 2000000] [--sample 2000]
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from chiptrail.parties.graph import OwnershipGraph, compute_ultimate_parents, find_ultimate_parents
from chiptrail.parties.model import Ownership
from chiptrail.types import PartyId


def make_edges(n: int, e: int, rng: random.Random) -> list[Ownership]:
    ids = [PartyId(f"p{i}") for i in range(n)]
    edges: list[Ownership] = []
    seen: set[tuple[int, int]] = set()

    def add(owner: int, asset: int, pct: float) -> None:
        if owner != asset and (owner, asset) not in seen:
            seen.add((owner, asset))
            edges.append(Ownership(f"o{len(edges)}", ids[owner], ids[asset], pct))

    for i in range(n // 10, n):
        if rng.random() < 0.6:
            add(rng.randrange(i), i, float(rng.randint(51, 100)))
        else:
            for _ in range(rng.randint(2, 3)):
                add(rng.randrange(i), i, float(rng.randint(1, 33)))
    while len(edges) < e:
        a, b = rng.randrange(n), rng.randrange(n)
        owner, asset = (max(a, b), min(a, b)) if rng.random() < 0.01 else (min(a, b), max(a, b))
        add(owner, asset, float(rng.randint(1, 20)))
    return edges


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parties", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=2_000_000)
    ap.add_argument("--sample", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(11)
    t = time.process_time()
    edges = make_edges(args.parties, args.edges, rng)
    print(
        f"generated {args.parties:,} parties, {len(edges):,} edges "
        f"in {time.process_time() - t:.1f} s"
    )
    t = time.process_time()
    graph = OwnershipGraph(edges)
    build_s = time.process_time() - t
    t = time.process_time()
    parents = compute_ultimate_parents(graph)
    bulk_s = time.process_time() - t
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    multi = sum(1 for v in parents.values() if len(v) > 1)
    owned = sum(1 for k, v in parents.items() if v != (k,))
    print(
        f"graph built in {build_s:.1f} s; bulk ultimate parents of {len(parents):,} parties "
        f"in {bulk_s:.1f} s ({len(parents) / bulk_s:,.0f} parties/s); peak RSS {rss_gb:.1f} GB"
    )
    print(
        f"  {owned:,} parties have a controlling parent; {multi:,} have several (joint control "
        "or a control cycle)"
    )
    sample = rng.sample(graph.nodes(), args.sample)
    t = time.process_time()
    agree = 0
    for p in sample:
        agree += find_ultimate_parents(graph, p).parents == parents[p]
    per_s = (time.process_time() - t) / len(sample)
    print(
        f"per-party baseline: {per_s * 1e3:.2f} ms/party on {len(sample)} sampled parties, "
        f"{per_s * len(parents):,.0f} s extrapolated to all; bulk is "
        f"{per_s * len(parents) / bulk_s:.1f}x faster; answers agree on {agree}/{len(sample)}"
    )


if __name__ == "__main__":
    main()
