"""Our catalogue against the shared compilation (shared/data/accelerators.csv).

The catalogue was typed in from the vendors' sources, not copied; this test shows that the only
differences are the ones docs/export-controls.md explains.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chiptrail.errors import NotFound
from chiptrail.hardware import Accelerator, classify_item, get_model

# model id -> field -> why we differ (see docs/export-controls.md, "What we corrected").
DOCUMENTED = {
    "mi300x": {"die_area_mm2": "1017 mm2 is not the sum of the 12 FinFET logic dies"},
    "mi325x": {"die_area_mm2": "as MI300X"},
    "mi355x": {"die_area_mm2": "1017 mm2 is the MI300X figure reused"},
}


def _rows(shared: Path) -> list[tuple[dict[str, str], Accelerator]]:
    path = shared / "data" / "accelerators.csv"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    pairs = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                pairs.append((row, get_model(row["model"])))
            except NotFound:
                continue  # variants we do not list (H100 NVL, H200 NVL, GB300, RTX 5090 D)
    return pairs


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def test_same_tpp_and_memory_as_the_shared_compilation(shared: Path) -> None:
    pairs = _rows(shared)
    assert len(pairs) >= 20
    for row, model in pairs:
        assert model.tpp == pytest.approx(float(row["tpp"]), rel=1e-3), model.model_id
        assert model.memory_bandwidth_gbps.value == _num(row["memory_bw_gbps"]), model.model_id
        assert model.designed_for_datacenter == (row["designed_for_datacenter"] == "True")


def test_die_areas_differ_only_where_documented(shared: Path) -> None:
    for row, model in _rows(shared):
        theirs = _num(row["die_area_mm2"])
        if model.die_area_mm2.value != theirs:
            assert "die_area_mm2" in DOCUMENTED.get(model.model_id, {}), model.model_id


def test_same_class_as_the_shared_compilation(shared: Path) -> None:
    for row, model in _rows(shared):
        ours = classify_item(model).eccn.value
        theirs = row["eccn_3a090"]
        if theirs.startswith("3A090.a"):
            assert ours == "3A090.a", model.model_id
        elif theirs.startswith("not"):
            assert ours == "not-3A090", model.model_id
