"""``chiptrail batch simulate|locate|aggregate`` end to end on the local path."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from chiptrail.cli.main import app
from tests.batch.test_volumes import ownership_text, write_custody

runner = CliRunner()


def test_simulate_then_locate_reports_violations(tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    r = runner.invoke(
        app,
        [
            "batch",
            "simulate",
            "--chips",
            "120",
            "--landmarks",
            "6",
            "--out",
            str(sim),
            "--seed",
            "4",
            "--diverted-share",
            "0.2",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["chips"] == 120
    assert made["diverted"] > 0
    r = runner.invoke(
        app,
        [
            "batch",
            "locate",
            "--measurements",
            str(sim / "measurements"),
            "--landmarks",
            str(sim / "landmarks.csv"),
            "--sites",
            str(sim / "sites.parquet"),
            "--out",
            str(tmp_path / "v"),
            "--no-countries",
            "--grid-size",
            "8",
            "--json",
        ],
    )
    assert r.exit_code == 1, r.output  # diverted chips are VIOLATIONs: a finding
    summary = json.loads(r.stdout)
    assert summary["chips"] == 120
    assert summary["verdicts"]["VIOLATION"] >= made["diverted"] // 2
    args = [
        "batch",
        "locate",
        "--measurements",
        str(sim / "measurements"),
        "--landmarks",
        str(sim / "landmarks.csv"),
        "--sites",
        str(sim / "sites.parquet"),
        "--no-countries",
        "--grid-size",
        "8",
        "--json",
    ]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "v2"), "--workers", "2"])
    assert r.exit_code == 1, r.output
    again = json.loads(r.stdout)
    assert {k: v for k, v in again.items() if k != "out"} == {
        k: v for k, v in summary.items() if k != "out"
    }
    r = runner.invoke(
        app, [*args, "--out", str(tmp_path / "v3"), "--workers", "2", "--spark", "local[2]"]
    )
    assert r.exit_code == 2, r.output  # --workers is for the local path
    assert "workers" in r.output


def test_locate_bad_landmarks_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "L.csv"
    bad.write_text("landmark_id,lat,lon\na,95,0\n")
    r = runner.invoke(
        app,
        [
            "batch",
            "locate",
            "--measurements",
            str(tmp_path),
            "--landmarks",
            str(bad),
            "--out",
            str(tmp_path / "v"),
            "--no-countries",
        ],
    )
    assert r.exit_code == 2
    assert "latitude 95.0 is outside" in r.output


def test_aggregate_flags_split_orders(tmp_path: Path) -> None:
    custody = write_custody(tmp_path / "custody")
    owners = tmp_path / "owners.jsonl"
    owners.write_text(ownership_text())
    r = runner.invoke(
        app,
        [
            "batch",
            "aggregate",
            "--custody",
            str(custody),
            "--ownership",
            str(owners),
            "--out",
            str(tmp_path / "v"),
            "--json",
        ],
    )
    assert r.exit_code == 1, r.output
    assert json.loads(r.stdout) == {
        "out": str(tmp_path / "v"),
        "parents": 3,
        "records": 6,
        "split_orders": 1,
    }


def test_simulate_refuses_too_many_landmarks(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["batch", "simulate", "--chips", "5", "--landmarks", "999", "--out", str(tmp_path / "s")],
    )
    assert r.exit_code == 2
