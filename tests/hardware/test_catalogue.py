"""The built-in catalogue: lookups, sourced figures, TPP arithmetic and malformed documents."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from chiptrail.errors import InvalidInput, NotFound
from chiptrail.hardware import compute_performance_density, compute_tpp, get_model, list_models
from chiptrail.hardware.catalogue import parse_catalogue
from chiptrail.hardware.tpp import tpp_precision

ISSUE_MODELS = [
    "A100", "A800", "H100 SXM", "H100 PCIe", "H800", "H20", "H200", "B200", "B300", "L40S",
    "L20", "RTX 4090", "RTX 4090D", "RTX 5090", "MI250X", "MI300X", "MI325X", "MI355X",
    "Gaudi 2", "Gaudi 3", "Ascend 910B", "Ascend 910C",
]  # fmt: skip


def _text() -> str:
    return resources.files("chiptrail.hardware").joinpath("data/catalogue.json").read_text()


@pytest.mark.parametrize("name", ISSUE_MODELS)
def test_every_model_of_the_issue_is_listed(name: str) -> None:
    assert get_model(name) in list_models()


@pytest.mark.parametrize("spelling", ["h100-sxm", "H100 SXM", "h100_sxm", "H100SXM5 80GB", "H100"])
def test_lookup_ignores_case_and_punctuation(spelling: str) -> None:
    assert get_model(spelling).model_id == "h100-sxm"


def test_unknown_model_lists_close_names() -> None:
    with pytest.raises(NotFound) as err:
        get_model("H10O")
    close = err.value.details["close_matches"]
    assert isinstance(close, list)
    assert "H100 SXM5 80GB" in close
    assert "H100 SXM5 80GB" in err.value.message


def test_every_known_figure_names_a_source() -> None:
    for model in list_models():
        figures = [*model.dense_tops.values(), model.memory_gb, model.memory_bandwidth_gbps]
        if model.die_area_mm2.value is not None:
            figures.append(model.die_area_mm2)
        for figure in figures:
            assert figure.sources, model.model_id
            assert all(url.startswith("https://") for url in figure.sources)
        if model.die_area_mm2.value is None:
            assert model.die_area_mm2.note, f"{model.model_id}: say why the area is unknown"


@pytest.mark.parametrize(
    ("name", "tpp"),
    [
        ("A100", 4992),
        ("H100 SXM", 15832),
        ("H100 PCIe", 12104),
        ("H20", 2368),
        ("B200", 36000),
        ("B300", 56000),
        ("L40S", 5864),
        ("L20", 1912),
        ("RTX 4090", 5284.8),
        ("RTX 5090", 6707.2),
        ("MI250X", 6128),
        ("MI300X", 20919.2),
        ("MI355X", 60397.8),
        ("Gaudi 2", 6920),
        ("Gaudi 3", 29360),
    ],
)
def test_known_tpp_values(name: str, tpp: float) -> None:
    assert get_model(name).tpp == pytest.approx(tpp)


def test_tpp_is_the_maximum_over_precisions() -> None:
    assert compute_tpp({"fp8": 1979, "fp16": 989.5}) == 15832
    assert compute_tpp({"fp4": 10066.3, "fp6": 10066.3, "fp8": 5033.2}) == pytest.approx(60397.8)
    assert tpp_precision({"fp4": 10066.3, "fp6": 10066.3, "fp8": 5033.2}) == "fp6"
    assert tpp_precision({"fp8": 1979, "fp16": 989.5}) == "fp16"  # a tie goes to the widest


@pytest.mark.parametrize(
    ("tops", "field"),
    [({}, "dense_tops"), ({"tf32": 1.0}, "dense_tops.tf32"), ({"fp8": -1.0}, "dense_tops.fp8")],
    ids=["empty", "TF32 is not counted", "negative"],
)
def test_bad_throughput(tops: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        compute_tpp(tops)
    assert err.value.details["field"] == field


def test_performance_density() -> None:
    assert compute_performance_density(15832, 814) == pytest.approx(19.45, abs=0.005)
    with pytest.raises(InvalidInput):
        compute_performance_density(100, 0)


def test_reference_items_are_marked() -> None:
    assert get_model("Ascend 910C").reference_only
    assert not get_model("H100").reference_only


def test_to_dict_keeps_sources() -> None:
    wire = get_model("H100").to_dict()
    fp8 = wire["dense_tops"]["fp8"]  # type: ignore[index]
    assert fp8["value"] == 1979
    assert fp8["sources"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["models"][0].pop("name"),
        lambda d: d["models"][0]["memory_gb"].update(value=-1),
        lambda d: d["models"][0]["memory_gb"].update(sources=["no-such-source"]),
        lambda d: d["models"][1].update(aliases=["A100"]),
        lambda d: d["models"][0].update(dense_tops=[]),
    ],
    ids=["missing field", "negative figure", "unknown source", "duplicate alias", "bad tops"],
)
def test_malformed_catalogue_is_refused(mutate: object) -> None:
    doc = json.loads(_text())
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        parse_catalogue(json.dumps(doc))


def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_catalogue("not json")
