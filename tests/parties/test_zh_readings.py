"""Chinese readings stored with the index answer as pypinyin and ICU do, or not at all."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator

import pytest
from normality import ascii_text
from pypinyin import lazy_pinyin

from chiptrail.parties import normalise
from chiptrail.parties.model import Party
from chiptrail.parties.screening import Query, ScreeningIndex
from chiptrail.service.parties.screen import screen_names, to_wire
from chiptrail.types import PartyId

PARTIES = [
    Party(PartyId("t.1"), "Organization", "Huawei Technologies Co., Ltd.", ("华为技术有限公司",)),
    Party(PartyId("t.2"), "Organization", "Huawei Device Co.", ("华为终端有限公司",)),
    Party(
        PartyId("t.3"),
        "Organization",
        "Semiconductor Manufacturing International (Beijing) Corporation",
        ("中芯国际集成电路制造(北京)有限公司",),
    ),
    Party(PartyId("t.4"), "Organization", "Chongqing Changan Automobile", ("重庆长安汽车",)),
    Party(PartyId("t.5"), "Organization", "Bank of China", ("中国银行",)),
    Party(PartyId("t.6"), "Organization", "Inspur Group", ("浪潮集团有限公司",)),
    Party(PartyId("t.7"), "Organization", "Northwestern Polytechnical University"),
    Party(PartyId("t.8"), "Organization", "Hikvision", ("杭州海康威视数字技术股份有限公司",)),
    Party(PartyId("t.9"), "Person", "ZHANG, Wei", ("张伟",)),
]
NAMES = [
    "华为技术有限公司",
    "华为",
    "中芯国际集成电路制造(北京)有限公司",
    "中芯国际",
    "重庆长安汽车股份有限公司",  # 重庆: pypinyin and ICU read 重 by its neighbour
    "中国银行",  # 银行 reads "yinhang", 行 alone "xing"
    "浪潮集团",
    "西北工业大学",
    "杭州海康威视数字技术股份有限公司",
    "海康威视 Hikvision",
    "Huawei 华为 Technologies",
    "A华B",
    "张伟",
    "Huawei Technologies Co., Ltd.",
    "Inspur",
    "Semiconductor Manufacturing International",
]
COVERED = [
    "华为技术有限公司",
    "中芯国际集成电路制造(北京)有限公司",
    "浪潮集团",
    "海康威视 Hikvision",
]
"""Names the tables answer for entirely (neither pypinyin nor ICU asked)."""


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex(PARTIES)


@pytest.fixture
def readings(index: ScreeningIndex) -> Iterator[None]:
    normalise._normalise.cache_clear()
    normalise.use_readings(index.readings)
    yield
    normalise.use_readings(None)
    normalise._normalise.cache_clear()


def _screen(index: ScreeningIndex, name: str, person: bool = False) -> str:
    normalise._normalise.cache_clear()
    query = Query("1", name, schema="Person" if person else None)
    [result] = screen_names(index, [query], threshold=0.3, limit=10)
    return json.dumps(to_wire(result), sort_keys=True)


@pytest.mark.parametrize("name", NAMES)
def test_the_tables_screen_as_pypinyin_and_icu_do(index: ScreeningIndex, name: str) -> None:
    normalise.use_readings(None)
    full = _screen(index, name), _screen(index, name, person=True)
    normalise.use_readings(index.readings)
    try:
        fast = _screen(index, name), _screen(index, name, person=True)
    finally:
        normalise.use_readings(None)
        normalise._normalise.cache_clear()
    assert fast == full
    assert json.loads(full[0])["matches"] or name not in COVERED  # a comparison of something


def _runs(text: str) -> list[str]:
    return re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text)


def test_pinyin_is_pypinyins_or_none(index: ScreeningIndex) -> None:
    tables = index.readings
    runs = {
        r[i:j]
        for n in NAMES
        for r in _runs(n)
        for i in range(len(r))
        for j in range(i + 1, len(r) + 1)
    }
    rng = random.Random(12)
    common = "".join(sorted({c for n in NAMES for r in _runs(n) for c in r}))
    runs |= {"".join(rng.choice(common) for _ in range(rng.randint(1, 8))) for _ in range(2000)}
    answered = 0
    for run in sorted(runs):
        got = tables.pinyin(run)
        if got is not None:
            answered += 1
            assert got == "".join(lazy_pinyin(run)), run
    assert answered > len(runs) // 2
    assert tables.pinyin("银行") is None  # a phrase that reads otherwise than its characters
    assert tables.pinyin("重庆") is None
    for name in COVERED:
        assert all(tables.pinyin(r) is not None for r in _runs(name)), name


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def test_ascii_words_are_icus_or_none(index: ScreeningIndex) -> None:
    tables = index.readings
    rng = random.Random(7)
    han = "".join(sorted({c for n in NAMES for r in _runs(n) for c in r}))
    alphabet = han * 3 + "aZ09 .,()-&'/_$é"
    texts = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3000)}
    texts |= set(NAMES)
    answered = 0
    for text in sorted(texts):
        got = tables.ascii_words(text)
        if got is not None:
            answered += 1
            assert _words(got) == _words(ascii_text(text)), text
    assert answered > len(texts) // 4
    assert tables.ascii_words("重庆") is None  # ICU reads 重 by its neighbour
    assert tables.ascii_words("华$为") is None  # ICU drops symbols
    for name in COVERED:
        assert tables.ascii_words(name) is not None, name


def test_name_forms_with_the_tables_need_no_pypinyin(
    index: ScreeningIndex, readings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypinyin

    def refuse(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("pypinyin asked")

    monkeypatch.setattr(pypinyin, "lazy_pinyin", refuse)
    for name in COVERED:
        assert normalise.name_forms(name)
    with pytest.raises(AssertionError, match="pypinyin asked"):
        normalise.name_forms("中国银行")
