"""Screening accuracy on the real 2026 US lists (shared/data/screening) and the default threshold.

Positives: every alias of every entry, queried against the lists with that alias removed
(leave-one-alias-out in 5 folds: each fold's aliases are removed together, the index rebuilt, and
each removed alias queried); and perturbed primary names (legal form dropped, words rotated, one
letter dropped, two letters swapped) against the full lists. The same organisation found under
another entry with an identical normalised name counts as a hit. Negatives: real companies on none
of the lists (``benchmarks/data/unlisted_companies.txt``, sources in its header).

The threshold is chosen from a false-positive budget: the lowest score (on a 0.005 grid) at which at
most 1 negative in 100 has any match. Reported at that threshold: recall@1 (the entry ranks first
and scores at least the threshold), MRR over the top 10, false positives. With ``--logic-v2 N``
nomenklatura's logic-v2 (installed in the benchmark environment only) scores the same candidates
for N sampled positives per kind and every negative, and gets its own threshold from the same
budget. The lists are read in place and never copied.

Tuning and reporting use different positives: ``--split tune`` keeps the queries of entries whose
id hashes to even (sha256, first byte), ``--split report`` those of the others (the default
``all`` keeps both). The aliases of every entry are still removed fold by fold, and every run uses
all negatives (the threshold needs them).

With ``--with-country`` every query is also run with a country, as a screening officer has it: a
positive with its entry's first listed country (none where the entry lists none), a negative with
the company's head-office country (second column of the negatives file); the threshold of that mode
comes from the same budget on the negatives with their countries, and its figures are reported
beside the name-only ones (keys ending ``_with_country``).

Usage: python benchmarks/eval_screening.py [--shared ../shared] [--logic-v2 300] [--split report]
    [--with-country] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from chiptrail.parties.formats.nsfreg import parse_nsfreg
from chiptrail.parties.model import Party
from chiptrail.parties.normalise import normalise_name
from chiptrail.parties.screening import (
    DEFAULT_THRESHOLD,
    Query,
    ScreeningIndex,
    build_index,
    screen_query,
)

FP_BUDGET = 0.01
"""At most this share of unlisted companies may have a match at the chosen threshold."""
NEGATIVES_FILE = Path(__file__).parent / "data" / "unlisted_companies.txt"
_GRID = [round(0.5 + 0.005 * i, 3) for i in range(100)]

Ranker = Callable[[str, str | None], list[tuple[int, float]]]
"""(query, country or None) -> [(party position, score)] best first (at most 10)."""


@dataclass
class Outcome:
    """One query's result: the rank of its entry (0: not in the top 10) and the top score."""

    kind: str
    query: str
    target: str
    rank: int
    top_score: float
    got: str | None


def load_lists(shared: Path) -> list[Party]:
    parties: list[Party] = []
    for f in sorted((shared / "data" / "screening").glob("*.json")):
        if f.name != "lists.json":
            parties += parse_nsfreg(f.read_bytes()).parties
    return parties


def parse_negatives(text: str) -> list[tuple[str, str | None]]:
    """``name<TAB>ISO2`` lines (country optional) -> [(name, country)], first line of each name.

    Lines starting with ``#`` and blank lines are skipped.
    """
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, country = line.partition("\t")
        out.setdefault(name.strip(), country.strip().upper() or None)
    return list(out.items())


def load_negatives() -> list[tuple[str, str | None]]:
    return parse_negatives(NEGATIVES_FILE.read_text(encoding="utf-8"))


def entry_country(party: Party) -> str | None:
    """The country a screening officer would enter for the listed party: its first listed one."""
    return party.countries[0] if party.countries else None


def in_split(party: Party, split: str) -> bool:
    """Whether ``party``'s queries belong to ``split`` (tune: even id hash, report: odd, all)."""
    if split == "all":
        return True
    even = hashlib.sha256(party.party_id.encode()).digest()[0] % 2 == 0
    return even == (split == "tune")


def _keys(p: Party) -> set[str]:
    return {normalise_name(n) for n in p.all_names}


