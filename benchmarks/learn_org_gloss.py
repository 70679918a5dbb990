"""Learn a Russian -> English organisation-word gloss from the lists' own entries (tune half only).

Writes ``chiptrail/parties/data/org_words_learned.json``, read by ``chiptrail/parties/normalise.py``
beside the hand-written ``org_words.json`` (which wins where both gloss a word). The lists write
many Russian entries twice, transliterated and in English ("Zavolzhskiy Zavod Gusenichnikh
Tyagachey" / "Zavolzhskiy Plant of Caterpillar Tractors"); within one entry the words its two
names share (the proper names) are paired and set aside, and the words left over on each side are
candidate translations of each other.

Method (only entries of the tune split of ``benchmarks/eval_screening.py``: id hash even):
1. English words: those in the names of at least ``MIN_ENGLISH`` tune entries listed for a country
   and none of the former Soviet Union, and the English of ``org_words.json``; transliterated
   words: words of 6+ letters (shorter ones are mostly acronyms: TsNII) in entries of a
   former-Soviet country, in no other entry, spelt as Russian transliterations are (kh, zh, shch,
   yy, iy, ii, or a Russian ending: -ogo, -ykh, -ov, -nyy, -aya, -oe ...).
2. For every pair of names of one entry (normalised, known organisation words already glossed),
   words pairing across (the same, or Indel similarity >= 0.8) are removed; of what is left, each
   transliterated word on one side co-occurs with each English word on the other (counted once
   per entry), when each side has at most ``MAX_LEFT`` words left.
3. Transliterated words are counted by their stem (``normalise.ru_stem``: one case or gender
   ending off, so "kosmicheskie" and "kosmicheskiy" count together). Association: Dice =
   2 c(a, b) / (c(a) + c(b)), c counting entries. Competitive linking: pairs taken best Dice first
   (then count), each stem glossed once, kept when seen in ``MIN_ENTRIES`` or more entries and
   Dice >= ``MIN_DICE``. Stems the hand-written glosses already cover are left out.

Usage: python benchmarks/learn_org_gloss.py [--shared ../shared] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

from rapidfuzz.distance import Indel

from chiptrail.parties.model import Party
from chiptrail.parties.normalise import load_org_words, name_forms, ru_stem

sys.path.insert(0, str(Path(__file__).parent))
from eval_screening import in_split, load_lists

OUT = Path(__file__).resolve().parents[1] / "chiptrail" / "parties" / "data"
OUT_FILE = OUT / "org_words_learned.json"
FORMER_SOVIET = frozenset(
    {"RU", "BY", "UA", "KZ", "UZ", "AM", "AZ", "GE", "KG", "TJ", "TM", "MD", "EE", "LV", "LT"}
)
MIN_ENGLISH = 2
RUSSIAN_SPELLING = re.compile(
    r"kh|zh|shch|yy|iy|ii|^ts|(ogo|ykh|ikh|aya|oye|oe|ov|ev|nyy|nyi|ny|nye|ye|ya|yu|iya|ie|"
    r"stvo|skiy|sky|skii|ski|oi|oy|ei|ey|yi|nii|niy|ykh|ym|im|om|ami|yam|ya)$"
)
MAX_LEFT = 6
MIN_ENTRIES = 3
MIN_DICE = 0.5
PAIR_SIMILARITY = 0.8
HAND_WORDS, HAND_STEMS = load_org_words(("org_words.json",))
"""The hand-written glosses only: what is learned never feeds the next run."""


def _words(name: str) -> list[str]:
    """The name's normalised words, hand-glossed (known Russian words and their case forms)."""
    out: list[str] = []
    for w in name_forms(name)[0].split():
        if w.isalpha():
            out.extend(HAND_WORDS.get(w) or HAND_STEMS.get(ru_stem(w)) or (w,))
    return out


