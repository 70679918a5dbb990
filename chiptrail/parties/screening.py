"""Restricted-party screening: an inverted index over list names, fuzzy scoring, explained matches.

No I/O: callers pass parties (already parsed) and queries; results are frozen values.

Scoring (docs/screening.md): every name is normalised (``normalise.name_forms``); the name score is
the larger of (a) an IDF-weighted soft Dice over tokens, order-insensitive, where two tokens pair
when their rapidfuzz ratio is at least ``TOKEN_MIN_SIMILARITY``, and (b) the rapidfuzz ratio of the
names with spaces removed (catches "Hua Wei" vs "Huawei", pinyin split differently). Country and
address, when the query carries them, move the score by small fixed amounts. Blocking: candidates
share a rare token or enough character trigrams with the query; a brute-force path scores every
name with the same function (the baseline the index is measured against).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from rapidfuzz.distance import Indel, Prefix
from rapidfuzz.process import cdist

from chiptrail.parties.model import Party
from chiptrail.parties.normalise import name_forms, normalise_name
from chiptrail.types import PartyId

DEFAULT_THRESHOLD = 0.88
"""Scores at or above this are matches (precision/recall trade-off: docs/screening.md)."""

TOKEN_MIN_SIMILARITY = 0.8
COUNTRY_MATCH_BONUS = 0.03
COUNTRY_MISMATCH_PENALTY = 0.08
ADDRESS_BONUS = 0.03
ABBREVIATION_SIMILARITY = 0.85
SOLID_SIMILARITY = 0.9
UNANCHORED_FACTOR = 0.85
COMPACT_MIN_SIMILARITY = 0.9
MAX_CANDIDATES = 40
_COMMON_TOKEN_SHARE = 0.02
_COMMON_GRAM_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Query:
    """One name to screen; ``country`` (ISO2) and ``address`` are supporting evidence."""

    query_id: str
    name: str
    country: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature's contribution to a score, with the strings it compared."""

    feature: str
    score: float
    detail: str


@dataclass(frozen=True, slots=True)
class TokenPair:
    """A query token paired with a list-name token, and their similarity in [0, 1]."""

    query_token: str
    candidate_token: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Match:
    """A list entry that resembles the query, with the evidence.

    Attributes:
        party_id: the matched list entry.
        list_id: the list it is on.
        score: final score in [0, 1].
        matched_name: the entry's name or alias as published.
        name_kind: ``name``, ``alias`` or ``previous_name``.
        query_form: the normalised query form that matched.
        candidate_form: the normalised form of ``matched_name``.
        method: ``tokens`` (weighted token pairing) or ``compact`` (spaces removed).
        tokens: the token pairs that matched.
        features: name, country and address contributions.
    """

    party_id: PartyId
    list_id: str | None
    score: float
    matched_name: str
    name_kind: str
    query_form: str
    candidate_form: str
    method: str
    tokens: tuple[TokenPair, ...]
    features: tuple[Feature, ...]

    @property
    def explanation(self) -> str:
        """One sentence a compliance analyst can read."""
        parts = [f"{f.feature} {f.score:+.2f} ({f.detail})" for f in self.features]
        return f"score {self.score:.2f}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Entry:
    party: int
    name: str
    kind: str
    form: str
    tokens: tuple[str, ...]
    compact: str
    weights: tuple[float, ...] = ()
    weight_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class _NameScore:
    score: float
    method: str
    pairs: tuple[TokenPair, ...]


