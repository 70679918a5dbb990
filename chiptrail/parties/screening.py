"""Restricted-party screening: an inverted index over list names, ranked scores, explained matches.

No I/O: callers pass parties (already parsed) and queries; results are frozen values. The index
serialises to bytes (``ScreeningIndex.to_bytes``) that ``service.parties.lists`` stores at
``lists load``, so screening one name does not rebuild it.

Scoring (docs/screening.md): every name is normalised (``normalise.name_forms``); the name score is
an IDF-weighted soft Dice over tokens, order-insensitive, where two tokens pair when their rapidfuzz
similarity is at least ``TOKEN_MIN_SIMILARITY`` (numbers pair only when equal); words left over on
the query side cost more than words left over on the list side (list names carry cities and
departments), and less still when one name lies inside the other, anchored by a distinctive word
spelt the same. A word that is the initials of consecutive words on the other side pairs with
them ("pkb" ~ "proyektno konstruktorskoe byuro"); names' initials are posted. Penalties: numbers
that differ, and a distinctive word on each side that pairs with nothing (another entity of the
same group). When words are split differently ("Hua Wei"), the
names with spaces removed are compared instead. Country, identifiers and address, when the query
carries them, move the score by fixed amounts. Ties are broken by evidence: supporting features,
the primary name before an alias, then the richer entry. Scores are float64 from ranking to output.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from rapidfuzz.distance.Indel import normalized_similarity as _indel

from chiptrail.errors import InvalidInput
from chiptrail.parties.model import Party
from chiptrail.parties.normalise import (
    LEGAL_FORMS,
    ascii_words,
    metaphone,
    name_forms,
    normalise_name,
    remove_org_types,
)
from chiptrail.parties.packed import ByteSource, Packed, pack, sorted_keys
from chiptrail.parties.zh_readings import (
    LIBRARIES,
    PHRASE_MAX,
    Readings,
    build_tables,
    library_stamp,
)
from chiptrail.types import PartyId

DEFAULT_THRESHOLD = 0.90
"""Scores at or above this are matches; set by ``benchmarks/eval_screening.py`` from a budget of at
most 1 false positive per 100 unlisted companies (docs/screening.md)."""

TOKEN_MIN_SIMILARITY = 0.8
EXTRA_QUERY_WEIGHT = 0.7
"""Share of an unpaired query word's weight that counts against the score."""
EXTRA_CANDIDATE_WEIGHT = 0.6
"""Share of an unpaired list-name word's weight that counts against the score (list names carry
cities, departments and legal descriptions a query often leaves out)."""
CONTAINED_CANDIDATE_WEIGHT = 0.25
"""``EXTRA_CANDIDATE_WEIGHT`` when every query word pairs solidly and one of them is distinctive
and spelt the same (the query is the list name with words left out)."""
CONTAINED_QUERY_WEIGHT = 0.3
"""``EXTRA_QUERY_WEIGHT`` when every list-name word pairs solidly and a distinctive one is spelt
the same (the query is the list name with words added: a city, a parent's acronym)."""
ACRONYM_SIMILARITY = 0.9
"""A word of 3-8 letters that is the initials of as many consecutive words on the other side ("rpkb"
~ "ramenskoe priborostroitelnoe konstruktorskoe byuro"). Short: it never anchors a name alone."""
_INITIALS = "^"
"""Prefix of the posting key of a name's initials (never the start of a word)."""
NUMBER_MISMATCH_FACTOR = 0.6
"""Both names carry numbers and they differ ("150 Aircraft Repair Plant" vs "558 ...")."""
NUMBER_MISSING_FACTOR = 0.9
"""Only one name carries a number ("CETC 14th Research Institute" vs "CETC Research Institute")."""
DISTINCT_WORD_FACTOR = 0.8
"""Each side has a distinctive word the other lacks ("Transgaz Volgograd" vs "Transgaz Yugorsk")."""
DISTINCTIVE_SHARE = 0.6
"""A word is distinctive when its IDF weight is at least this share of the largest possible."""
SURFACE_SHARE = 0.03
"""Share of the name score left to the names as written (legal forms, punctuation): breaks ties."""
COUNTRY_MATCH_BONUS = 0.03
COUNTRY_MISMATCH_PENALTY = 0.08
ADDRESS_BONUS = 0.03
IDENTIFIER_BONUS = 0.10
FUZZY_MAX_LENGTH_GAP = 1
"""A fuzzy (not exact, not abbreviated) token pair needs lengths within this many letters, plus one
per ten letters of the longer: "electronc" ~ "electronic", not "microelectronics" ~ "electronics".
"""
PHONETIC_SIMILARITY = 0.97
"""A person-name token that sounds the same (metaphone: "Omarow" ~ "Omar", "Mohamed" ~ "Muhammad")
and is at least ``PHONETIC_MIN_SPELLING`` alike in spelling."""
PHONETIC_MIN_SPELLING = 0.6
ABBREVIATION_SIMILARITY = 0.85
SOLID_SIMILARITY = 0.9
UNANCHORED_FACTOR = 0.85
SOLID_FUZZY_LENGTH = 6
"""A pair that is not exact anchors a name only between words of at least this many letters."""
COMPACT_MIN_SIMILARITY = 0.9
MAX_CANDIDATES = 40
_COMMON_TOKEN_SHARE = 0.02
_COMMON_GRAM_SHARE = 0.05
_PERSON_SHAPE = re.compile(r"^[^,\d]+,[^,\d]+$")
_ID_CHARS = re.compile(r"[^0-9A-Z]")
_KIND_RANK = {"name": 0, "alias": 1, "previous_name": 2}
FACTOR_FEATURES = frozenset({"number_mismatch", "number_missing", "distinct_word"})
"""Features whose ``score`` is a factor the name score was multiplied by (penalties), not a term
added to it; the explanation writes them as ×factor."""


