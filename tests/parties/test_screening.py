"""Screening: fuzzy, transliterated, explained matches; blocking agrees with brute force."""

from __future__ import annotations

import pytest

from chiptrail.parties.model import Party
from chiptrail.parties.screening import (
    DEFAULT_THRESHOLD,
    Query,
    ScreeningIndex,
    build_index,
    screen_queries,
    screen_query,
)
from chiptrail.types import PartyId


def _p(
    pid: str, name: str, *aliases: str, country: str = "CN", prev: tuple[str, ...] = ()
) -> Party:
    return Party(
        PartyId(pid), "Company", name, aliases, prev, (country,), ("1 Road, Beijing",), "el"
    )


LIST = [
    _p("huawei", "Huawei Technologies Co., Ltd.", "Huawei"),
    _p("inspur", "Inspur Electronic Information Industry Co., Ltd."),
    _p("sugon", "Sugon", "Dawning Information Industry Co., Ltd.", "Zhongke Shuguang"),
    _p("sophgo-sg", "Sophgo Technologies Pte. Ltd.", country="SG"),
    _p("smic", "Semiconductor Manufacturing International Corporation", "SMIC"),
    _p("roga", "OOO Roga i Kopyta", country="RU", prev=("Old Horns LLC",)),
    _p("bank", "Bank Melli Iran", country="IR"),
    _p("china-ship", "China Shipbuilding Trading Co., Ltd."),
]


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return build_index(LIST)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("HUAWEI TECHNOLOGIES CO LTD", "huawei"),
        ("华为技术有限公司", "huawei"),
        ("浪潮电子信息产业股份有限公司", "inspur"),
        ("Inspur Electronic Info. Ind. Co., Ltd.", "inspur"),
        ("Information Industry Dawning Co", "sugon"),
        ("中科曙光", "sugon"),
        ("Zhong Ke Shu Guang", "sugon"),
        ("Sophgo Technologies Private Limited", "sophgo-sg"),
        ("Inspur Electronc Informaiton Industry", "inspur"),
        ("ООО Рога и Копыта", "roga"),
        ("Old Horns", "roga"),
    ],
    ids=[
        "upper case, no punctuation",
        "Chinese legal name to English list name",
        "Chinese brand 浪潮 to Inspur",
        "abbreviated words",
        "word order and alias",
        "Chinese to list alias via brand table",
        "pinyin split differently",
        "legal form spelled out",
        "typos",
        "Cyrillic against transliterated list name",
        "former name",
    ],
)
def test_true_matches_come_first(index: ScreeningIndex, query: str, expected: str) -> None:
    matches = screen_query(index, Query("q", query))
    assert matches, f"no match for {query}"
    assert matches[0].party_id == expected
    assert DEFAULT_THRESHOLD <= matches[0].score <= 1.0


@pytest.mark.parametrize(
    "query",
    ["Apple Inc.", "Microsoft Corporation", "Bank of America", "Shipping Trading Co", "Melli"],
    ids=["Apple", "Microsoft", "Bank of America", "generic words only", "one word of three"],
)
def test_ordinary_names_do_not_match(index: ScreeningIndex, query: str) -> None:
    assert screen_query(index, Query("q", query)) == []


def test_match_is_explained(index: ScreeningIndex) -> None:
    [m] = screen_query(index, Query("q", "Dawning Information Industry", country="CN"))[:1]
    assert m.matched_name == "Dawning Information Industry Co., Ltd."
    assert m.name_kind == "alias"
    assert m.candidate_form == "dawning information industry"
    assert {(t.query_token, t.candidate_token) for t in m.tokens} >= {("dawning", "dawning")}
    assert [f.feature for f in m.features] == ["name", "country"]
    assert "alias 'Dawning Information Industry Co., Ltd.'" in m.explanation


def test_country_supports_or_weakens(index: ScreeningIndex) -> None:
    query = "Sophgo Technologies"
    same = screen_query(index, Query("q", query, country="SG"), threshold=0.0)[0]
    other = screen_query(index, Query("q", query, country="US"), threshold=0.0)[0]
    none = screen_query(index, Query("q", query), threshold=0.0)[0]
    assert same.score >= none.score > other.score


def test_address_is_supporting_evidence(index: ScreeningIndex) -> None:
    q = Query("q", "Sugon Information", address="1 Road Beijing")
    with_addr = screen_query(index, q, threshold=0.0)[0]
    without = screen_query(index, Query("q", "Sugon Information"), threshold=0.0)[0]
    assert with_addr.score > without.score
    assert any(f.feature == "address" for f in with_addr.features)


def test_scores_stay_in_unit_interval_and_sorted(index: ScreeningIndex) -> None:
    matches = screen_query(index, Query("q", "China Trading", country="CN"), threshold=0.0)
    scores = [m.score for m in matches]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_blocking_finds_what_brute_force_finds(index: ScreeningIndex) -> None:
    names = [n for p in LIST for n in p.all_names] + ["Huawe", "Sugon Dawning", "Semiconductor"]
    queries = [Query(str(i), n) for i, n in enumerate(names)]
    fast = screen_queries(index, queries, threshold=0.5)
    slow = screen_queries(index, queries, threshold=0.5, brute_force=True)
    for (q, a), (_, b) in zip(fast, slow, strict=True):
        assert [m.party_id for m in a][:1] == [m.party_id for m in b][:1], q


def test_empty_query_returns_nothing(index: ScreeningIndex) -> None:
    assert screen_query(index, Query("q", " ,. ")) == []
