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
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel

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
        self._token_post = {t: tuple(p) for t, p in token_post.items() if len(p) <= max_tok}
        self._gram_post = {g: tuple(p) for g, p in gram_post.items() if len(p) <= max_gram}

    @property
    def name_count(self) -> int:
        """Number of indexed (name, form) entries."""
        return len(self._entries)

    def weight(self, token: str) -> float:
        """IDF weight of a token (unknown tokens weigh as the rarest)."""
        return self._idf.get(token, self._max_idf)

    def candidates(self, forms: Sequence[str]) -> list[int]:
        """Entry indices that share the rarest tokens or the most trigrams with any query form.

        At most ``MAX_CANDIDATES`` by IDF-weighted shared tokens plus as many by shared trigrams.
        """
        by_token: dict[int, float] = {}
        grams: Counter[int] = Counter()
        n_grams = 0
        for form in forms:
            toks = form.split()
            for t in set(toks):
                w = self._idf.get(t, 0.0)
                for j in self._token_post.get(t, ()):
                    by_token[j] = by_token.get(j, 0.0) + w
            qgrams = _grams("".join(toks))
            n_grams = max(n_grams, len(qgrams))
            for g in qgrams:
                grams.update(self._gram_post.get(g, ()))
        found = set(sorted(by_token, key=by_token.__getitem__, reverse=True)[:MAX_CANDIDATES])
        floor = max(2, int(0.3 * n_grams))
        found.update(j for j, c in grams.most_common(MAX_CANDIDATES) if c >= floor)
        return sorted(found)

    def entry_count(self) -> int:
        """Number of entries (for the brute-force baseline)."""
        return len(self._entries)


def build_index(parties: Iterable[Party]) -> ScreeningIndex:
    """Index parties for screening (every name, alias and former name, every normalised form)."""
    return ScreeningIndex(tuple(parties))


def _grams(compact: str) -> set[str]:
    padded = f"^{compact}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _similarity(a: str, b: str) -> float:
    return float(Indel.normalized_similarity(a, b))


def _token_similarity(q: str, c: str) -> float:
    sim = _similarity(q, c)
    # An abbreviation ("info", "ind", "elec") is a prefix of the word it stands for.
    if (
        sim < ABBREVIATION_SIMILARITY
        and min(len(q), len(c)) >= 3
        and (c.startswith(q) or q.startswith(c))
    ):
        return ABBREVIATION_SIMILARITY
    return sim


def score_names(
    index: ScreeningIndex, query_tokens: Sequence[str], cand_tokens: Sequence[str]
) -> _NameScore:
    """Score two tokenised normalised names (see the module docstring)."""
    if not query_tokens or not cand_tokens:
        return _NameScore(0.0, "tokens", ())
    wq = [index.weight(t) for t in query_tokens]
    wc = [index.weight(t) for t in cand_tokens]
    sims = sorted(
        (
            (_token_similarity(q, c), i, j)
            for i, q in enumerate(query_tokens)
            for j, c in enumerate(cand_tokens)
        ),
        reverse=True,
    )
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[TokenPair] = []
    gained = 0.0
    for sim, i, j in sims:
        if sim < TOKEN_MIN_SIMILARITY:
            break
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        gained += sim * (wq[i] + wc[j])
        pairs.append(TokenPair(query_tokens[i], cand_tokens[j], round(sim, 4)))
    token_score = gained / (sum(wq) + sum(wc))
    compact_score = _similarity("".join(query_tokens), "".join(cand_tokens))
    if compact_score >= COMPACT_MIN_SIMILARITY and compact_score > token_score:
        return _NameScore(compact_score, "compact", tuple(pairs))
    return _NameScore(token_score, "tokens", tuple(pairs))


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
    index: ScreeningIndex, query: Query, entry_ids: Iterable[int], floor: float
) -> list[tuple[float, int, str]]:
    forms = [tuple(f.split()) for f in name_forms(query.name)]
    best: dict[int, tuple[float, int, str]] = {}
    for j in entry_ids:
        e = index._entries[j]
        for qt in forms:
            s = score_names(index, qt, e.tokens).score
            if s >= floor - COUNTRY_MATCH_BONUS - ADDRESS_BONUS and (
                e.party not in best or s > best[e.party][0]
            ):
                best[e.party] = (s, j, " ".join(qt))
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
    ids: Iterable[int] = range(len(index._entries)) if brute_force else index.candidates(forms)
    hits = _best_per_party(index, query, ids, threshold)
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
