"""Screening: fuzzy, transliterated, explained matches; blocking agrees with brute force."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

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


WHY = [
    _p("plant-150", "Joint Stock Company 150 Aircraft Repair Plant", country="RU"),
    _p("plant-558", "558 Aircraft Repair Plant", country="BY"),
    _p("volgograd", "Gazprom Transgaz Volgograd, OOO", country="RU"),
    _p("yugorsk", "OOO Gazprom Transgaz Yugorsk", country="RU"),
    _p("ml", "ML Holding Group Limited", country="HK"),
    _p("tir", "7TH OF TIR", country="IR"),
    _p(
        "gazprom-neft",
        "Obshchestvo s Ogranichennoi Otvetstvennostyu Gazprom Neft Shelf",
        country="RU",
    ),
    Party(PartyId("omar"), "Person", "OMAR, Mohammed", list_id="sdn"),
    _p(
        "huawei",
        "Huawei Technologies Co., Ltd.",
        "Huawei Technology",
        "Shenzhen Huawei Technologies",
    ),
    _p("huawei-cloud", "Huawei Cloud Singapore", country="SG"),
    _p("huawei-chengdu", "Chengdu Huawei Technologies Co., Ltd."),
    _p("huawei-fcc", "Huawei Technologies Company"),
    _p("npu", "Northwestern Polytechnical University"),
    _p("hit", "Harbin Institute of Technology"),
    _p("heu", "Harbin Engineering University"),
    _p("tju", "Tianjin University"),
]


@pytest.fixture(scope="module")
def why_index() -> ScreeningIndex:
    return build_index(WHY)


@pytest.mark.parametrize(
    ("query", "expected", "wrong"),
    [
        ("150 AIRCRAFT REPAIR PLANT", "plant-150", "plant-558"),
        ("OOO 'GAZPROM TRANSGAZ VOLGOGRAD'", "volgograd", "yugorsk"),
        ("SEVENTH OF TIR", "tir", None),
        ("OMAROW, Mohamed", "omar", None),
        ("OOO Gazprom Neft Shelf", "gazprom-neft", None),
        ("西北工业大学", "npu", "tju"),
        ("哈尔滨工业大学", "hit", "heu"),
        ("华为", "huawei", "huawei-cloud"),
        ("华为技术有限公司", "huawei", "huawei-chengdu"),
    ],
    ids=[
        "number in the name decides",
        "different distinctive word (Volgograd vs Yugorsk)",
        "ordinal written out vs 7th",
        "person name order, spelling",
        "long Russian legal form removed by rigour",
        "Chinese university not in the brand table before",
        "Harbin Institute of Technology, not Harbin Engineering University",
        "brand query: parent before affiliates",
        "Chinese legal name: parent before city affiliates",
    ],
)
def test_why_examples(
    why_index: ScreeningIndex, query: str, expected: str, wrong: str | None
) -> None:
    matches = screen_query(why_index, Query("q", query), threshold=0.0)
    assert matches[0].party_id == expected
    assert matches[0].score >= DEFAULT_THRESHOLD
    rest = [m for m in matches if m.party_id == wrong]
    assert all(m.score < DEFAULT_THRESHOLD for m in rest)


def test_no_wrong_entity_above_threshold_for_asml(why_index: ScreeningIndex) -> None:
    for brute in (False, True):
        assert screen_query(why_index, Query("q", "ASML Holding N.V."), brute_force=brute) == []


def test_number_mismatch_is_explained(why_index: ScreeningIndex) -> None:
    [m] = [
        m
        for m in screen_query(why_index, Query("q", "150 Aircraft Repair Plant"), threshold=0.0)
        if m.party_id == "plant-558"
    ]
    assert any(f.feature == "number_mismatch" for f in m.features)
    # a penalty multiplies the name score: the explanation says so, it does not add 0.6
    assert "number_mismatch ×0.600 (numbers 150 vs 558)" in m.explanation
    assert "+0.600" not in m.explanation


def test_ranking_and_reported_scores_agree_with_brute_force(why_index: ScreeningIndex) -> None:
    for name in ["华为", "Huawei Technologies", "Gazprom Transgaz", "Harbin University"]:
        fast = screen_query(why_index, Query("q", name), threshold=0.0)
        slow = screen_query(why_index, Query("q", name), threshold=0.0, brute_force=True)
        common = {m.party_id: m.score for m in slow}
        for m in fast:
            if m.party_id in common:
                assert m.score == common[m.party_id]  # one float precision end to end


def test_identifier_supports_and_breaks_ties() -> None:
    a = replace(_p("a", "Acme Trading"), identifiers=("91440300-MA5F",))
    b = _p("b", "Acme Trading")
    index = build_index([a, b])
    top = screen_query(index, Query("q", "Acme Trading", identifiers=("91440300MA5F",)))
    assert top[0].party_id == "a"
    assert any(f.feature == "identifier" for f in top[0].features)
    assert top[0].score >= top[1].score  # a tie at 1.0 is broken by the evidence


def test_match_carries_listing_date() -> None:
    listed = replace(_p("a", "Acme Trading"), listed_on=date(2020, 5, 22))
    [m] = screen_query(build_index([listed]), Query("q", "Acme Trading"))
    assert m.listed_on == date(2020, 5, 22)


ACRONYM_LIST = [
    _p("rpkb", "AO Ramenskoe Priborostroitelnoe Konstruktorskoe Byuro", country="RU"),
    _p("nevskoe", "AO Nevskoe Proyektno-Konstruktorskoe Byuro", country="RU"),
    _p("zzgt", "ZZGT", country="RU"),
    _p("other", "Ramenskoe Trading House", country="RU"),
]


def test_initials_find_and_rank_but_never_anchor_alone() -> None:
    index = build_index(ACRONYM_LIST)
    [top, *_] = screen_query(index, Query("q", "RPKB"), threshold=0.0)
    assert top.party_id == "rpkb"
    assert top.score < DEFAULT_THRESHOLD  # initials alone are not a match
    assert ("rpkb", "byuro") in {(t.query_token, t.candidate_token) for t in top.tokens}
    # the long form finds the list name that is its initials
    [top, *_] = screen_query(
        index, Query("q", "Zavolzhskiy Zavod Gusenichnikh Tyagachey"), threshold=0.0
    )
    assert top.party_id == "zzgt"
    # beside a word spelt the same, initials complete a match
    [top, *_] = screen_query(index, Query("q", "Nevskoe PKB"), threshold=0.0)
    assert top.party_id == "nevskoe"
    assert top.score >= DEFAULT_THRESHOLD
    assert screen_query(index, Query("q", "ABCD"), threshold=0.0) == []


@pytest.mark.parametrize(
    "query",
    ["Engineering Solutions", "Solutions Engineering"],
    ids=["as written first", "the other word order first"],
)
def test_country_bonus_does_not_tie_the_exact_name_with_a_near_one(query: str) -> None:
    # Both names score about 1 (word order is free); with the country both reach 1.0 after the
    # bonus, and the name as written must still come first.
    index = build_index(
        [
            _p("a", "Engineering Solutions Pvt. Ltd.", country="PK"),
            _p("b", "Solutions Engineering Pvt. Ltd.", country="PK"),
        ]
    )
    top = screen_query(index, Query("q", query, country="PK"))
    assert [m.score for m in top] == [1.0, 1.0]
    assert top[0].matched_name.startswith(query)