class ScreeningIndex:
    """Parties with every name form indexed by token and by character trigram.

    Build once (``build_index``), query many times; immutable after construction.
    """

    __slots__ = ("_entries", "_gram_post", "_idf", "_max_idf", "_token_post", "parties")

    def __init__(self, parties: Sequence[Party]) -> None:
        self.parties: tuple[Party, ...] = tuple(parties)
        entries: list[_Entry] = []
        for i, party in enumerate(self.parties):
            kinds = {party.name: "name"}
            kinds.update({a: "alias" for a in party.aliases if a not in kinds})
            kinds.update({p: "previous_name" for p in party.previous_names if p not in kinds})
            for name, kind in kinds.items():
                for form in name_forms(name):
                    toks = tuple(form.split())
                    entries.append(_Entry(i, name, kind, form, toks, "".join(toks)))
        self._entries: tuple[_Entry, ...] = tuple(entries)
        token_post: dict[str, list[int]] = {}
        gram_post: dict[str, list[int]] = {}
        for j, e in enumerate(entries):
            for t in set(e.tokens):
                token_post.setdefault(t, []).append(j)
            for g in _grams(e.compact):
                gram_post.setdefault(g, []).append(j)
        n = max(len(entries), 1)
        self._idf = {t: math.log(1.0 + n / len(p)) for t, p in token_post.items()}
        self._max_idf = math.log(1.0 + n)
        max_tok, max_gram = (
            max(50, int(n * _COMMON_TOKEN_SHARE)),
            max(50, int(n * _COMMON_GRAM_SHARE)),
        )
        self._token_post = {
            t: np.array(p, dtype=np.int64) for t, p in token_post.items() if len(p) <= max_tok
        }
        weighted = []
        for e in entries:
            ws = tuple(self._idf[t] for t in e.tokens)
            weighted.append(replace(e, weights=ws, weight_sum=sum(ws)))
        self._entries = tuple(weighted)
        self._gram_post = {
            g: np.array(p, dtype=np.int64) for g, p in gram_post.items() if len(p) <= max_gram
        }

    @property
    def name_count(self) -> int:
        """Number of indexed (name, form) entries."""
        return len(self._entries)

    def weight(self, token: str) -> float:
        """IDF weight of a token (unknown tokens weigh as the rarest)."""
        return self._idf.get(token, self._max_idf)

    def candidates(self, forms: Sequence[str]) -> list[int]:
        """Entry indices that share the rarest tokens or the most trigrams with any query form.

        At most ``MAX_CANDIDATES`` by IDF-weighted shared tokens plus as many by shared trigrams
        (trigrams of the name with spaces removed, so "hua wei" finds "huawei").
        """
        n = len(self._entries)
        by_token = np.zeros(n)
        by_gram = np.zeros(n)
        n_grams = 0
        for form in forms:
            toks = form.split()
            posts = [
                (self._token_post[t], self._idf[t]) for t in set(toks) if t in self._token_post
            ]
            if posts:
                ids = np.concatenate([p for p, _ in posts])
                weights = np.concatenate([np.full(len(p), w) for p, w in posts])
                by_token += np.bincount(ids, weights=weights, minlength=n)
            qgrams = _grams("".join(toks))
            n_grams = max(n_grams, len(qgrams))
            gram_posts = [self._gram_post[g] for g in qgrams if g in self._gram_post]
            if gram_posts:
                by_gram += np.bincount(np.concatenate(gram_posts), minlength=n)
        floor = max(2, int(0.3 * n_grams))
        found = set(_top(by_token, MAX_CANDIDATES, 0.0)) | set(_top(by_gram, MAX_CANDIDATES, floor))
        return sorted(found)

    def entry_count(self) -> int:
        """Number of entries (for the brute-force baseline)."""
        return len(self._entries)


def _top(scores: NDArray[np.float64], k: int, floor: float) -> list[int]:
    """Indices of the ``k`` largest scores at or above ``floor`` and above 0 (any order)."""
    idx = np.flatnonzero(scores >= max(floor, 1e-12))
    if len(idx) > k:
        idx = idx[np.argpartition(-scores[idx], k)[:k]]
    return [int(i) for i in idx]


def build_index(parties: Iterable[Party]) -> ScreeningIndex:
    """Index parties for screening (every name, alias and former name, every normalised form)."""
    return ScreeningIndex(tuple(parties))


def _grams(compact: str) -> set[str]:
    padded = f"^{compact}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _similarity(a: str, b: str) -> float:
    return float(Indel.normalized_similarity(a, b))


_PairTable = dict[str, list[tuple[int, float]]]
"""candidate token -> [(query token position, similarity >= TOKEN_MIN_SIMILARITY)]."""


