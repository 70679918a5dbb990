"""Screening throughput: the blocked index against brute force, side by side in one run.

Lists: the 13 list files of shared/data/screening (all 14 US lists' entries). Queries: N names
(default 100,000), seeded: 30% are list names or aliases with a perturbation (legal form dropped,
words rotated, one letter dropped), 70% are generated company names that are mostly not listed.

Measured:
- indexed: ``screen_query`` (token + trigram blocking, then the scorer) on all N queries;
- brute force, same scorer: every indexed name scored for each query (``brute_force=True``), on a
  sample (it is ~100x slower), extrapolated to N;
- brute force, rapidfuzz only: ``rapidfuzz.process.extractOne`` with ``token_sort_ratio`` over every
  normalised name (C speed, but no weighting, transliteration or explanations), on a sample.
Recall@1 of each on the sample's perturbed list names, so the speed-up is read at equal recall.

Times are CPU seconds of this process (time.process_time): the shared machine runs other jobs,
so wall-clock time would measure the neighbours.

Usage: python benchmarks/bench_screening.py [--queries 100000] [--sample 300]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from rapidfuzz import fuzz, process

from chiptrail.parties.formats.nsfreg import parse_nsfreg
from chiptrail.parties.model import Party
from chiptrail.parties.normalise import name_forms, normalise_name
from chiptrail.parties.screening import DEFAULT_THRESHOLD, Query, build_index, screen_query

WORDS_A = [
    "Blue",
    "Silver",
    "Golden",
    "Pacific",
    "Northern",
    "Eastern",
    "Summit",
    "Apex",
    "Bright",
    "Clear",
    "Rapid",
    "Global",
]
WORDS_B = [
    "River",
    "Harbor",
    "Valley",
    "Stone",
    "Bridge",
    "Forest",
    "Crown",
    "Star",
    "Lake",
    "Peak",
    "Field",
    "Cloud",
    "Wave",
]
WORDS_C = [
    "Logistics",
    "Foods",
    "Textiles",
    "Consulting",
    "Media",
    "Travel",
    "Furniture",
    "Trading",
    "Printing",
]
FORMS = ["Ltd", "Inc.", "GmbH", "Pte. Ltd.", "Sdn. Bhd.", "LLC", "S.A.", "Co., Ltd.", ""]


def load_lists(shared: Path) -> list[Party]:
    parties: list[Party] = []
    for f in sorted((shared / "data" / "screening").glob("*.json")):
        if f.name != "lists.json":
            parties += parse_nsfreg(f.read_bytes()).parties
    return parties


def perturb(name: str, rng: random.Random) -> str:
    kind = rng.randrange(3)
    norm = normalise_name(name).split()
    if kind == 0 or len(norm) < 2:
        return " ".join(norm) + " " + rng.choice(FORMS)
    if kind == 1:
        return " ".join(norm[1:] + norm[:1])
    longest = max(norm, key=len)
    if len(longest) < 5:
        return " ".join(norm)
    cut = rng.randrange(1, len(longest) - 1)
    return " ".join(norm).replace(longest, longest[:cut] + longest[cut + 1 :], 1)


def make_queries(parties: list[Party], n: int, rng: random.Random) -> list[tuple[Query, str]]:
    """(query, expected party id or "") pairs."""
    out = []
    for i in range(n):
        if rng.random() < 0.3:
            p = rng.choice(parties)
            out.append((Query(str(i), perturb(rng.choice(p.all_names), rng)), p.party_id))
        else:
            name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {rng.choice(WORDS_C)}"
            out.append((Query(str(i), f"{name} {rng.choice(FORMS)}".strip()), ""))
    return out


def recall(hits: list[tuple[str, str]], same: dict[str, set[str]]) -> float:
    """Share of positive queries whose top hit is the expected entry (or a same-name entry)."""
    pos = [(want, got) for want, got in hits if want]
    ok = sum(1 for want, got in pos if got == want or got in same.get(want, set()))
    return ok / max(len(pos), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("/work/shared"))
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(7)
    parties = load_lists(args.shared)
    t = time.process_time()
    index = build_index(parties)
    build_s = time.process_time() - t
    by_norm: dict[str, set[str]] = {}
    for p in parties:
        for n in p.all_names:
            by_norm.setdefault(normalise_name(n), set()).add(p.party_id)
    same = {
        p.party_id: set().union(*(by_norm[normalise_name(n)] for n in p.all_names)) for p in parties
    }
    queries = make_queries(parties, args.queries, rng)
    print(
        f"{len(parties)} entries, {index.name_count} indexed names; index built in {build_s:.2f} s"
    )

    t = time.process_time()
    indexed_hits = []
    for q, want in queries:
        top = screen_query(index, q, threshold=0.0, limit=1)
        indexed_hits.append((want, top[0].party_id if top else ""))
    indexed_s = time.process_time() - t
    print(
        f"indexed: {len(queries):,} queries in {indexed_s:.1f} s = "
        f"{len(queries) / indexed_s:,.0f} queries/s"
    )

    sample = queries[: args.sample]
    t = time.process_time()
    brute_hits = []
    for q, want in sample:
        top = screen_query(index, q, threshold=0.0, limit=1, brute_force=True)
        brute_hits.append((want, top[0].party_id if top else ""))
    brute_s = (time.process_time() - t) / len(sample) * len(queries)

    choices = []
    owners = []
    for p in parties:
        for n in p.all_names:
            for f in name_forms(n):
                choices.append(f)
                owners.append(p.party_id)
    t = time.process_time()
    rf_hits = []
    rf_sample = queries[: max(args.sample * 10, 1)]
    for q, want in rf_sample:
        forms = name_forms(q.name)
        best = max(
            (process.extractOne(f, choices, scorer=fuzz.token_sort_ratio) for f in forms),
            key=lambda r: r[1],
            default=None,
        )
        rf_hits.append((want, owners[best[2]] if best else ""))
    rf_s = (time.process_time() - t) / len(rf_sample) * len(queries)

    same_sample = indexed_hits[: len(sample)]
    print(f"brute force, same scorer (sample {len(sample)}, extrapolated): {brute_s:,.0f} s")
    print(
        f"brute force, rapidfuzz extractOne (sample {len(rf_sample)}, extrapolated): {rf_s:,.0f} s"
    )
    print(
        f"speed-up of the index: {brute_s / indexed_s:.0f}x vs same-scorer brute force, "
        f"{rf_s / indexed_s:.1f}x vs rapidfuzz brute force"
    )
    print(
        f"recall@1 on the sample's perturbed list names: indexed {recall(same_sample, same):.3f}, "
        f"brute force same scorer {recall(brute_hits, same):.3f}; on the larger sample: "
        f"indexed {recall(indexed_hits[: len(rf_sample)], same):.3f}, "
        f"rapidfuzz {recall(rf_hits, same):.3f}"
    )
    hits_over = sum(
        1
        for q, _ in queries[: len(sample)]
        if screen_query(index, q, threshold=DEFAULT_THRESHOLD, limit=1)
    )
    print(f"sample queries with a match >= {DEFAULT_THRESHOLD}: {hits_over}/{len(sample)}")


if __name__ == "__main__":
    main()