@dataclass(frozen=True, slots=True)
class Query:
    """One name to screen; ``country`` (ISO2), ``address`` and ``identifiers`` are evidence.

    ``schema`` "Person" (or a "Surname, Given" name) removes titles (Mr, Dr, Sheikh ...).
    """

    query_id: str
    name: str
    country: str | None = None
    address: str | None = None
    identifiers: tuple[str, ...] = ()
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature's contribution to a score, with the strings it compared.

    ``score`` is added to the score, except for the penalties in ``FACTOR_FEATURES``, whose
    ``score`` is the factor the name score was multiplied by.
    """

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
        score: final score in [0, 1] (float64, the value the ranking used).
        matched_name: the entry's name or alias as published.
        name_kind: ``name``, ``alias`` or ``previous_name``.
        query_form: the normalised query form that matched.
        candidate_form: the normalised form of ``matched_name``.
        method: ``tokens`` (weighted token pairing) or ``compact`` (spaces removed).
        tokens: the token pairs that matched.
        features: name, penalties, country, identifier and address contributions.
        listed_on: the date the entry was listed, where the list gives one.
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
    listed_on: date | None = None

    @property
    def explanation(self) -> str:
        """One sentence a compliance analyst can read."""
        parts = [
            f"{f.feature} ×{f.score:.3f} ({f.detail})"
            if f.feature in FACTOR_FEATURES
            else f"{f.feature} {f.score:+.3f} ({f.detail})"
            for f in self.features
        ]
        return f"score {self.score:.3f}: " + "; ".join(parts)


class _Entry(NamedTuple):
    party: int
    name: str
    kind: str
    form: str
    tokens: tuple[str, ...]
    compact: str
    weights: tuple[float, ...] = ()
    weight_sum: float = 0.0


class _NameScore(NamedTuple):
    score: float
    method: str
    pairs: tuple[TokenPair, ...]
    penalties: tuple[Feature, ...] = ()


def _is_person_query(query: Query) -> bool:
    """Person by schema, or "Surname, Given" where "Given" is not a legal form ("Amazon, Inc.")."""
    if query.schema is not None:
        return query.schema == "Person"
    if not _PERSON_SHAPE.match(query.name.strip()):
        return False
    given = query.name.split(",", 1)[1].casefold()
    words = re.findall(r"\w+", given)
    legal = any(w in LEGAL_FORMS for w in words) or remove_org_types(given).split() != given.split()
    return bool(words) and not legal


def _party_to_json(p: Party) -> str:
    return json.dumps(
        [
            p.party_id,
            p.schema,
            p.name,
            p.aliases,
            p.previous_names,
            p.countries,
            p.addresses,
            p.list_id,
            p.programs,
            p.source,
            p.identifiers,
            p.listed_on.isoformat() if p.listed_on else None,
        ],
        ensure_ascii=False,
    )


def _party_from_json(text: str) -> Party:
    v = json.loads(text)
    return Party(
        party_id=PartyId(v[0]),
        schema=v[1],
        name=v[2],
        aliases=tuple(v[3]),
        previous_names=tuple(v[4]),
        countries=tuple(v[5]),
        addresses=tuple(v[6]),
        list_id=v[7],
        programs=tuple(v[8]),
        source=v[9],
        identifiers=tuple(v[10]),
        listed_on=date.fromisoformat(v[11]) if v[11] else None,
    )


INDEX_FORMAT = "chiptrail-screening-index/6"
_KINDS = ("name", "alias", "previous_name")


class ScreeningIndex:
    """Parties with every name form indexed by token and by character trigram.

    Build once (``build_index``), query many times; immutable after construction. Held in its
    stored form (``chiptrail.parties.packed``: sorted key tables, posting arrays and string tables
    in one bytes object), so ``from_bytes`` reads nothing up front: a query decodes only the
    postings, names and parties it touches.
    """

    __slots__ = (
        "_data",
        "_distinctive",
        "_e_form",
        "_e_kind",
        "_e_name",
        "_e_party",
        "_e_size",
        "_e_surface",
        "_entries",
        "_gram_ids",
        "_gram_keys",
        "_gram_off",
        "_max_idf",
        "_n",
        "_parties",
        "_party_json",
        "_postings",
        "_readings",
        "_tok_idf",
        "_tok_ids",
        "_tok_keys",
        "_tok_off",
        "_weights",
    )

    def __init__(self, parties: Sequence[Party]) -> None:
        self._open(_pack_index(parties))
        self._parties.update(enumerate(parties))

    def _open(self, data: bytes | ByteSource) -> None:
        packed = Packed(data, INDEX_FORMAT)
        self._data = data
        self._n = int(packed.meta["entries"])
        self._max_idf = float(packed.meta["max_idf"])
        self._distinctive = DISTINCTIVE_SHARE * self._max_idf
        self._e_party = packed.ints("e_party")
        self._e_kind = packed.ints("e_kind")
        self._e_size = packed.ints("e_size")
        self._e_name = packed.strings("e_name")
        self._e_form = packed.strings("e_form")
        self._e_surface = packed.strings("e_surface")
        self._tok_keys = packed.strings("tok_keys", whole=True)
        self._tok_idf = packed.floats("tok_idf")
        self._tok_off = packed.window("tok_off")
        self._tok_ids = packed.window("tok_ids")
        self._gram_keys = packed.strings("gram_keys", whole=True)
        self._gram_off = packed.window("gram_off")
        self._gram_ids = packed.window("gram_ids")
        self._party_json = packed.strings("parties")
        self._readings = Readings(packed)
        self._parties: dict[int, Party] = {}
        # What queries have decoded (an index kept in memory, as the API keeps it, decodes each
        # entry and posting list once).
        self._weights: dict[str, float] = {}
        self._entries: dict[int, _Entry] = {}
        self._postings: dict[tuple[str, bool], Sequence[int]] = {}

    def to_bytes(self) -> bytes:
        """The index in its stored form (``chiptrail.parties.packed``, no pickle)."""
        data = self._data
        return data if isinstance(data, bytes) else bytes(data[0 : len(data)])

    @classmethod
    def from_bytes(cls, data: bytes | ByteSource) -> ScreeningIndex:
        """Open an index written by ``to_bytes``, in memory or in a blob that is read as it is
        used (``sqlite3.Blob``: open while the index is); reads nothing but its header.

        Raises:
            InvalidInput: not an index of this format (rebuild it with ``lists load``).
        """
        index = cls.__new__(cls)
        try:
            index._open(data)
        except InvalidInput as exc:
            raise InvalidInput(f"stored screening index: {exc.message}; reload a list") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("stored screening index is unreadable; reload a list") from exc
        return index

    def party(self, i: int) -> Party:
        """The ``i``-th indexed party (decoded on first use)."""
        found = self._parties.get(i)
        if found is None:
            found = self._parties[i] = _party_from_json(self._party_json[i])
        return found

    @property
    def parties(self) -> tuple[Party, ...]:
        """Every indexed party (decodes them all: for tests and small lists)."""
        return tuple(self.party(i) for i in range(len(self._party_json)))

    def _entry(self, j: int) -> _Entry:
        found = self._entries.get(j)
        if found is not None:
            return found
        form = self._e_form[j]
        toks = tuple(form.split())
        ws = tuple(self.weight(t) for t in toks)
        found = self._entries[j] = _Entry(
            int(self._e_party[j]),
            self._e_name[j],
            _KINDS[self._e_kind[j]],
            form,
            toks,
            "".join(toks),
            ws,
            sum(ws),
        )
        return found

    @property
    def name_count(self) -> int:
        """Number of indexed (name, form) entries."""
        return self._n

    @property
    def readings(self) -> Readings:
        """Its stored readings of Chinese characters (``zh_readings``), for
        ``normalise.use_readings``."""
        return self._readings

    def weight(self, token: str) -> float:
        """IDF weight of a token (unknown tokens weigh as the rarest)."""
        found = self._weights.get(token)
        if found is None:
            row = self._tok_keys.find(token)
            found = self._weights[token] = float(self._tok_idf[row]) if row >= 0 else self._max_idf
        return found

    def _posted(self, key: str, grams: bool) -> Sequence[int]:
        found = self._postings.get((key, grams))
        if found is not None:
            return found
        keys, off, ids = (
            (self._gram_keys, self._gram_off, self._gram_ids)
            if grams
            else (self._tok_keys, self._tok_off, self._tok_ids)
        )
        row = keys.find(key)
        found = ()
        if row >= 0:
            begin, end = off[row : row + 2]
            found = ids[begin:end]
        self._postings[key, grams] = found
        return found

    def candidates(self, forms: Sequence[str]) -> list[int]:
        """Entry indices that share the rarest tokens or the most trigrams with any query form.

        At most ``MAX_CANDIDATES`` by IDF-weighted shared tokens plus as many by shared trigrams
        (trigrams of the name with spaces removed, so "hua wei" finds "huawei"); ties go to the
        name of fewer words, then the lower entry index.
        """
        by_token: dict[int, float] = {}
        by_gram: Counter[int] = Counter()
        n_grams = 0
        for form in forms:
            toks = form.split()
            # The words, each word as the initials of a list name ("rpkb"), and the query's
            # initials as a word of a list name.
            keys = {t: t for t in toks}
            keys.update({_INITIALS + t: t for t in toks if _acronym_like(t)})
            initials = _initials(toks)
            if initials:
                keys[initials] = initials
            for key in sorted(keys):
                posted = self._posted(key, False)
                if posted:
                    w = self.weight(keys[key])
                    for j in posted:
                        by_token[j] = by_token.get(j, 0.0) + w
            qgrams = _grams("".join(toks))
            n_grams = max(n_grams, len(qgrams))
            for g in sorted(qgrams):
                by_gram.update(self._posted(g, True))
        floor = max(2, int(0.3 * n_grams))
        sizes = self._e_size
        found = set(_top(by_token, MAX_CANDIDATES, 0.0, sizes))
        found |= set(_top(by_gram, MAX_CANDIDATES, floor, sizes))
        return sorted(found)


def _top(scores: Mapping[int, float], k: int, floor: float, sizes: Sequence[int]) -> list[int]:
    """The ``k`` entries of largest score at or above ``floor`` and above 0; ties go to the
    shorter name (fewer words: closer to the query for the same shared words), then the lower
    index."""
    least = max(floor, 1e-12)
    kept = [(-s, sizes[j], j) for j, s in scores.items() if s >= least]
    return [j for _, _, j in heapq.nsmallest(k, kept)]


def _pack_index(parties: Sequence[Party]) -> bytes:
    """Normalise every name of every party and lay the index out (``packed``)."""
    e_party = array("i")
    e_kind = array("b")
    e_size = array("h")
    e_name: list[str] = []
    e_form: list[str] = []
    e_surface: list[str] = []
    for i, party in enumerate(parties):
        kinds = {party.name: 0}
        kinds.update({a: 1 for a in party.aliases if a not in kinds})
        kinds.update({p: 2 for p in party.previous_names if p not in kinds})
        person = party.schema == "Person"
        for name, kind in kinds.items():
            surface = _surface(name)
            for form in name_forms(name, person=person):
                e_surface.append(surface)
                e_party.append(i)
                e_kind.append(kind)
                e_size.append(min(len(form.split()), 32767))
                e_name.append(name)
                e_form.append(form)
    token_post: dict[str, list[int]] = {}
    gram_post: dict[str, list[int]] = {}
    for j, form in enumerate(e_form):
        toks = form.split()
        for t in set(toks):
            token_post.setdefault(t, []).append(j)
        initials = _initials(toks)
        if initials:
            token_post.setdefault(_INITIALS + initials, []).append(j)
        for g in _grams("".join(toks)):
            gram_post.setdefault(g, []).append(j)
    n = max(len(e_form), 1)
    max_tok, max_gram = (
        max(50, int(n * _COMMON_TOKEN_SHARE)),
        max(50, int(n * _COMMON_GRAM_SHARE)),
    )
    # Every token has a weight; only tokens and trigrams in few names are posted.
    tok_keys = sorted_keys(list(token_post))
    tok_idf = array("d", (math.log(1.0 + n / len(token_post[t])) for t in tok_keys))
    tok_off, tok_ids = _postings(
        [token_post[t] if len(token_post[t]) <= max_tok else [] for t in tok_keys]
    )
    gram_keys = sorted_keys([g for g, p in gram_post.items() if len(p) <= max_gram])
    gram_off, gram_ids = _postings([gram_post[g] for g in gram_keys])
    zh = build_tables()
    return pack(
        INDEX_FORMAT,
        {
            "entries": len(e_form),
            "parties": len(parties),
            "max_idf": math.log(1.0 + n),
            PHRASE_MAX: max(map(len, zh["zh_phrases"]), default=0),
            LIBRARIES: library_stamp(),
        },
        {
            "e_party": e_party,
            "e_kind": e_kind,
            "e_size": e_size,
            "tok_idf": tok_idf,
            "tok_off": tok_off,
            "tok_ids": tok_ids,
            "gram_off": gram_off,
            "gram_ids": gram_ids,
        },
        {
            "e_name": e_name,
            "e_form": e_form,
            "e_surface": e_surface,
            "tok_keys": tok_keys,
            "gram_keys": gram_keys,
            "parties": [_party_to_json(p) for p in parties],
            **zh,
        },
    )


def _postings(lists: Sequence[Sequence[int]]) -> tuple[array, array]:  # type: ignore[type-arg]
    """Posting lists in CSR form: row offsets (one more than rows) and the concatenated ids."""
    offsets = array("q", [0])
    ids = array("i")
    for p in lists:
        ids.extend(p)
        offsets.append(len(ids))
    return offsets, ids


def build_index(parties: Iterable[Party]) -> ScreeningIndex:
    """Index parties for screening (every name, alias and former name, every normalised form)."""
    return ScreeningIndex(tuple(parties))


def _grams(compact: str) -> set[str]:
    padded = f"^{compact}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _similarity(a: str, b: str) -> float:
    return float(_indel(a, b))


_DIGIT = re.compile(r"\d")


def _has_digit(token: str) -> bool:
    return _DIGIT.search(token) is not None


def _sound(token: str) -> str:
    return metaphone(token) if token.isalpha() and len(token) >= 3 else ""


_PairTable = dict[str, list[tuple[int, float]]]
"""candidate token -> [(query token position, similarity >= TOKEN_MIN_SIMILARITY)]."""


def _pair_table(
    query_tokens: Sequence[str], cand_tokens: Sequence[str], person: bool = False
) -> _PairTable:
    """Similarities of every query token to every candidate token that pair.

    A pair counts when its Indel similarity is at least ``TOKEN_MIN_SIMILARITY``, or when one token
    is a prefix (3+ letters) of the other: an abbreviation ("info", "ind"), credited
    ``ABBREVIATION_SIMILARITY``. Tokens with digits pair only when equal ("150" is not "1500").
    For a person's name, tokens that sound alike (metaphone) count ``PHONETIC_SIMILARITY``.
    Similarities are float64, the same values whichever other tokens are in the table.
    """
    table: _PairTable = {}
    query = [(q, len(q), _has_digit(q), _sound(q) if person else "") for q in query_tokens]
    for c in cand_tokens:
        clen = len(c)
        cdig = _has_digit(c)
        csound = _sound(c) if person else ""
        for i, (q, qlen, qdig, qsound) in enumerate(query):
            sim = _indel(q, c)
            longer, shorter = (qlen, clen) if qlen > clen else (clen, qlen)
            if sim < 1.0 and longer - shorter > FUZZY_MAX_LENGTH_GAP + longer // 10:
                sim = 0.0
            best = sim
            if (
                shorter >= 3
                and best < ABBREVIATION_SIMILARITY
                and (q.startswith(c) or c.startswith(q))
            ):
                best = ABBREVIATION_SIMILARITY
            if (
                qsound
                and best < PHONETIC_SIMILARITY
                and qsound == csound
                and sim >= PHONETIC_MIN_SPELLING
            ):
                best = PHONETIC_SIMILARITY
            if qdig or cdig:
                best = 1.0 if best >= 1.0 else 0.0
            if best >= TOKEN_MIN_SIMILARITY:
                table.setdefault(c, []).append((i, best))
    return table


def _pair_greedily(entry: _Entry, table: _PairTable) -> list[tuple[int, int, float]]:
    sims: list[tuple[float, int, int]] = []
    for j, c in enumerate(entry.tokens):
        found = table.get(c)
        if found:
            sims.extend((sim, i, j) for i, sim in found)
    if len(sims) > 1:
        sims.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for sim, i, j in sims:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs.append((i, j, sim))
    return pairs


class _Scored(NamedTuple):
    score: float
    method: str
    pairs: tuple[tuple[int, int, float], ...]
    penalties: tuple[tuple[str, float, str], ...]


def _score(
    query_tokens: Sequence[str],
    query_weights: Sequence[float],
    entry: _Entry,
    table: _PairTable,
    compact_sim: float,
    distinctive: float,
) -> _Scored:
    """The name score of one entry, with the pairs (query pos, entry pos, similarity) and the
    penalties applied as (feature, factor, detail)."""
    pairs = _pair_greedily(entry, table)
    paired_q = {i for i, _, _ in pairs}
    paired_c = {j for _, j, _ in pairs}
    gained = sum(sim * (query_weights[i] + entry.weights[j]) for i, j, sim in pairs)
    total = sum(query_weights[i] + entry.weights[j] for i, j, _ in pairs)
    free_q, free_c = len(query_tokens) - len(paired_q), len(entry.tokens) - len(paired_c)
    maybe = (free_q and free_c >= 3) or (free_c and free_q >= 3)
    for qs, cs in _acronyms(query_tokens, entry.tokens, paired_q, paired_c) if maybe else ():
        weight = sum(query_weights[i] for i in qs) + sum(entry.weights[j] for j in cs)
        gained += ACRONYM_SIMILARITY * weight
        total += weight
        pairs.extend((i, j, ACRONYM_SIMILARITY) for i in qs for j in cs)
        paired_q.update(qs)
        paired_c.update(cs)
    extra_q = [i for i in range(len(query_tokens)) if i not in paired_q]
    extra_c = [j for j in range(len(entry.tokens)) if j not in paired_c]
    extra_q_weight, extra_c_weight = EXTRA_QUERY_WEIGHT, EXTRA_CANDIDATE_WEIGHT
    if (extra_q or extra_c) and any(
        sim >= 1.0 and query_weights[i] >= distinctive for i, _, sim in pairs
    ):
        # One name inside the other, anchored by a distinctive word spelt the same ("Shanghai
        # Fudan" in "Shanghai Fudan Microelectronics"): the words left over cost less.
        if not extra_q and all(sim >= SOLID_SIMILARITY for _, _, sim in pairs):
            extra_c_weight = CONTAINED_CANDIDATE_WEIGHT
        elif not extra_c and all(sim >= SOLID_SIMILARITY for _, _, sim in pairs):
            extra_q_weight = CONTAINED_QUERY_WEIGHT
    total += extra_q_weight * sum(query_weights[i] for i in extra_q)
    total += extra_c_weight * sum(entry.weights[j] for j in extra_c)
    if pairs and all(
        sim < SOLID_SIMILARITY
        or (sim < 1.0 and min(len(query_tokens[i]), len(entry.tokens[j])) < SOLID_FUZZY_LENGTH)
        for i, j, sim in pairs
    ):
        # Only abbreviations or fuzzy pairs ("intel" ~ "intellifusion"): no solid anchor.
        gained *= UNANCHORED_FACTOR
    score = gained / total if total else 0.0
    method = "tokens"
    # Spaces removed only help when words are split or joined differently: the words without a
    # solid pair on each side must, joined, be the same string ("zhong ke" ~ "zhongke"), so
    # "asml holding" is not "ml holding".
    if compact_sim >= COMPACT_MIN_SIMILARITY and compact_sim > score:
        solid_q = {i for i, _, sim in pairs if sim >= SOLID_SIMILARITY}
        solid_c = {j for _, j, sim in pairs if sim >= SOLID_SIMILARITY}
        left = "".join(t for i, t in enumerate(query_tokens) if i not in solid_q)
        right = "".join(t for j, t in enumerate(entry.tokens) if j not in solid_c)
        resegmented = max(len(query_tokens) - len(solid_q), len(entry.tokens) - len(solid_c)) > 1
        if resegmented and left and right and _similarity(left, right) >= COMPACT_MIN_SIMILARITY:
            score, method = compact_sim, "compact"
            extra_q, extra_c = [], []
    penalties: list[tuple[str, float, str]] = []
    qnum = {t for t in query_tokens if _has_digit(t)}
    cnum = {t for t in entry.tokens if _has_digit(t)}
    if qnum and cnum and qnum != cnum:
        detail = f"numbers {' '.join(sorted(qnum))} vs {' '.join(sorted(cnum))}"
        penalties.append(("number_mismatch", NUMBER_MISMATCH_FACTOR, detail))
    elif bool(qnum) != bool(cnum):
        detail = f"number {' '.join(sorted(qnum | cnum))} on one side only"
        penalties.append(("number_missing", NUMBER_MISSING_FACTOR, detail))
    dq = [query_tokens[i] for i in extra_q if query_weights[i] >= distinctive]
    dc = [entry.tokens[j] for j in extra_c if entry.weights[j] >= distinctive]
    if dq and dc and pairs:
        detail = f"{' '.join(dq)!r} vs {' '.join(dc)!r} pair with nothing"
        penalties.append(("distinct_word", DISTINCT_WORD_FACTOR, detail))
    for _, factor, _ in penalties:
        score *= factor
    return _Scored(score, method, tuple(pairs), tuple(penalties))


def _acronym_like(token: str) -> bool:
    return 3 <= len(token) <= 8 and token.isalpha()


def _initials(tokens: Sequence[str]) -> str:
    """The initials of a name of 3-8 words that all start with a letter ("" otherwise)."""
    if not 3 <= len(tokens) <= 8 or not all(t[:1].isalpha() for t in tokens):
        return ""
    return "".join(t[0] for t in tokens)


def _acronyms(
    query_tokens: Sequence[str],
    cand_tokens: Sequence[str],
    paired_q: set[int],
    paired_c: set[int],
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Unpaired words that are the initials of as many consecutive unpaired words on the other
    side: (query positions, list-name positions), one side a single word."""
    found: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    used_q, used_c = set(paired_q), set(paired_c)
    for query_side in (True, False):
        short, long_ = (query_tokens, cand_tokens) if query_side else (cand_tokens, query_tokens)
        if len(long_) < 3:
            continue
        used_short, used_long = (used_q, used_c) if query_side else (used_c, used_q)
        initials = "".join(t[0] for t in long_)
        for a, word in enumerate(short):
            if a in used_short or not _acronym_like(word):
                continue
            b = initials.find(word)
            while b >= 0:
                run = tuple(range(b, b + len(word)))
                if not used_long.intersection(run):
                    used_short.add(a)
                    used_long.update(run)
                    found.append(((a,), run) if query_side else (run, (a,)))
                    break
                b = initials.find(word, b + 1)
    return found