def _outcome(
    kind: str, query: str, target: int, parties: Sequence[Party], ranked: list[tuple[int, float]]
) -> Outcome:
    keys = _keys(parties[target])
    rank = 0
    for r, (pos, _) in enumerate(ranked, start=1):
        if pos == target or keys & _keys(parties[pos]):
            rank = r
            break
    top = ranked[0][1] if ranked else 0.0
    got = parties[ranked[0][0]].name if ranked else None
    return Outcome(kind, query, parties[target].name, rank, top, got)


def chiptrail_ranker(index: ScreeningIndex, position: dict[str, int]) -> Ranker:
    def rank(q: str, country: str | None) -> list[tuple[int, float]]:
        ms = screen_query(index, Query("q", q, country=country), threshold=0.0, limit=10)
        return [(position[m.party_id], m.score) for m in ms]

    return rank


def logic_v2_ranker(index: ScreeningIndex, parties: Sequence[Party]) -> Ranker:
    """nomenklatura's logic-v2 over the candidates chiptrail's blocking proposes (10 per hit)."""
    from followthemoney import model  # benchmark-only imports
    from nomenklatura.matching import get_algorithm

    algo = get_algorithm("logic-v2")
    assert algo is not None
    config = algo.default_config()
    position = {p.party_id: i for i, p in enumerate(parties)}
    entities: dict[int, object] = {}
    counter = iter(range(10**9))

    def entity(i: int) -> object:
        if i not in entities:
            p = parties[i]
            e = model.make_entity("LegalEntity" if p.schema != "Person" else "Person")
            e.id = f"e{i}"
            e.add("name", p.name)
            e.add("alias", list(p.aliases))
            e.add("country", [c.lower() for c in p.countries])
            entities[i] = e
        return entities[i]

    def rank(q: str, country: str | None) -> list[tuple[int, float]]:
        cands = screen_query(index, Query("q", q, country=country), threshold=0.0, limit=40)
        query = model.make_entity("LegalEntity")
        query.id = f"q{next(counter)}"  # a fresh id each time: logic-v2 caches by entity id
        query.add("name", q)
        if country:
            query.add("country", country.lower())
        scored = [
            (
                position[m.party_id],
                float(algo.compare(query, entity(position[m.party_id]), config).score),
            )  # type: ignore[arg-type]
            for m in cands
        ]
        scored.sort(key=lambda x: -x[1])
        return scored[:10]

    return rank


def alias_fold_indexes(
    parties: list[Party], folds: int, rng: random.Random
) -> list[tuple[list[Party], list[tuple[int, str]]]]:
    pairs = [(i, a) for i, p in enumerate(parties) for a in p.aliases if a != p.name]
    rng.shuffle(pairs)
    out = []
    for k in range(folds):
        fold = pairs[k::folds]
        removed: dict[int, set[str]] = {}
        for i, a in fold:
            removed.setdefault(i, set()).add(a)
        reduced = [
            replace(p, aliases=tuple(a for a in p.aliases if a not in removed.get(i, ())))
            for i, p in enumerate(parties)
        ]
        out.append((reduced, fold))
    return out


def perturb(name: str, rng: random.Random) -> list[tuple[str, str]]:
    words = name.split()
    out = []
    norm = normalise_name(name).split()
    if len(norm) >= 2:
        out.append(("legal form dropped", " ".join(norm)))
        out.append(("words rotated", " ".join(norm[1:] + norm[:1])))
    longest = max(words, key=len)
    if len(longest) >= 6:
        cut = rng.randrange(1, len(longest) - 1)
        out.append(
            ("one letter dropped", name.replace(longest, longest[:cut] + longest[cut + 1 :], 1))
        )
        cut = rng.randrange(1, len(longest) - 2)
        swapped = longest[:cut] + longest[cut + 1] + longest[cut] + longest[cut + 2 :]
        out.append(("two letters swapped", name.replace(longest, swapped, 1)))
    return out


def choose_threshold(negative_tops: Sequence[float]) -> float:
    allowed = int(FP_BUDGET * len(negative_tops))
    for t in _GRID:
        if sum(1 for s in negative_tops if s >= t) <= allowed:
            return t
    return 1.0


