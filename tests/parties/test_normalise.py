"""Name normalisation: legal forms, accents, Chinese script, idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chiptrail.parties.normalise import has_cjk, load_org_words, name_forms, normalise_name, ru_stem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Huawei Technologies Co., Ltd.", "huawei"),
        ("SOPHGO TECHNOLOGIES PTE. LTD.", "sophgo"),
        ("Example Trading Sdn. Bhd.", "example trading"),
        ("Siemens GmbH", "siemens"),
        ("Société Générale S.A.", "societe generale"),
        ("ООО Рога и Копыта", "roga i kopyta"),
        ("Co., Ltd.", "co ltd"),
        ("华为技术有限公司", "huawei"),
        ("中科曙光", "zhongkeshuguang"),
        ("A&B Limited", "a b"),
    ],
    ids=[
        "legal form and technology word",
        "upper case Pte Ltd",
        "Malaysian Sdn Bhd",
        "German GmbH",
        "accents and dotted S.A.",
        "Cyrillic transliterated",
        "only legal forms are kept",
        "Chinese with 技术 and 有限公司",
        "Chinese brand kept as pinyin in the plain form",
        "ampersand",
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_chinese_names_get_a_glossed_form_with_known_brands() -> None:
    forms = name_forms("浪潮电子信息产业股份有限公司")
    assert forms == (
        "langchao dianzi xinxi chanye",
        "inspur electronic information industry",
        "inspur",
    )
    assert name_forms("中芯国际集成电路制造(北京)有限公司")[-2:] == ("smic beijing", "smic")
    assert name_forms("北京电子有限公司") == ("beijing dianzi", "beijing electronic")
    assert name_forms("中科曙光")[-1] == "sugon"
    assert has_cjk("Huawei 华为")
    assert not has_cjk("Huawei")


def test_latin_names_have_one_form() -> None:
    assert name_forms("Inspur Group") == ("inspur",)
    assert name_forms("...") == ()


@settings(deadline=None)
@given(st.text(max_size=40))
def test_normalisation_is_idempotent(raw: str) -> None:
    once = normalise_name(raw)
    assert normalise_name(once) == once


@settings(deadline=None)
@given(st.text(alphabet="华为中科曙光浪潮有限公司技术 abcCo.,Ltd", max_size=20))
def test_normalisation_is_idempotent_on_mixed_scripts(raw: str) -> None:
    once = normalise_name(raw)
    assert normalise_name(once) == once
    assert once.isascii()


ORG_AND_PERSON_SAMPLES = [
    "obshchestvo s ogranichennoi otvetstvennostyu gazprom neft shelf",
    "aktsionernoe obshchestvo 150 aircraft repair plant",
    "example trading sdn bhd",
    "societe generale sa",
    "acme widgets gmbh co kg",
    "mr john smith",
    "dr. sheikh omar al-mukhtar",
    "h.e. lady jane roe",
    "huawei",
    "",
]


@pytest.mark.parametrize("text", ORG_AND_PERSON_SAMPLES)
def test_lean_rigour_calls_match_the_public_functions(text: str) -> None:
    """normalise imports rigour._core, not rigour.names (100 ms of imports): same answers."""
    import rigour.names
    from rigour.text.phonetics import metaphone as rigour_metaphone

    from chiptrail.parties import normalise

    assert normalise.remove_org_types(text) == rigour.names.remove_org_types(text)
    assert normalise.remove_person_prefixes(text) == rigour.names.remove_person_prefixes(text)
    for word in text.split():
        assert normalise.metaphone(word) == rigour_metaphone(word)


@settings(deadline=None)  # the first example loads rigour's name analysis
@given(st.integers(min_value=0, max_value=10**30))
def test_plain_numbers_skip_rigour_with_the_same_result(number: int) -> None:
    from chiptrail.parties.normalise import _numbers, _numbers_by_rigour

    tokens = (str(number), "aircraft", "plant")
    assert _numbers(tokens) == _numbers_by_rigour(tokens)


def test_organisation_words_give_a_second_form() -> None:
    assert name_forms("AO Zavolzhskiy Zavod Gusenichnikh Tyagachey") == (
        "zavolzhskiy zavod gusenichnikh tyagachey",
        "zavolzhskiy plant gusenichnikh tyagachey",
    )
    assert name_forms("Daesung International Trading") == (
        "daesung international trading",
        "daesung international trade",
    )
    assert name_forms("Nauchno-Issledovatelskiy Institut Imeni Girikond")[-1] == (
        "scientific research institute named after girikond"
    )
    assert name_forms("Huawei Technologies") == ("huawei",)
    # the name as written stays the canonical form
    assert normalise_name("Zavod Iskra") == "zavod iskra"


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("mekhanicheskikh", "mekhanichesk"),
        ("mekhanicheskiy", "mekhanichesk"),
        ("kosmicheskie", "kosmichesk"),
        ("priborov", "pribor"),
        ("zona", "zona"),
        ("plant", "plant"),
    ],
    ids=["genitive plural", "masculine", "plural", "-ov", "too short to cut", "english"],
)
def test_russian_stem(word: str, stem: str) -> None:
    assert ru_stem(word) == stem


def test_case_forms_of_glossed_russian_words_are_glossed() -> None:
    # "mekhanicheskiy" and "elektronny" are glossed words; other case forms gloss through the stem
    assert name_forms("AO NII Elektronno-Mekhanicheskikh Priborov") == (
        "nii elektronno mekhanicheskikh priborov",
        "nii electronic mechanical devices",
    )
    assert name_forms("Kosmicheskie Sistemy")[-1] == "space system"


def test_learned_gloss_is_read_and_hand_written_wins() -> None:
    hand, hand_stems = load_org_words(("org_words.json",))
    words, stems = load_org_words()
    assert "pribor" not in hand_stems
    assert stems["pribor"] == ("devices",)  # org_words_learned.json
    assert all(words[w] == g for w, g in hand.items())
    assert all(stems[s] == g for s, g in hand_stems.items())