def _entry_for(index: ScreeningIndex, cand_tokens: Sequence[str]) -> _Entry:
    ws = tuple(index.weight(t) for t in cand_tokens)
    return _Entry(-1, "", "", "", tuple(cand_tokens), "".join(cand_tokens), ws, sum(ws))


def score_names(
    index: ScreeningIndex,
    query_tokens: Sequence[str],
    cand_tokens: Sequence[str],
    person: bool = False,
) -> _NameScore:
    """Score two tokenised normalised names (see the module docstring); the slow, single form."""
    if not query_tokens or not cand_tokens:
        return _NameScore(0.0, "tokens", ())
    entry = _entry_for(index, cand_tokens)
    table = _pair_table(query_tokens, sorted(set(cand_tokens)), person)
    compact = _similarity("".join(query_tokens), entry.compact)
    wq = [index.weight(t) for t in query_tokens]
    s = _score(query_tokens, wq, entry, table, compact, index._distinctive)
    return _NameScore(
        s.score,
        s.method,
        tuple(TokenPair(query_tokens[i], cand_tokens[j], sim) for i, j, sim in s.pairs),
        tuple(Feature(f, factor, d) for f, factor, d in s.penalties),
    )


def _surface(text: str) -> str:
    """A name as written, in ASCII lower case without punctuation (stored per indexed name)."""
    return " ".join(re.sub(r"[^\w]+", " ", ascii_words(text).casefold()).split())