def _left_over(a: list[str], b: list[str]) -> tuple[set[str], set[str]]:
    """Words of each side that pair with no word of the other."""
    la = {x for x in a if not any(Indel.normalized_similarity(x, y) >= PAIR_SIMILARITY for y in b)}
    lb = {y for y in b if not any(Indel.normalized_similarity(x, y) >= PAIR_SIMILARITY for x in a)}
    return la, lb


def learn(parties: list[Party]) -> dict[str, dict[str, float | int | str]]:
    """Russian stem -> {"gloss", "entries", "dice"} from ``parties`` (the tune half)."""
    english: Counter[str] = Counter()
    soviet: set[str] = set()
    for p in parties:
        words = {w for n in p.all_names for w in _words(n)}
        if set(p.countries) & FORMER_SOVIET:
            soviet |= words
        elif p.countries:
            english.update(words)
    is_en = {w for w, c in english.items() if c >= MIN_ENGLISH}
    is_en |= {w for gloss in HAND_WORDS.values() for w in gloss}
    is_ru = {
        w
        for w in soviet - set(english) - is_en
        if len(w) >= 6 and RUSSIAN_SPELLING.search(w) and ru_stem(w) not in HAND_STEMS
    }
    pair: Counter[tuple[str, str]] = Counter()
    ca: Counter[str] = Counter()
    cb: Counter[str] = Counter()
    for p in parties:
        names = [_words(n) for n in dict.fromkeys(p.all_names)]
        seen: set[tuple[str, str]] = set()
        sa: set[str] = set()
        sb: set[str] = set()
        for x, y in combinations(names, 2):
            lx, ly = _left_over(x, y)
            if not lx or not ly or len(lx) > MAX_LEFT or len(ly) > MAX_LEFT:
                continue
            for src, dst in ((lx, ly), (ly, lx)):
                ru = src & is_ru
                en = {w for w in dst if w in is_en}
                if ru and en:
                    stems = {ru_stem(w) for w in ru}
                    sa |= stems
                    sb |= en
                    seen |= {(a, b) for a in stems for b in en}
        pair.update(seen)
        ca.update(sa)
        cb.update(sb)
    scored = sorted(
        ((2 * c / (ca[a] + cb[b]), c, a, b) for (a, b), c in pair.items()),
        key=lambda x: (-x[0], -x[1], x[2], x[3]),
    )
    out: dict[str, dict[str, float | int | str]] = {}
    for dice, c, a, b in scored:
        if a in out or c < MIN_ENTRIES or dice < MIN_DICE:
            continue
        out[a] = {"gloss": b, "entries": c, "dice": round(dice, 3)}
    return dict(sorted(out.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--dry-run", action="store_true", help="print the gloss, write nothing")
    args = ap.parse_args()
    tune = [p for p in load_lists(args.shared) if in_split(p, "tune")]
    learned = learn(tune)
    for a, v in learned.items():
        print(f"{a:28} {v['gloss']:20} entries {v['entries']:3}  dice {v['dice']}")
    print(f"{len(learned)} words from {len(tune)} tune-split entries", file=sys.stderr)
    if args.dry_run:
        return
    doc = {
        "about": (
            "Stems of transliterated Russian organisation words glossed in English, learned from "
            "the lists' own entries; read by chiptrail/parties/normalise.py after org_words.json, "
            "which wins where both gloss a word."
        ),
        "ru_learned": {
            "source": (
                "The 13 US lists of the 2026 snapshot (shared/data/screening), entries of the "
                "tune split of benchmarks/eval_screening.py only (sha256 of the entry id, first "
                "byte even), names of one entry written transliterated and in English."
            ),
            "method": (__doc__ or "").split("Method", 1)[1].split("Usage:")[0].strip(),
            "stems": {a: str(v["gloss"]) for a, v in learned.items()},
            "evidence": {a: [v["entries"], v["dice"]] for a, v in learned.items()},
        },
    }
    OUT_FILE.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
