"""Batch volume aggregation: same figures as parties.aggregate_volumes, streamed by parent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chiptrail.batch.local import read_dataset
from chiptrail.batch.schema import CUSTODY_SCHEMA, VOLUME_SCHEMA
from chiptrail.batch.volumes import (
    VolumeJob,
    aggregate_local,
    aggregate_table,
    parse_ownership_jsonl,
    tpp_of_models,
)
from chiptrail.errors import InvalidInput
from chiptrail.parties.aggregate import CustodyRecord, aggregate_volumes
from chiptrail.types import PartyId

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
OWNERSHIP = [
    {
        "id": "o1",
        "schema": "Ownership",
        "properties": {"owner": ["parent"], "asset": ["buyer-a"], "percentage": ["100"]},
    },
    {
        "id": "o2",
        "schema": "Ownership",
        "properties": {"owner": ["parent"], "asset": ["buyer-b"], "percentage": ["60"]},
    },
    {
        "id": "o3",
        "schema": "Ownership",
        "properties": {"owner": ["fund"], "asset": ["buyer-c"], "percentage": ["50"]},
    },
    {
        "id": "o4",
        "schema": "Ownership",
        "properties": {"owner": ["parent"], "asset": ["buyer-c"], "percentage": ["50"]},
    },
]
ROWS = [
    ("buyer-a", "H100", 1200, 0),
    ("buyer-b", "H100", 1100, 20),
    ("buyer-a", "H20", 900, 100),
    ("buyer-c", "H100", 300, 101),
    ("solo", "H20", 7, 3),
    ("solo", "H20", 11, 50),
]


def ownership_text() -> str:
    return "\n".join(json.dumps(x) for x in OWNERSHIP) + "\n"


def write_custody(path: Path) -> Path:
    file_schema = pa.schema([f for f in CUSTODY_SCHEMA if f.name != "day"])
    for i, (buyer, model, qty, day) in enumerate(ROWS):
        at = T0 + dt.timedelta(days=day, hours=i)
        d = path / f"day={at.date().isoformat()}"
        d.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {"buyer_id": [buyer], "chip_model": [model], "quantity": [qty], "at": [at]},
            schema=file_schema,
        )
        pq.write_table(table, d / f"part-{i}.parquet")
    return path


def test_ownership_gives_ultimate_parents_and_joint_ventures() -> None:
    parents = parse_ownership_jsonl(ownership_text())
    assert parents["buyer-a"] == ("parent",)
    assert parents["buyer-b"] == ("parent",)
    assert set(parents["buyer-c"]) == {"fund", "parent"}  # 50/50: counts for both


def test_bad_ownership_line_is_bad_input() -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        parse_ownership_jsonl(json.dumps(OWNERSHIP[0]) + "\n{not json\n")


def test_local_run_equals_the_core_aggregation(tmp_path: Path) -> None:
    custody = write_custody(tmp_path / "custody")
    parents = parse_ownership_jsonl(ownership_text())
    summary = aggregate_local(custody, parents, tmp_path / "out", window=dt.timedelta(days=30))
    got = {r["parent_id"]: r for r in read_dataset(tmp_path / "out", VOLUME_SCHEMA).to_pylist()}
    records = [
        CustodyRecord(PartyId(b), m, q, T0 + dt.timedelta(days=d, hours=i))
        for i, (b, m, q, d) in enumerate(ROWS)
    ]
    typed = {PartyId(k): tuple(PartyId(p) for p in v) for k, v in parents.items()}
    tpp = tpp_of_models({"H100", "H20"})
    want = aggregate_volumes(records, [], typed, tpp.__getitem__, dt.timedelta(days=30))
    assert set(got) == {v.parent_id for v in want} == {"parent", "fund", "solo"}
    for v in want:
        row = got[v.parent_id]
        assert row["chips"] == v.chips
        assert row["tpp_total"] == v.tpp_total
        assert row["h100_equivalents"] == v.h100_equivalents
        assert row["window_end_at"] == v.window_end_at
        assert row["window_start_at"] == v.window_start_at
        assert row["n_buyers"] == len(v.buyers)
    assert got["parent"]["chips"] == 2300
    assert got["parent"]["split_orders"] is True  # 1200 + 1100 >= 2000, each under it
    assert got["solo"]["split_orders"] is False
    assert summary.parents == 3
    assert summary.records == 6
    assert summary.split_orders == 1


def test_kernel_handles_any_row_order_and_many_parents() -> None:
    rows = {
        "parent_id": ["p2", "p1", "p2", "p1"],
        "buyer_id": ["b", "a", "c", "a"],
        "chip_model": ["H100"] * 4,
        "quantity": [5, 1, 7, 2],
        "at": [T0 + dt.timedelta(days=d) for d in (40, 0, 1, 90)],
    }
    job = VolumeJob(dt.timedelta(days=10), {"H100": 1.0}, h100_tpp=1.0, threshold_chips=10)
    out = aggregate_table(pa.table(rows), job).to_pylist()
    assert [r["parent_id"] for r in out] == ["p1", "p2"]
    assert out[0]["chips"] == 2  # day 0 and day 90 are never in one 10-day window
    assert out[1]["chips"] == 7  # 5 (day 40) and 7 (day 1) neither: the larger wins
    assert out[1]["window_end_at"] == T0 + dt.timedelta(days=1)


def test_unknown_chip_model_is_bad_input() -> None:
    with pytest.raises(InvalidInput, match="unknown chip model"):
        tpp_of_models(["no-such-accelerator-xyz"])