def _norm_id(raw: str) -> str:
    return _ID_CHARS.sub("", raw.upper())


def _features(
    query: Query, party: Party, name_score: float, detail: str, surface: float
) -> tuple[float, tuple[Feature, ...], int, float]:
    """Final score, its features, how many supporting features, and the score before clipping
    to [0, 1] (both for ranking: a country or identifier bonus must not tie a near name with the
    exact one at 1.0)."""
    name = name_score * (1.0 - SURFACE_SHARE + SURFACE_SHARE * surface)
    feats = [Feature("name", name, detail)]
    total = name
    support = 0
    if query.country and party.countries:
        if query.country in party.countries:
            feats.append(Feature("country", COUNTRY_MATCH_BONUS, f"{query.country} listed"))
            total += COUNTRY_MATCH_BONUS
            support += 1
        else:
            listed = ",".join(party.countries)
            feats.append(
                Feature("country", -COUNTRY_MISMATCH_PENALTY, f"{query.country} not in {listed}")
            )
            total -= COUNTRY_MISMATCH_PENALTY
    if query.identifiers and party.identifiers:
        listed_ids = {_norm_id(i) for i in party.identifiers}
        same = [i for i in query.identifiers if len(_norm_id(i)) >= 5 and _norm_id(i) in listed_ids]
        if same:
            feats.append(Feature("identifier", IDENTIFIER_BONUS, f"{same[0]} listed"))
            total += IDENTIFIER_BONUS
            support += 1
    if query.address and party.addresses:
        q = set(normalise_name(query.address).split())
        best = max(
            len(q & set(normalise_name(a).split())) / max(len(q), 1) for a in party.addresses
        )
        if best >= 0.5:
            feats.append(Feature("address", ADDRESS_BONUS, f"{best:.0%} of address words listed"))
            total += ADDRESS_BONUS
            support += 1
    return min(1.0, max(0.0, total)), tuple(feats), support, total