def _pair_table(query_tokens: Sequence[str], cand_tokens: Sequence[str]) -> _PairTable:
    """Similarities of every query token to every candidate token, in two rapidfuzz calls.

    A pair counts when its Indel similarity is at least ``TOKEN_MIN_SIMILARITY``, or when one token
    is a prefix (3+ letters) of the other: an abbreviation ("info", "ind"), credited
    ``ABBREVIATION_SIMILARITY``.
    """
    table: _PairTable = {}
    if not query_tokens or not cand_tokens:
        return table
    sims = cdist(query_tokens, cand_tokens, scorer=Indel.normalized_similarity, dtype=np.float32)
    prefix = cdist(query_tokens, cand_tokens, scorer=Prefix.similarity, dtype=np.int32)
    qlen = np.array([len(t) for t in query_tokens])[:, None]
    clen = np.array([len(t) for t in cand_tokens])[None, :]
    shorter = np.minimum(qlen, clen)
    abbrev = (prefix == shorter) & (shorter >= 3)
    best = np.where(abbrev, np.maximum(sims, ABBREVIATION_SIMILARITY), sims)
    for i, j in zip(*np.nonzero(best >= TOKEN_MIN_SIMILARITY - 1e-6), strict=True):
        table.setdefault(cand_tokens[j], []).append((int(i), round(float(best[i, j]), 4)))
    return table