def summarise(
    outcomes: Sequence[Outcome], negatives: Sequence[float], t: float
) -> dict[str, object]:
    kinds = sorted({o.kind for o in outcomes})
    per_kind = {}
    for k in kinds:
        sub = [o for o in outcomes if o.kind == k]
        per_kind[k] = {
            "queries": len(sub),
            "recall_at_1_at_threshold": sum(1 for o in sub if o.rank == 1 and o.top_score >= t)
            / len(sub),
            "recall_at_1_any_score": sum(1 for o in sub if o.rank == 1) / len(sub),
            "mrr": sum(1.0 / o.rank for o in sub if o.rank) / len(sub),
        }
    perturbed = [o for o in outcomes if o.kind != "alias removed"]
    return {
        "threshold": t,
        "false_positives": sum(1 for s in negatives if s >= t),
        "negatives": len(negatives),
        "by_kind": per_kind,
        "all_recall_at_1_at_threshold": sum(1 for o in outcomes if o.rank == 1 and o.top_score >= t)
        / len(outcomes),
        "perturbed_recall_at_1_at_threshold": sum(
            1 for o in perturbed if o.rank == 1 and o.top_score >= t
        )
        / max(1, len(perturbed)),
        "all_mrr": sum(1.0 / o.rank for o in outcomes if o.rank) / len(outcomes),
    }


MODES = {"": False, "_with_country": True}
"""Report key suffix -> whether queries carry a country (positives their entry's first listed
country, negatives the company's head-office country)."""