def _query_forms(query: Query) -> tuple[str, ...]:
    return name_forms(query.name, person=_is_person_query(query))


def _best_per_party(
    index: ScreeningIndex,
    forms: Sequence[str],
    entry_ids: Sequence[int],
    floor: float,
    person: bool = False,
) -> list[tuple[float, int, str]]:
    """Best raw name score per party over the given entries: (score, entry index, query form)."""
    entries = [index._entry(j) for j in entry_ids]
    if not entries:
        return []
    cand_tokens = sorted({t for e in entries for t in e.tokens})
    compacts = [e.compact for e in entries]
    best: dict[int, tuple[float, int, str]] = {}
    cutoff = floor - COUNTRY_MATCH_BONUS - ADDRESS_BONUS - IDENTIFIER_BONUS
    for form in forms:
        qt = form.split()
        wq = [index.weight(t) for t in qt]
        table = _pair_table(qt, cand_tokens, person)
        joined = "".join(qt)
        for k, e in enumerate(entries):
            c = _similarity(joined, compacts[k])
            if (
                c < COMPACT_MIN_SIMILARITY
                and not any(t in table for t in e.tokens)
                and not _acronyms(qt, e.tokens, set(), set())
            ):
                continue  # nothing pairs: the score is 0
            s = _score(qt, wq, e, table, c, index._distinctive).score
            if s >= cutoff and (e.party not in best or s > best[e.party][0]):
                best[e.party] = (s, entry_ids[k], form)
    return list(best.values())