def _score(
    query_tokens: Sequence[str],
    query_weights: Sequence[float],
    entry: _Entry,
    table: _PairTable,
    compact_sim: float,
) -> tuple[float, str, tuple[tuple[int, int, float], ...]]:
    """The name score of one entry: (score, method, pairs as (query pos, entry pos, similarity))."""
    sims: list[tuple[float, int, int]] = []
    for j, c in enumerate(entry.tokens):
        found = table.get(c)
        if found:
            sims.extend((sim, i, j) for i, sim in found)
    if len(sims) > 1:
        sims.sort(reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    gained = 0.0
    for sim, i, j in sims:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        gained += sim * (query_weights[i] + entry.weights[j])
        pairs.append((i, j, sim))
    if pairs and all(sim < SOLID_SIMILARITY for _, _, sim in pairs):
        # Only abbreviations or fuzzy pairs ("intel" ~ "intellifusion"): no solid anchor.
        gained *= UNANCHORED_FACTOR
    total = sum(query_weights) + entry.weight_sum
    token_score = gained / total if total else 0.0
    # Spaces removed only help when words are split or joined differently on both sides; when all
    # words of one side already pair solidly, an extra word on the other side must cost.
    solid = [(i, j) for i, j, sim in pairs if sim >= SOLID_SIMILARITY]
    resegmented = len(solid) < len(query_tokens) and len(solid) < len(entry.tokens)
    if resegmented and compact_sim >= COMPACT_MIN_SIMILARITY and compact_sim > token_score:
        return compact_sim, "compact", tuple(pairs)
    return token_score, "tokens", tuple(pairs)


def score_names(
    index: ScreeningIndex, query_tokens: Sequence[str], cand_tokens: Sequence[str]
) -> _NameScore:
    """Score two tokenised normalised names (see the module docstring); the slow, single form."""
    if not query_tokens or not cand_tokens:
        return _NameScore(0.0, "tokens", ())
    ws = tuple(index.weight(t) for t in cand_tokens)
    entry = _Entry(-1, "", "", "", tuple(cand_tokens), "".join(cand_tokens), ws, sum(ws))
    table = _pair_table(query_tokens, sorted(set(cand_tokens)))
    compact = _similarity("".join(query_tokens), entry.compact)
    wq = [index.weight(t) for t in query_tokens]
    score, method, pairs = _score(query_tokens, wq, entry, table, compact)
    return _NameScore(
        score,
        method,
        tuple(TokenPair(query_tokens[i], cand_tokens[j], sim) for i, j, sim in pairs),
    )


def _features(
    index: ScreeningIndex, query: Query, party: Party, name_score: float, detail: str
) -> tuple[float, tuple[Feature, ...]]:
    feats = [Feature("name", name_score, detail)]
    total = name_score
    if query.country and party.countries:
        if query.country in party.countries:
            feats.append(Feature("country", COUNTRY_MATCH_BONUS, f"{query.country} listed"))
            total += COUNTRY_MATCH_BONUS
        else:
            listed = ",".join(party.countries)
            feats.append(
                Feature("country", -COUNTRY_MISMATCH_PENALTY, f"{query.country} not in {listed}")
            )
            total -= COUNTRY_MISMATCH_PENALTY
    if query.address and party.addresses:
        q = set(normalise_name(query.address).split())
        best = max(
            len(q & set(normalise_name(a).split())) / max(len(q), 1) for a in party.addresses
        )
        if best >= 0.5:
            feats.append(Feature("address", ADDRESS_BONUS, f"{best:.0%} of address words listed"))
            total += ADDRESS_BONUS
    return min(1.0, max(0.0, total)), tuple(feats)


def _best_per_party(
    index: ScreeningIndex, query: Query, entry_ids: Sequence[int], floor: float
) -> list[tuple[float, int, str]]:
    """Best raw name score per party over the given entries: (score, entry index, query form)."""
    entries = [index._entries[j] for j in entry_ids]
    if not entries:
        return []
    cand_tokens = sorted({t for e in entries for t in e.tokens})
    compacts = [e.compact for e in entries]
    best: dict[int, tuple[float, int, str]] = {}
    cutoff = floor - COUNTRY_MATCH_BONUS - ADDRESS_BONUS
    for form in name_forms(query.name):
        qt = form.split()
        wq = [index.weight(t) for t in qt]
        table = _pair_table(qt, cand_tokens)
        compact = cdist(["".join(qt)], compacts, scorer=Indel.normalized_similarity)[0]
        for k, e in enumerate(entries):
            c = float(compact[k])
            if c < COMPACT_MIN_SIMILARITY and not any(t in table for t in e.tokens):
                continue  # nothing pairs: the score is 0
            s = _score(qt, wq, e, table, c)[0]
            if s >= cutoff and (e.party not in best or s > best[e.party][0]):
                best[e.party] = (s, entry_ids[k], form)
    return list(best.values())


def _explain(index: ScreeningIndex, query: Query, hit: tuple[float, int, str]) -> Match:
    _, j, qform = hit
    e = index._entries[j]
    party = index.parties[e.party]
    ns = score_names(index, qform.split(), e.tokens)
    detail = f"query {qform!r} ~ {e.kind} {e.name!r} ({e.form!r}) by {ns.method}"
    score, feats = _features(index, query, party, ns.score, detail)
    return Match(
        party_id=party.party_id,
        list_id=party.list_id,
        score=round(score, 4),
        matched_name=e.name,
        name_kind=e.kind,
        query_form=qform,
        candidate_form=e.form,
        method=ns.method,
        tokens=ns.pairs,
        features=feats,
    )


def screen_query(
    index: ScreeningIndex,
    query: Query,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
    brute_force: bool = False,
) -> list[Match]:
    """Screen one name: the best-scoring list entries at or above ``threshold``, best first.

    Args:
        index: the indexed lists.
        query: name plus optional country (ISO2) and address.
        threshold: minimum final score in [0, 1].
        limit: at most this many matches (one per party).
        brute_force: score every indexed name instead of the blocked candidates (baseline).

    Returns:
        Matches sorted by score (ties by party id), each with its explanation.
    """
    forms = name_forms(query.name)
    if not forms:
        return []
    ids = range(len(index._entries)) if brute_force else index.candidates(forms)
    hits = _best_per_party(index, query, list(ids), threshold)
    # Supporting evidence moves a score by at most the bonuses: explain only what can make the cut.
    hits.sort(key=lambda h: -h[0])
    if len(hits) > limit:
        swing = (COUNTRY_MISMATCH_PENALTY + COUNTRY_MATCH_BONUS if query.country else 0.0) + (
            ADDRESS_BONUS if query.address else 0.0
        )
        margin = hits[limit - 1][0] - swing
        hits = [h for h in hits if h[0] >= margin]
    matches = [_explain(index, query, h) for h in hits]
    kept = [m for m in matches if m.score >= threshold]
    kept.sort(key=lambda m: (-m.score, m.party_id))
    return kept[:limit]


def screen_queries(
    index: ScreeningIndex,
    queries: Iterable[Query],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
    brute_force: bool = False,
) -> list[tuple[Query, list[Match]]]:
    """Screen many names (see ``screen_query``); results keep the query order."""
    return [
        (q, screen_query(index, q, threshold=threshold, limit=limit, brute_force=brute_force))
        for q in queries
    ]