def _report_mode(
    suffix: str,
    ours: list[Outcome],
    theirs: list[Outcome],
    neg_ours: list[tuple[str, list[tuple[int, float]]]],
    neg_theirs: list[list[tuple[int, float]]] | None,
    parties: Sequence[Party],
) -> dict[str, object]:
    neg_top = [r[0][1] if r else 0.0 for _, r in neg_ours]
    t_ours = choose_threshold(neg_top)
    report: dict[str, object] = {
        "chiptrail_at_default": summarise(ours, neg_top, DEFAULT_THRESHOLD),
        "chiptrail_at_budget": summarise(ours, neg_top, t_ours),
        "negatives_scoring_over_0_6": sorted(
            [
                (n, round(r[0][1], 4), parties[r[0][0]].name)
                for n, r in neg_ours
                if r and r[0][1] >= 0.6
            ],
            key=lambda x: -x[1],
        ),
        "miss_examples": [
            {"kind": o.kind, "query": o.query, "target": o.target, "got": o.got}
            for o in [o for o in ours if o.rank != 1][:: max(1, len(ours) // 400)][:15]
        ],
    }
    if neg_theirs is not None:
        their_top = [r[0][1] if r else 0.0 for r in neg_theirs]
        t_theirs = choose_threshold(their_top)
        sampled = {(o.kind, o.query, o.target) for o in theirs}
        ours_sampled = list(
            {
                (o.kind, o.query, o.target): o
                for o in ours
                if (o.kind, o.query, o.target) in sampled
            }.values()
        )
        report["chiptrail_sampled_at_budget"] = summarise(ours_sampled, neg_top, t_ours)
        report["logic_v2_sampled_at_budget"] = summarise(theirs, their_top, t_theirs)
        report["logic_v2_sampled_at_0_70"] = summarise(theirs, their_top, 0.70)
    return {k + suffix: v for k, v in report.items()}


def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(20261205)
    t0 = time.perf_counter()
    parties = load_lists(args.shared)
    negatives = load_negatives()
    modes = {k: v for k, v in MODES.items() if v is False or args.with_country}
    ours: dict[str, list[Outcome]] = {m: [] for m in modes}
    theirs: dict[str, list[Outcome]] = {m: [] for m in modes}
    sample: dict[str, int] = {}

    def take(kind: str) -> bool:
        sample[kind] = sample.get(kind, 0) + 1
        return args.logic_v2 > 0 and sample[kind] <= args.logic_v2

    def query(
        kind: str, q: str, i: int, ps: Sequence[Party], rank: Ranker, other: Ranker | None
    ) -> None:
        sampled = other is not None and take(kind)
        for m, with_country in modes.items():
            cc = entry_country(ps[i]) if with_country else None
            ours[m].append(_outcome(kind, q, i, ps, rank(q, cc)))
            if other is not None and sampled:
                theirs[m].append(_outcome(kind, q, i, ps, other(q, cc)))

    for reduced, fold in alias_fold_indexes(parties, args.folds, rng):
        index = build_index(reduced)
        position = {p.party_id: i for i, p in enumerate(reduced)}
        rank = chiptrail_ranker(index, position)
        other = logic_v2_ranker(index, reduced) if args.logic_v2 else None
        for i, alias in fold:
            if in_split(reduced[i], args.split):
                query("alias removed", alias, i, reduced, rank, other)
    index = build_index(parties)
    position = {p.party_id: i for i, p in enumerate(parties)}
    rank = chiptrail_ranker(index, position)
    other = logic_v2_ranker(index, parties) if args.logic_v2 else None
    queries = [(k, q, i) for i, p in enumerate(parties) for k, q in perturb(p.name, rng)]
    queries = [x for x in queries if in_split(parties[x[2]], args.split)]
    rng.shuffle(queries)
    for kind, q, i in queries:
        query(kind, q, i, parties, rank, other)
    report: dict[str, object] = {
        "entries": len(parties),
        "indexed_name_forms": index.name_count,
        "positives": len(ours[""]),
        "split": args.split,
        "default_threshold": DEFAULT_THRESHOLD,
    }
    if args.logic_v2:
        report["sampled_per_kind"] = args.logic_v2
    for m, with_country in modes.items():
        neg_ours = [(n, rank(n, c if with_country else None)) for n, c in negatives]
        neg_theirs = (
            [other(n, c if with_country else None) for n, c in negatives]
            if other is not None
            else None
        )
        report |= _report_mode(m, ours[m], theirs[m], neg_ours, neg_theirs, parties)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--logic-v2", type=int, default=0, help="positives per kind scored by logic-v2")
    ap.add_argument("--split", choices=["all", "tune", "report"], default="all")
    ap.add_argument(
        "--with-country",
        action="store_true",
        help="also run every query with its country (entry's listed, company's head office)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report = run(args)
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return
    print(
        f"{report['entries']} entries, {report['positives']} positive queries "
        f"(split {report['split']}), {report['seconds']} s"
    )
    for key in (
        f"{name}{suffix}"
        for suffix in MODES
        for name in (
            "chiptrail_at_default",
            "chiptrail_at_budget",
            "chiptrail_sampled_at_budget",
            "logic_v2_sampled_at_budget",
            "logic_v2_sampled_at_0_70",
        )
    ):
        if key not in report:
            continue
        s = report[key]
        assert isinstance(s, dict)
        print(
            f"{key}: threshold {s['threshold']}, FP {s['false_positives']}/{s['negatives']}, "
            f"recall@1 all {s['all_recall_at_1_at_threshold']:.3f}, "
            f"perturbed {s['perturbed_recall_at_1_at_threshold']:.3f}, MRR {s['all_mrr']:.3f}"
        )
        for kind, v in s["by_kind"].items():
            print(
                f"   {kind:22} n={v['queries']:5}  R@1@t {v['recall_at_1_at_threshold']:.3f}  "
                f"R@1 {v['recall_at_1_any_score']:.3f}  MRR {v['mrr']:.3f}"
            )
    for suffix in MODES:
        if f"miss_examples{suffix}" not in report:
            continue
        print(f"negatives scoring >= 0.6{suffix}:", report[f"negatives_scoring_over_0_6{suffix}"])
        print(f"examples of misses{suffix}:")
        for m in report[f"miss_examples{suffix}"]:  # type: ignore[attr-defined]
            print(f"  [{m['kind']}] {m['query']!r} -> got {m['got']!r}, wanted {m['target']!r}")


if __name__ == "__main__":
    main()
