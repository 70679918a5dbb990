"""``chiptrail geoloc locate|verify|plan|map``: the output contract, exit codes, bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app
from tests.geoloc.fixtures import PLACES, asia_landmarks, geoloc_data_dir, rtt_from

__all__ = ["geoloc_data_dir"]

runner = CliRunner()


def _err(res: object) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(str(res.stderr).split())  # type: ignore[attr-defined]


@pytest.fixture
def files(
    tmp_path: Path, geoloc_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    monkeypatch.setenv("CHIPTRAIL_DATA_DIR", str(geoloc_data_dir))
    lm = asia_landmarks()
    (tmp_path / "L.csv").write_text(
        "landmark_id,lat,lon\n"
        + "".join(f"{m.landmark_id},{m.lat},{m.lon}\n" for m in lm.landmarks)
    )
    rows = ["target_id,landmark_id,rtt_ms"]
    for target, place in (("chip-sz", "shenzhen"), ("chip-jb", "johor")):
        rtt = rtt_from(lm, *PLACES[place])
        rows += [
            f"{target},{m.landmark_id},{r:.4f}" for m, r in zip(lm.landmarks, rtt, strict=True)
        ]
        rows += [f"{target},{lm.landmarks[0].landmark_id},{rtt[0] + 5:.4f}"]  # repeat: min counts
    (tmp_path / "R.csv").write_text("\n".join(rows) + "\n")
    bad = [*rows, "chip-sz,nowhere,1.0", "chip-sz,tokyo,-3", "chip-x,tokyo,nan"]
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n")
    (tmp_path / "S.csv").write_text(
        "target_id,lat,lon,country,radius_km\n"
        f"chip-sz,{PLACES['johor'][0]},{PLACES['johor'][1]},MY,\n"
        f"chip-jb,{PLACES['johor'][0]},{PLACES['johor'][1]},MY,100\n"
    )
    (tmp_path / "P.csv").write_text(
        "a_name,a_lat,a_lon,b_name,b_lat,b_lon\n"
        "Johor,1.4927,103.7414,Shenzhen,22.5431,114.0579\n"
        "Taipei,25.033,121.5654,Fuzhou,26.0745,119.2965\n"
    )
    (tmp_path / "D.csv").write_text("landmark_id,lat,lon\nsg,1.29,103.85\n")
    (tmp_path / "C.csv").write_text("landmark_id,lat,lon\ntpe,25.03,121.56\nkul,3.14,101.69\n")
    return {p.stem: p for p in tmp_path.glob("*.csv")}


def test_locate_writes_the_contract(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    res = runner.invoke(
        app,
        [
            "geoloc",
            "locate",
            "--landmarks",
            str(files["L"]),
            "--rtt",
            str(files["R"]),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = {r["target_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"chip-sz", "chip-jb"}
    for r in rows.values():
        assert {
            "target_id",
            "lat",
            "lon",
            "proven_countries",
            "likely_countries",
            "proven_radius_km",
            "n_landmarks",
        } <= set(r)
        assert isinstance(r["lat"], float)
        assert r["n_landmarks"] == 5
    assert "CN" in rows["chip-sz"]["proven_countries"]
    assert "MY" in rows["chip-jb"]["proven_countries"]


def test_bad_rows_are_skipped_or_fail_under_strict(files: dict[str, Path]) -> None:
    args = ["geoloc", "locate", "--landmarks", str(files["L"]), "--rtt", str(files["bad"])]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "unknown landmark id 'nowhere'" in _err(res)
    assert "must be a finite number >= 0" in _err(res)
    assert "'chip-x' has no valid measurement" in _err(res)
    assert len([line for line in res.stdout.splitlines() if line.startswith("{")]) == 2
    res = runner.invoke(app, [*args, "--strict"])
    assert res.exit_code == 2
    assert "bad input row" in _err(res)


def test_bad_coordinates_are_reported(files: dict[str, Path], tmp_path: Path) -> None:
    lm = tmp_path / "L2.csv"
    lm.write_text(files["L"].read_text() + "bogus,95.0,10.0\n")
    res = runner.invoke(
        app, ["geoloc", "locate", "--landmarks", str(lm), "--rtt", str(files["R"]), "--strict"]
    )
    assert res.exit_code == 2
    assert "latitude 95.0 is outside" in _err(res)


def test_verify_exits_1_on_violation(files: dict[str, Path]) -> None:
    res = runner.invoke(
        app,
        [
            "geoloc",
            "verify",
            "--landmarks",
            str(files["L"]),
            "--rtt",
            str(files["R"]),
            "--sites",
            str(files["S"]),
        ],
    )
    assert res.exit_code == 1, res.output
    rows = {
        r["target_id"]: r
        for r in map(json.loads, [x for x in res.stdout.splitlines() if x.startswith("{")])
    }
    assert rows["chip-sz"]["verdict"] == "VIOLATION"
    assert rows["chip-sz"]["evidence"][0]["landmark_id"] == "hong_kong"
    assert rows["chip-jb"]["verdict"] == "VERIFIED"


def test_plan_json(files: dict[str, Path]) -> None:
    res = runner.invoke(
        app,
        [
            "geoloc",
            "plan",
            "--deployed",
            str(files["D"]),
            "--candidates",
            str(files["C"]),
            "--pairs",
            str(files["P"]),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["additions"] == ["tpe"]
    assert [p["separated"] for p in data["planned"]] == [True, True]


@pytest.mark.parametrize("suffix", [".html", ".svg", ".geojson", ".png"])
def test_map_outputs(files: dict[str, Path], tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"map{suffix}"
    res = runner.invoke(
        app,
        [
            "geoloc",
            "map",
            "--landmarks",
            str(files["L"]),
            "--rtt",
            str(files["R"]),
            "--target",
            "chip-sz",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    data = out.read_bytes()
    if suffix == ".geojson":
        fc = json.loads(data)
        kinds = {f["properties"]["kind"] for f in fc["features"]}
        assert {"proven_region", "likely_region", "estimate", "landmark", "proven_disk"} <= kinds
    elif suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        assert b"<svg" in data
        assert b"http" not in data.replace(b"http://www.w3.org/2000/svg", b"")
