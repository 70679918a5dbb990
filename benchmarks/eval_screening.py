"""Screening accuracy on the real 2026 US lists (shared/data/screening): recall@1, false positives.

Positives: every alias of every entry, queried against the lists with that alias removed (5 folds:
each fold's aliases are removed together, the index rebuilt, and each removed alias queried); the
entry must come first. Also alternate spellings of primary names (legal form dropped, words
swapped, one letter dropped) against the full lists. Negatives: ordinary companies checked by hand
not to be on any of the lists (``NEGATIVES``). Prints a threshold table and examples of misses.

Usage: python benchmarks/eval_screening.py [--shared /work/shared] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

from chiptrail.parties.formats.nsfreg import parse_nsfreg
from chiptrail.parties.model import Party
from chiptrail.parties.normalise import normalise_name
from chiptrail.parties.screening import DEFAULT_THRESHOLD, Query, build_index, screen_query

# Hand-checked: none of these is on any of the 13 list files (checked by name and by screening at
# 0.70 and reading each candidate). Alibaba, Tencent, Baidu, BYD, CATL *are* listed (Sec. 1260H,
# 2026) and so are not here.
NEGATIVES = """
Apple Inc.|Microsoft Corporation|Alphabet Inc.|Google LLC|Amazon.com, Inc.|Meta Platforms, Inc.
NVIDIA Corporation|Advanced Micro Devices, Inc.|Intel Corporation
Taiwan Semiconductor Manufacturing Company Limited|Samsung Electronics Co., Ltd.|SK hynix Inc.
Micron Technology, Inc.|Sony Group Corporation|Toyota Motor Corporation|Siemens AG
Robert Bosch GmbH|ASML Holding N.V.|SAP SE|Oracle Corporation
International Business Machines Corporation|Cisco Systems, Inc.|Dell Technologies Inc.|HP Inc.
Hewlett Packard Enterprise Company|Super Micro Computer, Inc.|Hon Hai Precision Industry Co., Ltd.
Quanta Computer Inc.|Wistron Corporation|Arm Holdings plc|Qualcomm Incorporated|Broadcom Inc.
Texas Instruments Incorporated|Applied Materials, Inc.|Lam Research Corporation|KLA Corporation
Tokyo Electron Limited|Nokia Oyj|Telefonaktiebolaget LM Ericsson|Volkswagen AG
Bayerische Motoren Werke AG|Mercedes-Benz Group AG|Nestle S.A.|Unilever PLC|Shell plc|BP p.l.c.
TotalEnergies SE|JPMorgan Chase & Co.|The Goldman Sachs Group, Inc.|HSBC Holdings plc|DBS Bank Ltd.
Singapore Telecommunications Limited|Petroliam Nasional Berhad|Malayan Banking Berhad
Grab Holdings Limited|Sea Limited|Equinix, Inc.|Digital Realty Trust, Inc.|CoreWeave, Inc.
Lambda, Inc.|OpenAI OpCo, LLC|Anthropic PBC|Walmart Inc.|The Coca-Cola Company|Pfizer Inc.
Johnson & Johnson|The Procter & Gamble Company|Xiaomi Corporation|小米科技有限责任公司
Lenovo Group Limited|联想集团|JD.com, Inc.|京东集团|YTL Power International Berhad
Megaspeed International Pte. Ltd.|Foxconn Industrial Internet Co., Ltd.|Accton Technology Corp.
"""


def load_lists(shared: Path) -> list[Party]:
    parties: list[Party] = []
    for f in sorted((shared / "data" / "screening").glob("*.json")):
        if f.name != "lists.json":
            parties += parse_nsfreg(f.read_bytes()).parties
    return parties


def _same_entity(a: Party, b: Party) -> bool:
    """The same organisation listed on another list (or under another country) counts as a hit."""
    names_a = {normalise_name(n) for n in a.all_names}
    return bool(names_a & {normalise_name(n) for n in b.all_names})


def alias_queries(parties: list[Party], folds: int, rng: random.Random) -> list[dict[str, object]]:
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
        index = build_index(reduced)
        by_id = {p.party_id: n for n, p in enumerate(reduced)}
        for i, a in fold:
            target = reduced[i]
            top = screen_query(index, Query("q", a), threshold=0.0, limit=5)
            best = top[0].score if top else 0.0
            winners = [m for m in top if m.score == best]
            hit = any(m.party_id == target.party_id for m in winners)
            same = any(_same_entity(target, reduced[by_id[m.party_id]]) for m in winners)
            score = next((m.score for m in top if m.party_id == target.party_id), 0.0)
            out.append(
                {
                    "kind": "alias removed",
                    "query": a,
                    "target": target.name,
                    "hit": hit or same,
                    "score": score if hit else (best if same else score),
                    "got": top[0].matched_name if top else None,
                }
            )
    return out


def _variants(name: str, rng: random.Random) -> list[tuple[str, str]]:
    words = name.split()
    out = []
    norm = normalise_name(name).split()
    if len(norm) >= 2:
        out.append(("legal form dropped", " ".join(norm)))
        swapped = norm[1:] + norm[:1]
        out.append(("words rotated", " ".join(swapped)))
    longest = max(words, key=len)
    if len(longest) >= 6:
        cut = rng.randrange(1, len(longest) - 1)
        typo = longest[:cut] + longest[cut + 1 :]
        out.append(("one letter dropped", name.replace(longest, typo, 1)))
    return out


def spelling_queries(parties: list[Party], rng: random.Random) -> list[dict[str, object]]:
    index = build_index(parties)
    position = {p.party_id: n for n, p in enumerate(parties)}
    out = []
    for p in parties:
        for kind, q in _variants(p.name, rng):
            top = screen_query(index, Query("q", q), threshold=0.0, limit=5)
            best = top[0].score if top else 0.0
            winners = [m for m in top if m.score == best]
            hit = any(
                m.party_id == p.party_id or _same_entity(p, parties[position[m.party_id]])
                for m in winners
            )
            score = next((m.score for m in top if m.party_id == p.party_id), best if hit else 0.0)
            out.append(
                {
                    "kind": kind,
                    "query": q,
                    "target": p.name,
                    "hit": hit,
                    "score": score,
                    "got": top[0].matched_name if top else None,
                }
            )
    return out


def negative_scores(parties: list[Party]) -> list[tuple[str, float, str | None]]:
    index = build_index(parties)
    names = [n.strip() for line in NEGATIVES.strip().splitlines() for n in line.split("|")]
    out = []
    for n in names:
        top = screen_query(index, Query("q", n), threshold=0.0, limit=1)
        out.append((n, top[0].score if top else 0.0, top[0].matched_name if top else None))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("/work/shared"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(20261125)
    t0 = time.perf_counter()
    parties = load_lists(args.shared)
    positives = alias_queries(parties, args.folds, rng) + spelling_queries(parties, rng)
    negatives = negative_scores(parties)
    elapsed = time.perf_counter() - t0
    thresholds = [0.75, 0.80, 0.85, 0.88, 0.90, 0.95]
    table = []
    for t in thresholds:
        row: dict[str, object] = {"threshold": t}
        for kind in sorted({str(p["kind"]) for p in positives}):
            sub = [p for p in positives if p["kind"] == kind]
            row[kind] = sum(1 for p in sub if p["hit"] and float(p["score"]) >= t) / len(sub)  # type: ignore[arg-type]
        row["false_positive_rate"] = sum(1 for _, s, _ in negatives if s >= t) / len(negatives)
        table.append(row)
    by_kind = {}
    for kind in sorted({str(p["kind"]) for p in positives}):
        sub = [p for p in positives if p["kind"] == kind]
        by_kind[kind] = {
            "queries": len(sub),
            "recall_at_1": sum(1 for p in sub if p["hit"]) / len(sub),
        }
    misses = [p for p in positives if not p["hit"]]
    report = {
        "entries": len(parties),
        "positives": len(positives),
        "negatives": len(negatives),
        "recall_at_1_any_score": by_kind,
        "threshold_table": table,
        "default_threshold": DEFAULT_THRESHOLD,
        "negatives_over_0_75": [(n, s, m) for n, s, m in negatives if s >= 0.75],
        "miss_examples": [
            {k: p[k] for k in ("kind", "query", "target", "got")}
            for p in misses[:: max(1, len(misses) // 15)][:15]
        ],
        "seconds": round(elapsed, 1),
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return
    print(
        f"{report['entries']} entries, {report['positives']} positive and "
        f"{report['negatives']} negative queries, {elapsed:.0f} s"
    )
    for kind, v in by_kind.items():
        print(f"  recall@1 {kind:20} {v['recall_at_1']:.3f} ({v['queries']} queries)")
    kinds = list(by_kind)
    print("threshold  " + "  ".join(f"{k[:14]:>14}" for k in kinds) + "  FP rate")
    for row in table:
        cells = "  ".join(f"{float(row[k]):14.3f}" for k in kinds)  # type: ignore[arg-type]
        print(f"{float(row['threshold']):9.2f}  {cells}  {float(row['false_positive_rate']):.3f}")  # type: ignore[arg-type]
    print("negatives scoring >= 0.75:", report["negatives_over_0_75"])
    print("examples of misses:")
    for m in report["miss_examples"]:  # type: ignore[union-attr]
        print(f"  [{m['kind']}] {m['query']!r} -> got {m['got']!r}, wanted {m['target']!r}")


if __name__ == "__main__":
    main()