def _explain(
    index: ScreeningIndex, query: Query, hit: tuple[float, int, str]
) -> tuple[Match, tuple[float, int], Party]:
    """The match of ``hit``, its ranking evidence (score before clipping, supporting features),
    and its party."""
    _, j, qform = hit
    e = index._entry(j)
    party = index.party(e.party)
    ns = score_names(index, qform.split(), e.tokens, _is_person_query(query))
    detail = f"query {qform!r} ~ {e.kind} {e.name!r} ({e.form!r}) by {ns.method}"
    surface = _similarity(_surface(query.name), index._e_surface[j])
    score, feats, support, unclipped = _features(query, party, ns.score, detail, surface)
    match = Match(
        party_id=party.party_id,
        list_id=party.list_id,
        score=score,
        matched_name=e.name,
        name_kind=e.kind,
        query_form=qform,
        candidate_form=e.form,
        method=ns.method,
        tokens=ns.pairs,
        features=(*feats[:1], *ns.penalties, *feats[1:]),
        listed_on=party.listed_on,
    )
    return match, (unclipped, support), party


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
        query: name plus optional country (ISO2), address and identifiers.
        threshold: minimum final score in [0, 1].
        limit: at most this many matches (one per party).
        brute_force: score every indexed name instead of the blocked candidates (baseline).

    Returns:
        Matches sorted by score, ties broken by evidence (``_rank_key``), each explained.
    """
    forms = _query_forms(query)
    if not forms:
        return []
    ids = range(index.name_count) if brute_force else index.candidates(forms)
    hits = _best_per_party(index, forms, list(ids), threshold, _is_person_query(query))
    # Supporting evidence moves a score by at most the bonuses: explain only what can make the cut.
    hits.sort(key=lambda h: -h[0])
    if len(hits) > limit:
        swing = (
            (COUNTRY_MISMATCH_PENALTY + COUNTRY_MATCH_BONUS if query.country else 0.0)
            + (ADDRESS_BONUS if query.address else 0.0)
            + (IDENTIFIER_BONUS if query.identifiers else 0.0)
            + SURFACE_SHARE
        )
        margin = hits[limit - 1][0] - swing
        hits = [h for h in hits if h[0] >= margin]
    explained = [_explain(index, query, h) for h in hits]
    kept = [x for x in explained if x[0].score >= threshold]
    kept.sort(key=lambda x: _rank_key(x[2], x[0], x[1]))
    return [m for m, _, _ in kept[:limit]]


def _rank_key(
    party: Party, match: Match, evidence: tuple[float, int]
) -> tuple[float, float, int, int, int, int, str]:
    """Best first: score, then the score before clipping to 1 (a name scoring 0.99 with a listed
    country must not tie the exact name with it), supporting evidence, the primary name before an
    alias, fewer list-side words left over, the richer entry (more names and addresses), the id."""
    unclipped, support = evidence
    extra = len(match.candidate_form.split()) - len(match.tokens)
    richness = len(party.all_names) + len(party.addresses)
    return (
        -match.score,
        -unclipped,
        -support,
        _KIND_RANK.get(match.name_kind, 3),
        extra,
        -richness,
        match.party_id,
    )


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
