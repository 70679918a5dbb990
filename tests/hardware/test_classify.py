"""ECCN 3A090/4A090 classification: every threshold at its exact value, Note 2, systems, HBM."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware import (
    Eccn,
    classify_hbm,
    classify_item,
    classify_system,
    h100_equivalents,
)

A, B, NOT = Eccn.A3A090_A, Eccn.A3A090_B, Eccn.NOT_3A090

# (tpp, die_area_mm2, expected class, expected paragraph). Areas are chosen so that the PD
# division is exact in binary floating point, e.g. 2960 / 500 == 5.92.
BOUNDARIES = [
    (4800, None, A, "3A090.a.1"),
    (4800, 100000, A, "3A090.a.1"),
    (4799.99, 4000, NOT, ""),
    (2960, 500, A, "3A090.a.2"),
    (2959.99, 500, B, "3A090.b.1"),
    (1600, 200, A, "3A090.a.2"),
    (1599.99, 200, NOT, ""),
    (2400, 1500, B, "3A090.b.1"),
    (2400, 1500.01, NOT, ""),
    (2399.99, 1500, NOT, ""),
    (4799.99, 1500, B, "3A090.b.1"),
    (1600, 500, B, "3A090.b.2"),
    (1600, 500.01, NOT, ""),
    (1599.99, 500, NOT, ""),
    (2368, 814, NOT, ""),
    (1000, None, NOT, ""),
]


@pytest.mark.parametrize(
    ("tpp", "area", "eccn", "paragraph"),
    BOUNDARIES,
    ids=[
        "a.1 at TPP 4800 without area",
        "a.1 at TPP 4800 whatever the PD",
        "just under 4800 with PD 1.2 is nothing",
        "a.2 at PD exactly 5.92",
        "PD just under 5.92 falls to b.1",
        "a.2 at TPP exactly 1600",
        "TPP just under 1600 is nothing",
        "b.1 at TPP 2400 and PD 1.6",
        "PD just under 1.6 is nothing",
        "TPP just under 2400 with PD under 3.2 is nothing",
        "b.1 just under 4800",
        "b.2 at TPP 1600 and PD 3.2",
        "PD just under 3.2 is nothing",
        "b.2 needs TPP 1600",
        "H20-like figures are nothing",
        "under 1600 needs no area",
    ],
)
def test_threshold_boundaries(tpp: float, area: float | None, eccn: Eccn, paragraph: str) -> None:
    result = classify_item(tpp=tpp, die_area_mm2=area)
    assert (result.eccn, result.paragraph) == (eccn, paragraph)
    assert result.reasons


def test_boundary_areas_give_exact_densities() -> None:
    # Guards the table above: the densities really are the threshold values.
    assert classify_item(tpp=2960, die_area_mm2=500).performance_density == 5.92
    assert classify_item(tpp=2400, die_area_mm2=1500).performance_density == 1.6
    assert classify_item(tpp=1600, die_area_mm2=500).performance_density == 3.2


@pytest.mark.parametrize(
    ("tpp", "area", "eccn", "paragraph", "nac_aca"),
    [
        (4799.99, 500, NOT, "Note 2 to 3A090", False),
        (4800, 500, A, "3A090.a.1", True),
        (2400, 1500, NOT, "Note 2 to 3A090", False),
    ],
    ids=["gaming card under 4800 is free", "gaming card at 4800 is a.1", "Note 2 beats b.1"],
)
def test_note_2_non_datacenter(
    tpp: float, area: float, eccn: Eccn, paragraph: str, nac_aca: bool
) -> None:
    result = classify_item(tpp=tpp, die_area_mm2=area, designed_for_datacenter=False)
    assert (result.eccn, result.paragraph, result.nac_aca_eligible) == (eccn, paragraph, nac_aca)


def test_b_items_are_nac_aca_eligible_and_datacenter_a_items_are_not() -> None:
    assert classify_item(tpp=2400, die_area_mm2=1500).nac_aca_eligible
    assert not classify_item(tpp=4800).nac_aca_eligible


@pytest.mark.parametrize(
    ("name", "eccn", "paragraph"),
    [
        ("H100", A, "3A090.a.1"),
        ("A100", A, "3A090.a.1"),
        ("H20", NOT, ""),
        ("L20", NOT, ""),
        ("RTX 4090", A, "3A090.a.1"),
        ("RTX 4090 D", NOT, "Note 2 to 3A090"),
        ("MI355X", A, "3A090.a.1"),
    ],
)
def test_catalogue_models(name: str, eccn: Eccn, paragraph: str) -> None:
    result = classify_item(name)
    assert (result.eccn, result.paragraph) == (eccn, paragraph)


def test_custom_figures_need_area_between_1600_and_4800() -> None:
    with pytest.raises(InvalidInput) as err:
        classify_item(tpp=3000)
    assert err.value.details["field"] == "die_area_mm2"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tpp": -1.0}, "tpp"),
        ({"tpp": float("nan")}, "tpp"),
        ({"tpp": 3000.0, "die_area_mm2": 0.0}, "die_area_mm2"),
        ({"tpp": 3000.0, "die_area_mm2": -5.0}, "die_area_mm2"),
        ({}, "tpp"),
    ],
    ids=["negative tpp", "nan tpp", "zero area", "negative area", "nothing given"],
)
def test_bad_figures_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        classify_item(**kwargs)  # type: ignore[arg-type]
    assert err.value.details["field"] == field


def test_model_and_figures_together_are_refused() -> None:
    with pytest.raises(InvalidInput):
        classify_item("H100", tpp=100.0)


def test_server_of_eight_h100_sums_tpp() -> None:
    system = classify_system("H100 SXM", 8)
    assert system.eccn is Eccn.A4A090_A
    assert system.total_tpp == 8 * 15832
    assert system.h100_equivalents == pytest.approx(8.0)


def test_server_class_follows_the_contained_ic() -> None:
    # 4A090 covers computers *containing* 3A090 ICs: eight H20s sum to TPP 18944, yet no
    # IC meets 3A090, so the server is not 4A090 (the sum answers the quantity question).
    system = classify_system("H20", 8)
    assert system.eccn is Eccn.NOT_3A090
    assert system.total_tpp == 8 * 2368
    b_item = classify_item(tpp=2400, die_area_mm2=1500)
    assert classify_system(b_item, 4).eccn is Eccn.A4A090_B


@pytest.mark.parametrize("quantity", [0, -3])
def test_quantity_must_be_positive(quantity: int) -> None:
    with pytest.raises(InvalidInput) as err:
        classify_system("H100", quantity)
    assert err.value.details["field"] == "quantity"


def test_h100_equivalents() -> None:
    assert h100_equivalents("H100 SXM") == 1.0
    assert h100_equivalents("B200", 10) == pytest.approx(10 * 36000 / 15832)
    assert h100_equivalents("H20", 1000) == pytest.approx(1000 * 2368 / 15832)
    with pytest.raises(NotFound):
        h100_equivalents("H1000")


@pytest.mark.parametrize(
    ("density", "eccn", "exception"),
    [
        (2.0, NOT, False),
        (2.0001, Eccn.A3A090_C, True),
        (3.2999, Eccn.A3A090_C, True),
        (3.3, Eccn.A3A090_C, False),
    ],
    ids=["2.0 exactly is not controlled", "just over 2", "just under 3.3", "3.3 exactly"],
)
def test_hbm_boundaries(density: float, eccn: Eccn, exception: bool) -> None:
    result = classify_hbm(density)
    assert (result.eccn, result.hbm_exception_eligible) == (eccn, exception)


def test_hbm_co_packaged_and_negative() -> None:
    assert classify_hbm(5.0, co_packaged_with_logic=True).eccn is NOT
    with pytest.raises(InvalidInput):
        classify_hbm(-1.0)


_RANK = {NOT: 0, B: 1, A: 2}


@given(
    tpp=st.floats(min_value=0, max_value=20000, allow_nan=False),
    extra=st.floats(min_value=0, max_value=5000, allow_nan=False),
    area=st.floats(min_value=50, max_value=3000, allow_nan=False),
)
def test_more_tpp_on_the_same_die_never_lowers_the_class(
    tpp: float, extra: float, area: float
) -> None:
    low = classify_item(tpp=tpp, die_area_mm2=area)
    high = classify_item(tpp=tpp + extra, die_area_mm2=area)
    assert _RANK[high.eccn] >= _RANK[low.eccn]
