"""`chiptrail screen`, `chiptrail lists ...` and `chiptrail parties ...` end to end on SQLite."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chiptrail.cli.main import app

runner = CliRunner()
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "parties"


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.db")
    code, out = _run("lists", "load", str(VECTORS / "csl.csv"), "--db", path)
    assert code == 0, out
    assert "loaded us-csl" in out
    return path


def test_screen_single_name_exit_codes(db: str) -> None:
    code, out = _run("screen", "Sophon", "--country", "CN", "--db", db, "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["matches"][0]["party_id"] == "us-csl.a1b2c3"
    assert "alias 'Sophon'" in doc["matches"][0]["explanation"]
    assert doc["matches"][0]["listed_on"] == "2025-01-16"
    code, out = _run("screen", "Sophon", "--identifier", "X-1", "--person", "--db", db, "--json")
    assert code == 1
    assert json.loads(out)["query"]["identifiers"] == ["X-1"]
    code, out = _run("screen", "Acme Widgets Inc", "--db", db)
    assert code == 0
    assert "no match" in out


def test_screen_against_a_list_file_and_bad_country(tmp_path: Path) -> None:
    code, out = _run("screen", "Aerocaribbean Airline", "--list", str(VECTORS / "sdn.csv"))
    assert code == 1
    assert "ofac-sdn.36" in out
    code, out = _run("screen", "X", "--country", "ZZ", "--list", str(VECTORS / "sdn.csv"))
    assert code == 2
    assert "ISO 3166-1" in out


def test_batch_screen_writes_matches_csv(db: str, tmp_path: Path) -> None:
    queries = tmp_path / "q.csv"
    queries.write_text("query_id,name,country\nq1,Sophgo Technologies,CN\nq2,Plain Bakery,\n")
    out_csv = tmp_path / "m.csv"
    code, _ = _run("screen", "--names", str(queries), "--out", str(out_csv), "--db", db)
    assert code == 1
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["query_id"] for r in rows] == ["q1"]
    assert rows[0]["entity_id"] == "us-csl.a1b2c3"
    assert set(rows[0]) == {"query_id", "entity_id", "score", "list", "matched_name", "listed_on"}
    assert rows[0]["listed_on"] == "2025-01-16"


def test_lists_update_offline_and_from_file(db: str) -> None:
    code, out = _run("lists", "update", "--list-id", "us-csl", "--timeout-s", "0.5", "--db", db)
    assert code == 69
    assert "--from FILE" in " ".join(out.split())
    code, out = _run("lists", "update", "--from", str(VECTORS / "csl.json"), "--db", db)
    assert code == 0
    assert "replaced us-csl" in out
    code, out = _run("lists", "show", "--db", db, "--json")
    assert json.loads(out)[0]["entry_count"] == 2


def test_malformed_list_is_exit_2_and_keeps_the_old_list(db: str) -> None:
    bad = str(VECTORS / "bad_missing_column.csv")
    code, out = _run("lists", "load", bad, "--format", "csl-csv", "--db", db)
    assert code == 2
    assert "missing column" in out
    code, out = _run("lists", "show", "--db", db, "--json")
    assert json.loads(out)[0]["entry_count"] == 4


def test_parties_add_show_owners_aggregate_tenancy(db: str, tmp_path: Path) -> None:
    code, out = _run("parties", "add", str(VECTORS / "ftm.jsonl"), "--db", db)
    assert code == 0
    assert "added 3 parties, 1 ownerships, 1 directorships" in out
    code, out = _run("parties", "owners", "co-sub", "--db", db, "--json")
    assert code == 0
    assert json.loads(out)["parents"] == ["co-parent"]
    code, out = _run("parties", "show", "co-sub", "--db", db, "--json")
    assert code == 0
    assert json.loads(out)["ultimate_parents"]["parents"] == ["co-parent"]
    tenancy = tmp_path / "t.csv"
    tenancy.write_text(
        "operator_id,tenant_id,chip_model,chip_hours,period_start_at,period_end_at\n"
        "cloud,co-sub,H100,720,2026-11-01T00:00:00+00:00,2026-11-02T00:00:00+00:00\n"
    )
    code, out = _run("parties", "tenancy", str(tenancy), "--db", db)
    assert code == 0
    assert "stored 1" in out
    code, out = _run(
        "parties", "aggregate", "co-sub", "--lookback-days", "36500", "--db", db, "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["ultimate_parents"] == ["co-parent"]
    assert doc["volumes"][0]["chip_hours"] == 720.0
    code, out = _run("parties", "show", "nobody", "--db", db)
    assert code == 2


def test_ofac_sdn_with_companions(tmp_path: Path) -> None:
    db = str(tmp_path / "ofac.db")
    code, out = _run(
        "lists",
        "load",
        str(VECTORS / "sdn.csv"),
        "--ofac-alt",
        str(VECTORS / "alt.csv"),
        "--ofac-add",
        str(VECTORS / "add.csv"),
        "--db",
        db,
    )
    assert code == 0, out
    assert "ofac-sdn (ofac-sdn): 3 entries" in out
    code, out = _run("screen", "Afro-Caribbean", "--country", "GB", "--db", db, "--json")
    assert code == 1
    match = json.loads(out)["matches"][0]
    assert (match["party_id"], match["name_kind"]) == ("ofac-sdn.173", "previous_name")
