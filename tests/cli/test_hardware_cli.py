"""`chiptrail classify`, `chiptrail license-check` and `chiptrail hardware list|show`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_classify_whole_catalogue_as_json() -> None:
    code, out = _run("classify", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["rules_as_of"] == "2026-01-15"
    by_id = {m["model_id"]: m for m in doc["models"]}
    assert by_id["h100-sxm"]["eccn"] == "3A090.a"
    assert by_id["h100-sxm"]["h100_equivalents"] == 1.0
    assert by_id["h20"]["eccn"] == "not-3A090"
    assert len(by_id) >= 22


def test_classify_whole_catalogue_as_table() -> None:
    code, out = _run("classify")
    assert code == 0
    for text in ("H100 SXM5 80GB", "15,832", "3A090.a.1", "Note 2", "H100-eq", "19.45"):
        assert text in out


def test_classify_one_model_with_quantity() -> None:
    code, out = _run("classify", "h100-sxm", "--quantity", "8", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["system"]["eccn"] == "4A090.a"
    assert doc["system"]["total_tpp"] == 126656
    assert doc["model"]["dense_tops"]["fp8"]["sources"]


def test_classify_custom_figures() -> None:
    code, out = _run("classify", "--tpp", "1600", "--die-area", "500", "--json")
    assert code == 0
    assert json.loads(out)["classification"]["paragraph"] == "3A090.b.2"
    code, out = _run("classify", "--tpp", "4700", "--die-area", "500", "--not-datacenter")
    assert code == 0
    assert "Note 2" in out


def test_classify_hbm() -> None:
    code, out = _run("classify", "--hbm-density", "2.5", "--json")
    assert code == 0
    assert json.loads(out)["classification"]["eccn"] == "3A090.c"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["classify", "H10O"], "H100 SXM5 80GB"),
        (["classify", "--tpp", "-5"], "tpp"),
        (["classify", "--tpp", "3000"], "die_area_mm2"),
        (["classify", "--die-area", "500"], "tpp"),
        (["classify", "--tpp", "3000", "--die-area", "0"], "die_area_mm2"),
        (["classify", "H100", "--tpp", "3000"], "tpp"),
        (["classify", "H100", "--quantity", "0"], "quantity"),
        (["license-check", "--item", "H100", "--quantity", "1", "--to", "XX"], "destination"),
        (["license-check", "--item", "H100", "--quantity", "0", "--to", "SG"], "quantity"),
        (["license-check", "--item", "Nope", "--quantity", "1", "--to", "SG"], "Nope"),
        (["hardware", "show", "MI300"], "MI300X"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_bad_input_exits_2_with_a_message(args: list[str], needle: str) -> None:
    code, out = _run(*args)
    assert code == 2
    assert needle in out


@pytest.mark.parametrize(
    ("args", "code", "decision"),
    [
        (["--item", "H100", "--quantity", "8", "--to", "CN"], 1, "license-required"),
        (["--item", "RTX 4090", "--quantity", "8", "--to", "AE"], 0, "license-exception"),
        (["--item", "H100", "--quantity", "8", "--to", "de"], 0, "no-license-required"),
        (
            ["--item", "H100", "--quantity", "1", "--to", "DE", "--end-user", "Huawei Tech Co"],
            0,
            "no-license-required",
        ),
        (
            [
                "--item",
                "H100",
                "--quantity",
                "1",
                "--to",
                "DE",
                "--end-user",
                "huawei technologies",
            ],
            1,
            "license-required",
        ),
        (
            ["--item", "H100", "--quantity", "1", "--to", "MY", "--end-user-hq", "CN"],
            1,
            "license-required",
        ),
    ],
    ids=["H100 to China", "RTX 4090 to UAE", "H100 to Germany", "near miss", "listed", "CN HQ"],
)
def test_license_check_exit_codes(args: list[str], code: int, decision: str) -> None:
    exit_code, out = _run("license-check", *args, "--json")
    assert exit_code == code
    assert json.loads(out)["decision"] == decision


def test_license_check_text_cites_paragraphs() -> None:
    code, out = _run("license-check", "--item", "H100", "--quantity", "8", "--to", "CN")
    assert code == 1
    assert "742.6(a)(6)(iii)" in out
    assert "rules as of 2026-01-15" in out
    assert "H100-equivalents" in out


def test_license_check_with_injected_parties_and_rules(tmp_path: Path) -> None:
    parties = tmp_path / "parties.txt"
    parties.write_text("# restricted\nAcme Compute Pte Ltd\n")
    args = ["license-check", "--item", "H20", "--quantity", "1", "--to", "SG", "--json"]
    code, out = _run(*args, "--end-user", "ACME COMPUTE", "--restricted", str(parties))
    assert code == 1
    assert json.loads(out)["rule_id"] == "entity-list"

    text = resources.files("chiptrail.hardware").joinpath("data/rules_2026-01-15.json").read_text()
    doc = json.loads(text)
    doc["country_groups"]["D:4"].append("MY")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(doc))
    base = ["license-check", "--item", "H100", "--quantity", "1", "--to", "MY"]
    assert _run(*base)[0] == 0
    assert _run(*base, "--rules", str(rules))[0] == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert _run(*base, "--rules", str(broken))[0] == 2
    assert _run(*base, "--rules", str(tmp_path / "missing.json"))[0] == 2


def test_hardware_list_and_show() -> None:
    code, out = _run("hardware", "list", "--json")
    assert code == 0
    assert {row["model_id"] for row in json.loads(out)} >= {"h100-sxm", "mi355x"}
    code, out = _run("hardware", "list")
    assert code == 0
    assert "MI355X" in out
    code, out = _run("hardware", "show", "H20")
    assert code == 0
    assert "https://" in out
    code, out = _run("hardware", "show", "H20", "--json")
    assert json.loads(out)["classification"]["eccn"] == "not-3A090"
